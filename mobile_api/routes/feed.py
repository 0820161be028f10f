"""The live feed: Server-Sent Events at ``GET /api/feed`` (R4, R5, R21).

Operators get ``candidate``, ``test`` and ``decision`` events, officers ``alert`` events
only (R5), the technical lead ``test`` events. Each event's ``id:`` is the bus ``seq``;
a client reconnecting with ``Last-Event-ID`` gets what it missed, or a ``resync`` event when
that is no longer buffered (refetch the lists over REST). The session is re-checked before
every event and at every keep-alive: after a logout, an expiry or the user being disabled, the
stream delivers nothing more and ends (at the next event, or within ``feed_ping_s``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import msgspec
from litestar import Request, get
from litestar.response import ServerSentEvent, ServerSentEventMessage

from kernel.events import Event
from mobile_api.roles import FEED_TOPICS
from mobile_api.security import COOKIE
from mobile_api.views import NO_STORE, context


def _message(event: Event) -> ServerSentEventMessage:
    return ServerSentEventMessage(data=msgspec.json.encode(event.data).decode(),
                                  event=event.kind, id=str(event.seq))


def _last_id(request: Request[Any, Any, Any]) -> int | None:
    raw = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return -1  # garbage: answer with resync


@get("/api/feed", tags=["feed"], media_type="text/event-stream")
async def feed(request: Request[Any, Any, Any]) -> ServerSentEvent:
    """Subscribe to the live events of your role (text/event-stream)."""
    backend, session = context(request)
    topics = FEED_TOPICS.get(session.role, frozenset())
    subscription = backend.events.subscribe(topics, _last_id(request))
    token = request.cookies.get(COOKIE, "")
    ping = backend.settings.feed_ping_s

    async def stream() -> AsyncGenerator[ServerSentEventMessage, None]:
        try:
            yield ServerSentEventMessage(comment="connected", retry=2000)
            while True:
                try:
                    event = await asyncio.wait_for(subscription.get(), ping)
                except TimeoutError:
                    event = None
                # Every event, not only the keep-alives: events closer together than
                # feed_ping_s kept a logged-out stream delivering (issue 12, finding 4).
                # Shielded: a client that disconnects cancels this stream, and a cancel that
                # lands inside the session lookup's store transaction left the shared
                # connection in a transaction (1 run in 3 of the feed tests; the lookup is
                # short, so it is let finish).
                if await asyncio.shield(backend.accounts.resolve(token)) is None:
                    return
                yield _message(event) if event is not None else ServerSentEventMessage(
                    comment="ping")
        finally:
            subscription.close()

    return ServerSentEvent(stream(), headers={**NO_STORE, "X-Accel-Buffering": "no"})


HANDLERS = [feed]
