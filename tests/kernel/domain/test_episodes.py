"""Issue 15, episodes (kernel/domain/episodes.py, Alerts): repeated sightings of one watch-list
entry join one episode within a window on any camera, the operator decides once, a rejected
episode stays rejected unless the score rises by the margin, later sightings of a confirmed
person reach officers only after the operator's one-key confirm (R5), the stores serialise
concurrent sightings into one episode, and a wipe leaves neither episodes nor sightings.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from kernel.clock import ManualClock
from kernel.config import parse
from kernel.domain.episodes import EPISODE_ACTOR, EpisodeSettings
from kernel.domain.errors import NotFound, TransitionRefused
from kernel.domain.events import AlertDecided, CandidateRaised, DomainEvent
from kernel.domain.governance import Governance
from kernel.errors import ConfigError
from tests.kernel.domain.conftest import rows
from tests.kernel.domain.test_governance_safeguards import _live

WINDOW = EpisodeSettings().window_s
MARGIN = EpisodeSettings().rejected_margin


@pytest.fixture(params=["sqlite", "postgres"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _sight(gov: Governance, dep: str, entry: str, camera: str, score: float,
                 clock: ManualClock) -> str:
    rec = await gov.alerts.create_candidate(dep, entry, camera, score, clock.now(),
                                            b"\xff\xd8face", b"\xff\xd8torso")
    return rec.id


async def _outbox(gov: Governance) -> list[str]:
    return [n.alert_id for n in await gov.outbox.pending(0)]


async def test_sightings_within_the_window_on_any_camera_join_one_episode(
        gov: Governance, clock: ManualClock) -> None:
    dep, ids = await _live(gov, clock)
    first = await _sight(gov, dep, ids["a"], "cam-1", 0.93, clock)
    # the window slides: each sighting is within the window of the one before
    for cam in ("cam-2", "cam-3"):
        clock.advance(timedelta(seconds=WINDOW - 1))
        await _sight(gov, dep, ids["a"], cam, 0.94, clock)
    other = await _sight(gov, dep, ids["b"], "cam-1", 0.95, clock)  # another person
    episodes = await gov.alerts.episodes(dep)
    assert [(e.id, e.state, len(e.sightings), e.pending) for e in episodes] == [
        (first, "open", 3, 3), (other, "open", 1, 1)]
    assert [s.camera_id for s in episodes[0].sightings] == ["cam-1", "cam-2", "cam-3"]
    assert episodes[0].best_score == pytest.approx(0.94)
    assert (await gov.alerts.episode(first)).sightings == episodes[0].sightings
    with pytest.raises(NotFound):
        await gov.alerts.episode("no-such-episode")


async def test_a_sighting_after_the_window_opens_a_new_episode(
        gov: Governance, clock: ManualClock) -> None:
    dep, ids = await _live(gov, clock)
    first = await _sight(gov, dep, ids["a"], "cam-1", 0.93, clock)
    await gov.alerts.reject(first, "op")
    clock.advance(timedelta(seconds=WINDOW + 1))
    second = await _sight(gov, dep, ids["a"], "cam-1", 0.93, clock)
    episodes = await gov.alerts.episodes(dep)
    assert [(e.id, e.state) for e in episodes] == [(first, "rejected"), (second, "open")]
    assert (await gov.alerts.get(second)).state == "candidate"  # the old rejection is over


async def test_a_rejected_episode_stays_rejected_unless_the_score_rises_by_the_margin(
        gov: Governance, clock: ManualClock) -> None:
    dep, ids = await _live(gov, clock)
    first = await _sight(gov, dep, ids["a"], "cam-1", 0.93, clock)
    second = await _sight(gov, dep, ids["a"], "cam-2", 0.935, clock)
    await gov.alerts.reject(first, "op", reason="not_the_person")
    assert (await gov.alerts.get(second)).state == "rejected"  # decided once, for both
    raised: list[CandidateRaised] = []

    def hear(event: DomainEvent) -> None:
        if isinstance(event, CandidateRaised):
            raised.append(event)

    gov.events.subscribe(hear)
    clock.advance(timedelta(seconds=60))
    low = await _sight(gov, dep, ids["a"], "cam-3", 0.935 + MARGIN / 2, clock)
    held = await gov.alerts.get(low)
    assert (held.state, held.decided_by, held.episode_id) == ("rejected", EPISODE_ACTOR, first)
    assert raised[-1].rejected and not await gov.alerts.candidates(dep)
    assert (await gov.alerts.episode(first)).state == "rejected"
    clock.advance(timedelta(seconds=60))
    high = await _sight(gov, dep, ids["a"], "cam-3", 0.935 + MARGIN + 0.01, clock)
    assert not raised[-1].rejected
    assert [a.id for a in await gov.alerts.candidates(dep)] == [high]
    episode = await gov.alerts.episode(first)
    assert (episode.state, len(episode.sightings), episode.pending) == ("open", 4, 1)
    assert await _outbox(gov) == []


def test_the_margin_and_window_are_range_checked_settings(tmp_path: Path) -> None:
    for bad in ({"rejected_margin": 0.9}, {"rejected_margin": -0.01}, {"window_s": 0.0},
                {"window_s": 1e9}):
        with pytest.raises(ValueError):
            EpisodeSettings(**bad)  # type: ignore[arg-type]
        with pytest.raises((ConfigError, msgspec.ValidationError)):
            parse({"data_dir": str(tmp_path), "matching": {"episodes": bad}})
    ok = parse({"data_dir": str(tmp_path),
                "matching": {"episodes": {"window_s": 60, "rejected_margin": 0.05}}})
    assert ok.matching.episodes == EpisodeSettings(window_s=60, rejected_margin=0.05)


async def test_confirmed_once_then_seen_again_sightings_wait_for_the_operator(
        gov: Governance, clock: ManualClock) -> None:
    """R5: a later sighting reaches officers only as an update, and only once confirmed."""
    dep, ids = await _live(gov, clock)
    decided: list[AlertDecided] = []
    gov.events.subscribe(lambda e: decided.append(e) if isinstance(e, AlertDecided) else None)
    first = await _sight(gov, dep, ids["a"], "cam-1", 0.93, clock)
    clock.advance(timedelta(seconds=20))
    second = await _sight(gov, dep, ids["a"], "cam-2", 0.94, clock)
    alert = await gov.alerts.confirm(second, "op")
    assert not alert.seen_again
    assert (await gov.alerts.get(first)).state == "confirmed"  # decided once
    with pytest.raises(TransitionRefused):
        await gov.alerts.confirm(first, "op")  # already confirmed with its episode
    assert await _outbox(gov) == [second] and len(decided) == 1
    assert [a.id for a in await gov.alerts.listing_for("officer", dep)] == [second]

    clock.advance(timedelta(seconds=60))
    again = await _sight(gov, dep, ids["a"], "cam-2", 0.92, clock)
    rec = await gov.alerts.get(again)
    assert (rec.state, rec.seen_again, rec.episode_id) == ("candidate", True, first)
    # held: nothing of it reaches officers before the operator confirms
    assert await _outbox(gov) == [second]
    assert [a.id for a in await gov.alerts.listing_for("officer", dep)] == [second]
    assert again not in [s.id for s in await gov.alerts.sightings_for("officer", second)]
    with pytest.raises(NotFound):
        await gov.alerts.get_for("officer", again)
    assert (await gov.alerts.episode(first)).pending == 1

    await gov.alerts.confirm(again, "op")  # the one-key confirm
    assert await _outbox(gov) == [second, again]
    assert decided[-1].seen_again and decided[-1].episode_id == first
    assert [a.id for a in await gov.alerts.listing_for("officer", dep)] == [second]
    assert [s.id for s in await gov.alerts.sightings_for("officer", second)] == [
        first, second, again]
    with pytest.raises(TransitionRefused):
        await gov.alerts.confirm(again, "op")  # a double confirm adds nothing
    assert await _outbox(gov) == [second, again]

    # a seen-again sighting the operator rejects leaves the alert standing
    clock.advance(timedelta(seconds=30))
    wrong = await _sight(gov, dep, ids["a"], "cam-3", 0.91, clock)
    await gov.alerts.reject(wrong, "op")
    episode = await gov.alerts.episode(first)
    assert (episode.state, episode.alert_id, episode.pending) == ("confirmed", second, 0)
    assert await _outbox(gov) == [second, again]


async def test_concurrent_sightings_join_one_episode_and_race_a_confirm_safely(
        gov: Governance, clock: ManualClock) -> None:
    dep, ids = await _live(gov, clock)
    sealed = [await gov.alerts.seal_candidate(dep, ids["a"], f"cam-{i}", 0.93, clock.now(),
                                              b"\xff\xd8face", b"\xff\xd8torso")
              for i in range(4)]
    await asyncio.gather(*(gov.alerts.store_candidate(s) for s in sealed))
    episodes = await gov.alerts.episodes(dep)
    assert len(episodes) == 1 and len(episodes[0].sightings) == 4
    # a sighting stored while the operator confirms: with the episode or held after it,
    # never an alert of its own
    late = await gov.alerts.seal_candidate(dep, ids["a"], "cam-9", 0.95, clock.now(),
                                           b"\xff\xd8face", b"\xff\xd8torso")
    await asyncio.gather(gov.alerts.confirm(sealed[0].id, "op"),
                         gov.alerts.store_candidate(late))
    rec = await gov.alerts.get(late.id)
    assert rec.episode_id == episodes[0].id and rec.seen_again
    assert rec.state in ("confirmed", "candidate")
    assert await _outbox(gov) == [sealed[0].id]
    assert len(await gov.alerts.listing_for("officer", dep)) == 1
    # storing the same sighting again (an edge's retry) adds nothing
    await gov.alerts.store_candidate(late)
    assert len((await gov.alerts.episode(episodes[0].id)).sightings) == 5


async def test_a_wipe_removes_episodes_and_sightings(gov: Governance, clock: ManualClock,
                                                     tmp_path: Path) -> None:
    dep, ids = await _live(gov, clock)
    first = await _sight(gov, dep, ids["a"], "cam-1", 0.93, clock)
    await _sight(gov, dep, ids["a"], "cam-2", 0.93, clock)
    await gov.alerts.confirm(first, "op")
    await _sight(gov, dep, ids["a"], "cam-2", 0.93, clock)
    assert len((await gov.alerts.episodes(dep))[0].sightings) == 3
    await gov.retention.wipe(dep, "admin")
    assert await gov.alerts.episodes(dep) == []
    assert await gov.alerts.episodes() == []
    assert rows(tmp_path / "pinchpoint.db")["alerts"] == 0
    with pytest.raises(NotFound):
        await gov.alerts.episode(first)
