"""The live feed's subscriber: committed domain events become live-feed events (R4, R5, R21).

The governed core publishes a typed event after each commit (:mod:`kernel.domain.events`),
whoever committed it: the pipeline's candidates, the operator's decisions through this API,
or another process (the ``pinchpoint`` CLI), whose commits ``governance.events.follow``
brings in within ``feed_poll_s`` seconds. :func:`announce` turns each into the events of
:class:`kernel.events.EventBus`, which ``GET /api/feed`` streams as Server-Sent Events.

Topics and data (the wire format the PWA reads, unchanged):

- ``candidate`` (operator): a new watch-list candidate — ``alert_id``, ``deployment_id``,
  ``category``, ``camera_id``, ``score`` (the match's, 4 decimals), ``captured_at``;
- ``test`` (operator, technical lead): a blue-list test event, the same fields (R21);
- ``decision`` (operator): a candidate confirmed or rejected — ``alert_id``,
  ``deployment_id``, ``state``, ``decided_by``;
- ``alert`` (officers: the only topic they subscribe to, R5): a confirmed alert —
  ``alert_id``, ``deployment_id``, ``category``, ``camera_id``, ``confirmed_at``; a later
  sighting of a confirmed person, once the operator confirmed it, also carries ``update_of``
  (the alert it updates: "seen again at camera 2", issue 15).

A ``candidate`` also carries ``episode_id`` and ``seen_again`` (issue 15); a sighting its
rejected episode rejected by itself is not announced to the operator (nothing to decide).

Outcomes, holds, entries and deployment changes are not shown on the feed (clients refetch
those over REST).
"""

from __future__ import annotations

from kernel.domain.events import AlertDecided, CandidateRaised, DomainEvent
from kernel.events import EventBus


def announce(bus: EventBus, event: DomainEvent) -> None:
    """Publish what ``event`` means for the live feed on ``bus`` (nothing for most kinds)."""
    if isinstance(event, CandidateRaised):
        if event.rejected:
            return
        kind = "test" if event.list == "blue" else "candidate"
        data: dict[str, object] = {
            "alert_id": event.alert_id, "deployment_id": event.deployment_id,
            "category": event.category, "camera_id": event.camera_id,
            "score": round(event.score, 4), "captured_at": event.captured_at.isoformat()}
        if event.episode_id:
            data.update(episode_id=event.episode_id, seen_again=event.seen_again)
        bus.publish(kind, {kind}, data)
        return
    if isinstance(event, AlertDecided):
        bus.publish("decision", {"decision"},
                    {"alert_id": event.alert_id, "deployment_id": event.deployment_id,
                     "state": event.state, "decided_by": event.actor})
        if event.state != "confirmed":
            return
        # R5: the only event officers can receive, and only for a committed confirmation
        alert: dict[str, object] = {
            "alert_id": event.alert_id, "deployment_id": event.deployment_id,
            "category": event.category, "camera_id": event.camera_id,
            "confirmed_at": event.decided_at.isoformat()}
        if event.update_of:
            alert["update_of"] = event.update_of
        bus.publish("alert", {"alert"}, alert)
