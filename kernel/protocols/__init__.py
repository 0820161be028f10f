"""The typed seams between the kernel and its adapters, one module per adapter kind.

Every adapter class follows the same shape (see :mod:`kernel.protocols.adapter`): a class
attribute ``Config`` naming a ``msgspec.Struct`` of its own settings, and a constructor taking
``(config, context)``. Adapters are registered under ``"<kind>.<name>"`` in the
``pinchpoint.adapters`` entry-point group.
"""
