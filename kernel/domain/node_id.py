"""A node's name on the link (``[node] id``), and the console a deployment runs on (issue 13).

One rule for both, so that a deployment's ``console`` can only ever be a value some console's
``[node] id`` could hold: 1-64 ASCII letters, digits, ``-`` or ``_`` (no blank, no space, no
control character, nothing that needs escaping in a log line or a broker subject).
"""

from __future__ import annotations

import re

from kernel.domain.errors import DomainError

NODE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}\Z"
"""What ``[node] id`` and a deployment's ``console`` must match (anchored at the string's
very end, not by ``$``: msgspec searches with Python's ``re``, where ``$`` also matches
before a trailing newline)."""

_NODE_ID = re.compile(NODE_ID_PATTERN)


class ConsoleRefused(DomainError):
    """A deployment's ``console`` that no console's ``[node] id`` could be."""


def check_console(value: str) -> str:
    """``value`` if it could be a console's ``[node] id``, else :class:`ConsoleRefused`
    (the value shown escaped and cut short: it may be anything)."""
    if not isinstance(value, str) or _NODE_ID.fullmatch(value) is None:
        # fullmatch: the pattern's "$" alone would take a trailing newline
        shown = repr(value[:70]) + ("…" if len(value) > 70 else "")
        raise ConsoleRefused(
            f"a deployment's console must be a console's [node] id: 1-64 letters, digits, "
            f"'-' or '_' (not {shown})")
    return value
