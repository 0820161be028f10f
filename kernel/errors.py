"""Errors the kernel raises for the user to read: each says what was wrong and where."""

from __future__ import annotations


class PinchpointError(Exception):
    """Base of every error meant for a user; its message is shown as it is, without traceback."""

    exit_code = 1


class ConfigError(PinchpointError):
    """The configuration file or an override is wrong (exit code 2)."""

    exit_code = 2


class AdapterNotFound(ConfigError):
    """No adapter is registered under the requested kind and name."""


class ModelError(PinchpointError):
    """A model file is missing, unreadable or fails its checksum."""

    exit_code = 3


class StoreError(PinchpointError):
    """The database cannot be opened or is not a Pinchpoint database."""

    exit_code = 4


class StorageFault(StoreError):
    """The storage under the store refuses to work: the file system is read-only, the file is
    immutable or not writable, the disk is full, the database stays locked beyond its busy
    timeout, or an I/O error or damage is reported (:mod:`kernel.storage_faults` names them).

    ``kind`` and ``path`` say which and where; ``retry_after`` is the seconds a client is told
    to wait (HTTP ``Retry-After``). The message names both, never data."""

    def __init__(self, kind: str, path: str, detail: str = "", retry_after: int = 5) -> None:
        self.kind = kind
        self.path = path
        self.detail = detail
        self.retry_after = retry_after
        super().__init__(f"{kind}: {path}" + (f" ({detail})" if detail else ""))
