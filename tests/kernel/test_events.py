"""The live-feed bus (R4, R5): seq order, topic filtering, resume, resync, bounded queues."""

from __future__ import annotations

from kernel.events import RESYNC, EventBus


def drain(sub) -> list:  # type: ignore[no-untyped-def]
    out = []
    while not sub.queue.empty():
        out.append(sub.queue.get_nowait())
    return out


async def test_topics_filter_and_seq_increases() -> None:
    """R5: an officer-topic subscriber never sees candidate events."""
    bus = EventBus(buffer=10, queue=10)
    officer = bus.subscribe({"alert"})
    operator = bus.subscribe({"candidate", "decision"})
    bus.publish("candidate", {"candidate"}, {"alert_id": "a"})
    bus.publish("alert", {"alert"}, {"alert_id": "a"})
    assert [e.kind for e in drain(officer)] == ["alert"]
    got = drain(operator)
    assert [e.kind for e in got] == ["candidate"]
    assert bus.last_seq == 2 and got[0].seq == 1


async def test_resume_replays_missed_events() -> None:
    bus = EventBus(buffer=10, queue=10)
    for i in range(5):
        bus.publish("alert", {"alert"}, {"n": i})
    sub = bus.subscribe({"alert"}, last_event_id=3)
    assert [e.seq for e in drain(sub)] == [4, 5]
    up_to_date = bus.subscribe({"alert"}, last_event_id=5)
    assert drain(up_to_date) == []


async def test_too_old_or_unknown_id_gets_resync() -> None:
    bus = EventBus(buffer=3, queue=10)
    for i in range(6):
        bus.publish("alert", {"alert"}, {"n": i})
    old = drain(bus.subscribe({"alert"}, last_event_id=1))
    assert [e.kind for e in old] == [RESYNC] and old[0].seq == 6
    assert [e.kind for e in drain(bus.subscribe({"alert"}, last_event_id=99))] == [RESYNC]
    # exactly at the edge of the buffer (events 4..6 kept): nothing missed, no resync
    assert [e.seq for e in drain(bus.subscribe({"alert"}, last_event_id=3))] == [4, 5, 6]


async def test_slow_subscriber_is_bounded_and_told_to_resync() -> None:
    bus = EventBus(buffer=100, queue=4)
    sub = bus.subscribe({"alert"})
    for i in range(10):
        bus.publish("alert", {"alert"}, {"n": i})
    got = drain(sub)
    assert len(got) <= 4 and any(e.kind == RESYNC for e in got)
    sub.close()
    assert bus.subscribers == 0
