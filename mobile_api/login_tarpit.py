"""A refused login is answered late: the cheapest defence of the cameras' CPU in a login flood.

Measured (issue 12, 2 cores, 20 attackers each on its own loopback address, the pipeline
playing a clip): with refusals answered at once, the attackers sent ~210 logins/s, almost all
answered 503 (password pool full) without any Argon2 work, and frames analysed fell to 67 % of
the idle figure — the cost was the HTTP work of answering, not hashing. A client that waits
for its answer before trying again (every browser, most scripts) is slowed by the delay at no
CPU cost to us: an awaiting coroutine costs nothing. The operator's and officers' existing
sessions never log in, so they are not delayed; a person mistyping waits half a second.

The number of answers held at once is bounded: beyond it a refusal is answered at once, so a
client opening thousands of connections costs memory no more than the server's own
connection limit allows.
"""

from __future__ import annotations

import asyncio

REFUSAL_DELAY_S = 0.5
"""A wrong name or password (401)."""
BUSY_DELAY_S = 1.0
"""Throttled (429) or password pool full (503): at most this, at most the ``Retry-After``."""
MAX_HELD = 512
"""Refusals delayed at once; more are answered at once."""


class LoginTarpit:
    """Delays refused logins, at most :data:`MAX_HELD` at a time."""

    def __init__(self, max_held: int = MAX_HELD) -> None:
        self.max_held = max_held
        self.held = 0
        self.answered_at_once = 0
        """Refusals that found the tarpit full (a flood wider than it)."""

    async def hold(self, seconds: float) -> None:
        """Wait ``seconds`` before the refusal is sent, unless the tarpit is full."""
        if seconds <= 0:
            return
        if self.held >= self.max_held:
            self.answered_at_once += 1
            return
        self.held += 1
        try:
            await asyncio.sleep(seconds)
        finally:
            self.held -= 1
