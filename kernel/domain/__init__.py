"""The governed core: deployments, watch lists, alerts, retention and audit.

Domain code holds every rule and talks only to :class:`kernel.protocols.store.Store`, an
injected :class:`kernel.clock.Clock` and the key ring in :mod:`kernel.domain.crypto`. Start at
:class:`kernel.domain.governance.Governance`, which bundles the services.
"""
