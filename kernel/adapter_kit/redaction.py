"""Keeping adapter secrets (camera and broker passwords, tokens) out of logs, errors and reprs.

A config Struct that holds a secret gives itself a redacted ``repr`` (which ``str``, f-strings,
logging's ``%r``/``%s`` and tracebacks use) and a ``__rich_repr__``::

    class Config(msgspec.Struct, frozen=True):
        url: str
        password: str | None = None

        def __repr__(self) -> str:
            return config_repr(self, frozenset({"password"}))

        def __rich_repr__(self) -> list[tuple[str, Any]]:
            return config_rich_repr(self, frozenset({"password"}))

and passes any text that may quote it (an error from a library) through :func:`redact`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

REDACTED = "***"
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@\s]*@")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every given secret, and any ``scheme://user:password@`` password, replaced
    by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)


def _shown(struct: msgspec.Struct, hidden: frozenset[str]) -> Iterator[tuple[str, Any]]:
    for name in struct.__struct_fields__:
        value = getattr(struct, name)
        if name in hidden and value is not None:
            yield name, REDACTED
        elif isinstance(value, str):
            yield name, redact(value)
        else:
            yield name, value


def config_repr(struct: msgspec.Struct, hidden: frozenset[str]) -> str:
    """``repr`` of a config Struct with the ``hidden`` fields (and URL passwords) as ``***``,
    so printing or logging a config never shows a secret."""
    fields = ", ".join(
        f"{name}={REDACTED}" if value == REDACTED else f"{name}={value!r}"
        for name, value in _shown(struct, hidden)
    )
    return f"{type(struct).__name__}({fields})"


def config_rich_repr(struct: msgspec.Struct, hidden: frozenset[str]) -> list[tuple[str, Any]]:
    """``__rich_repr__`` counterpart of :func:`config_repr` (rich would otherwise show all)."""
    return list(_shown(struct, hidden))
