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
