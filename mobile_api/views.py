"""Records → response bodies, and the request context every handler starts from."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from kernel.auth.accounts import Session
from kernel.domain.episodes import Episode
from kernel.domain.lateness import arrived_late
from kernel.domain.published import CalibrationFigure
from kernel.domain.records import AlertRecord, DeploymentRecord
from kernel.images.image_type import sniff
from mobile_api.backend import ApiBackend
from mobile_api.schemas import AlertImagesOut, AlertOut, DeploymentOut, EpisodeOut
from mobile_api.security import backend_of, session_of
from mobile_api.settings import Calibration

NO_STORE = {"Cache-Control": "no-store"}


def image_response(data: bytes) -> Response[bytes]:
    """A stored image, typed by its own bytes (JPEG since uploads are re-encoded; a photo
    stored before that as what it is, never relabelled), never cached, never sniffed."""
    return Response(data, media_type=sniff(data).media_type,
                    headers={**NO_STORE, "X-Content-Type-Options": "nosniff"})


def context(request: Request[Any, Any, Any]) -> tuple[ApiBackend, Session]:
    return backend_of(request), session_of(request)


def deployment_out(d: DeploymentRecord) -> DeploymentOut:
    return DeploymentOut(
        id=d.id, name=d.name, authorising_officer=d.authorising_officer, location=d.location,
        starts_at=d.starts_at, ends_at=d.ends_at, objectives=d.objectives,
        case_reference=d.case_reference, command_team=list(d.command_team), state=d.state,
        created_at=d.created_at, created_by=d.created_by,
        watchlist_version=d.watchlist_version, match_threshold=d.match_threshold,
        live_at=d.live_at, ended_at=d.ended_at, console=d.console)


def alert_out(a: AlertRecord, late_after_s: float) -> AlertOut:
    base = f"/api/alerts/{a.id}/images"
    return AlertOut(
        id=a.id, deployment_id=a.deployment_id, entry_id=a.entry_id, list=a.list,
        category=a.category, camera_id=a.camera_id, score=a.score, captured_at=a.captured_at,
        created_at=a.created_at, state=a.state, decided_by=a.decided_by,
        decided_at=a.decided_at, outcome=a.outcome, outcome_by=a.outcome_by,
        outcome_at=a.outcome_at, hold=a.hold,
        late=arrived_late(a.captured_at, a.created_at, late_after_s),
        images=AlertImagesOut(face=f"{base}/face", torso=f"{base}/torso",
                              watchlist=f"{base}/watchlist"),
        episode_id=a.episode_id, seen_again=a.seen_again)


def episode_out(e: Episode, late_after_s: float) -> EpisodeOut:
    return EpisodeOut(id=e.id, deployment_id=e.deployment_id, entry_id=e.entry_id,
                      category=e.category, state=e.state, alert_id=e.alert_id,
                      first_at=e.first_at, last_at=e.last_at, best_score=e.best_score,
                      pending=e.pending,
                      sightings=[alert_out(a, late_after_s) for a in e.sightings])


def calibration_figure(c: Calibration | None) -> CalibrationFigure | None:
    """The ``[services.calibration]`` figure as the domain's published record takes it."""
    return None if c is None else CalibrationFigure(threshold=c.threshold, fpir=c.fpir,
                                                    faces=c.faces, source=c.source)
