"""The five roles of R23: who a user is to the system. Access rules (which role may call which
route) live with the API (:mod:`mobile_api.roles`); this is only the vocabulary the kernel,
the CLI and the store share."""

from __future__ import annotations

from typing import Final, Literal, get_args

Role = Literal["officer", "operator", "technical", "commander", "admin"]
"""The five roles of R23."""

ROLES: Final[tuple[Role, ...]] = get_args(Role)
"""Every role, in the order above."""
