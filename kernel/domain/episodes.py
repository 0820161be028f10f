"""Episodes (issue 15): repeated sightings of one watch-list entry are one person, decided once.

A watch-list match of an entry joins the latest episode of that entry in its deployment whose
sightings (on any camera) lie within ``window_s`` of it; otherwise it opens a new episode,
named by its own id. The window slides: every sighting extends it. Each sighting is still an
alert row with its own crops (the operator sees every one: camera, time, crop), and the
episode's state follows from its sightings:

- ``open``: undecided sightings and none confirmed. The operator decides once: confirming
  any of them confirms them all, and the one confirmed becomes the episode's alert to
  officers (one outbox row, R5); rejecting one rejects them all.
- ``confirmed``: a later sighting is held as a ``seen_again`` candidate until the operator's
  one-key confirm; only then does it reach officers, as an update of the episode's alert
  ("seen again at camera 2"), never unconfirmed (R5).
- ``rejected``: a later sighting is rejected with it (decided by ``episode``), unless its
  score beats the best rejected score by ``rejected_margin``: then it is a candidate and the
  episode is open again.

Reports count episodes (people) and sightings apart (:mod:`kernel.domain.reports`).
Everything here is pure: the domain calls these inside its transactions
(:mod:`kernel.domain.alerts`), which the stores serialise, so two sightings raised at once
join one episode.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Annotated, Literal

import msgspec

from kernel.domain.records import AlertRecord, Category

EpisodeState = Literal["open", "confirmed", "rejected"]
EPISODE_ACTOR = "episode"
"""Who decided a sighting that a rejected episode rejected by itself (audited as such)."""

WindowSeconds = Annotated[float, msgspec.Meta(ge=1.0, le=86_400.0)]
"""An episode's window: a second at least (else every sighting is its own), a day at most."""
ScoreMargin = Annotated[float, msgspec.Meta(ge=0.0, le=0.5)]
"""How far a cosine score must rise over a rejection to reopen it (half the range at most)."""


class EpisodeSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``window_s``: sightings of one entry this close in time (on any camera) are one
    episode. ``rejected_margin``: a rejected episode stays rejected for its window unless a
    sighting scores at least this much above the best rejected score (``[matching.episodes]``
    in ``config.toml``)."""

    window_s: WindowSeconds = 300.0
    rejected_margin: ScoreMargin = 0.02

    def __post_init__(self) -> None:
        # msgspec checks the bounds when decoding config.toml; a constructed value too
        if not 1.0 <= self.window_s <= 86_400.0:
            raise ValueError(f"episodes.window_s {self.window_s} is not in [1, 86400]")
        if not 0.0 <= self.rejected_margin <= 0.5:
            raise ValueError(f"episodes.rejected_margin {self.rejected_margin} is not in "
                             "[0, 0.5]")


class Episode(msgspec.Struct, frozen=True, kw_only=True):
    """One person's episode as the console shows it: its sightings oldest first."""

    id: str
    deployment_id: str
    entry_id: str
    category: Category
    state: EpisodeState
    alert_id: str | None
    """The sighting officers were alerted with (once confirmed)."""
    first_at: datetime
    last_at: datetime
    best_score: float
    pending: int
    """Sightings waiting for the operator (on a confirmed episode: ``seen_again`` ones)."""
    sightings: list[AlertRecord]


def state_of(sightings: Iterable[AlertRecord]) -> EpisodeState:
    states = {s.state for s in sightings}
    if "confirmed" in states:
        return "confirmed"
    return "open" if "candidate" in states else "rejected"


def group(alerts: Iterable[AlertRecord]) -> list[Episode]:
    """The episodes of ``alerts`` (watch-list alerts with an episode; others are left out),
    ordered by their first sighting."""
    by: dict[str, list[AlertRecord]] = {}
    for a in alerts:
        if a.episode_id is not None and a.list == "watch":
            by.setdefault(a.episode_id, []).append(a)
    episodes = [_episode(eid, sorted(s, key=lambda a: (a.captured_at, a.created_at, a.id)))
                for eid, s in by.items()]
    return sorted(episodes, key=lambda e: (e.first_at, e.id))


def _episode(episode_id: str, sightings: list[AlertRecord]) -> Episode:
    head = sightings[0]
    lead = next((s.id for s in sightings if s.state == "confirmed" and not s.seen_again), None)
    return Episode(id=episode_id, deployment_id=head.deployment_id, entry_id=head.entry_id,
                   category=head.category, state=state_of(sightings), alert_id=lead,
                   first_at=sightings[0].captured_at, last_at=sightings[-1].captured_at,
                   best_score=max(s.score for s in sightings),
                   pending=sum(s.state == "candidate" for s in sightings),
                   sightings=sightings)


def joined(sightings_of_entry: Iterable[AlertRecord], captured_at: datetime,
           settings: EpisodeSettings) -> Episode | None:
    """The episode a sighting of this entry captured at ``captured_at`` joins: the latest
    whose sightings lie within the window of it (a late-delivered sighting joins the one it
    falls in); ``None``: it opens a new one."""
    window = timedelta(seconds=settings.window_s)
    near = [e for e in group(sightings_of_entry)
            if e.first_at - window <= captured_at <= e.last_at + window]
    return max(near, key=lambda e: (e.last_at, e.id)) if near else None


class Placement(msgspec.Struct, frozen=True, kw_only=True):
    """Where a new sighting goes: its episode, its state and whether it is a ``seen_again``
    update of a confirmed episode's alert."""

    episode_id: str
    state: Literal["candidate", "rejected"]
    seen_again: bool


def place(sighting_id: str, score: float, episode: Episode | None,
          settings: EpisodeSettings) -> Placement:
    """The rule for a new sighting of ``score`` (see the module's docstring)."""
    if episode is None:
        return Placement(episode_id=sighting_id, state="candidate", seen_again=False)
    if episode.state == "confirmed":
        return Placement(episode_id=episode.id, state="candidate", seen_again=True)
    if episode.state == "rejected":
        bar = max(s.score for s in episode.sightings if s.state == "rejected")
        if score < bar + settings.rejected_margin:
            return Placement(episode_id=episode.id, state="rejected", seen_again=False)
    return Placement(episode_id=episode.id, state="candidate", seen_again=False)
