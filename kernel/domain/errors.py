"""Errors of the governed core, each a sentence for the user (shown without traceback)."""

from __future__ import annotations

from kernel.errors import PinchpointError


class DomainError(PinchpointError):
    """A request that the rules refuse (wrong state, stale review, ...)."""

    exit_code = 5


class NotFound(DomainError):
    """No such deployment, entry or alert (or it was destroyed under the retention rules)."""


class TransitionRefused(DomainError):
    """A state change that the deployment or alert state machine does not allow now."""


class KeyUnavailable(DomainError):
    """The deployment's data key is destroyed or the master key does not open it (R24)."""
