"""Candidates for the operator (R4, R5) and alerts for officers (R5, R6, R7, R14).

R5 is enforced in the query: an officer's list asks the store for ``confirmed`` watch-list
alerts only, and an officer's detail or image request for anything else answers 404 (the
alert does not exist for them)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from kernel.auth.accounts import Session
from kernel.delivery import signed_urls
from kernel.domain.errors import NotFound
from kernel.domain.records import AlertRecord
from mobile_api.backend import ApiBackend
from mobile_api.schemas import AlertOut, EpisodeOut, HoldIn, OutcomeIn, RejectIn
from mobile_api.views import NO_STORE, alert_out, context, episode_out, image_response

ImageKind = Literal["face", "torso", "watchlist"]


async def _visible(backend: ApiBackend, session: Session, alert_id: str) -> AlertRecord:
    # R5: unconfirmed ones do not exist for officers (decided by the domain)
    return await backend.governance.alerts.get_for(session.role, alert_id)


@get("/api/candidates", tags=["candidates"])
async def candidates(request: Request[Any, Any, Any],
                     deployment_id: FromQuery[str | None] = None
                     ) -> Response[list[AlertOut]]:
    """The operator's queue: undecided watch-list candidates, oldest first (R4)."""
    backend, _ = context(request)
    recs = await backend.governance.alerts.candidates(deployment_id)
    return Response([alert_out(a, backend.late_after_s) for a in recs], headers=NO_STORE)


@post("/api/candidates/{alert_id:str}/confirm", status_code=200, tags=["candidates"])
async def confirm(alert_id: FromPath[str], request: Request[Any, Any, Any]) -> AlertOut:
    """Confirm a candidate (R5): committed with its outbox row, then officers are told."""
    backend, s = context(request)
    rec = await backend.governance.alerts.confirm(alert_id, s.user)
    return alert_out(rec, backend.late_after_s)


@post("/api/candidates/{alert_id:str}/reject", status_code=200, tags=["candidates"])
async def reject(alert_id: FromPath[str], data: JSONBody[RejectIn],
                 request: Request[Any, Any, Any]) -> AlertOut:
    """Reject a candidate with a reason code (R5); nothing reaches officers."""
    backend, s = context(request)
    rec = await backend.governance.alerts.reject(alert_id, s.user, data.reason)
    return alert_out(rec, backend.late_after_s)


@get("/api/deployments/{deployment_id:str}/episodes", tags=["candidates"])
async def episodes(deployment_id: FromPath[str], request: Request[Any, Any, Any]
                   ) -> Response[list[EpisodeOut]]:
    """The console's episodes (issue 15): one per person, each with every sighting (camera,
    time, crop link), oldest first. Deciding one is one key on any of its sightings
    (``/api/candidates/{id}/confirm``)."""
    backend, _ = context(request)
    found = await backend.governance.alerts.episodes(deployment_id)
    return Response([episode_out(e, backend.late_after_s) for e in found], headers=NO_STORE)


@get("/api/deployments/{deployment_id:str}/episodes/{episode_id:str}", tags=["candidates"])
async def episode(deployment_id: FromPath[str], episode_id: FromPath[str],
                  request: Request[Any, Any, Any]) -> Response[EpisodeOut]:
    """One episode of the deployment; another deployment's episode id answers 404."""
    backend, _ = context(request)
    found = await backend.governance.alerts.episode(episode_id, deployment_id)
    return Response(episode_out(found, backend.late_after_s), headers=NO_STORE)


@get("/api/deployments/{deployment_id:str}/test-events", tags=["candidates"])
async def test_events(deployment_id: FromPath[str], request: Request[Any, Any, Any]
                      ) -> Response[list[AlertOut]]:
    """Blue-list test events of a deployment (R21)."""
    backend, _ = context(request)
    recs = await backend.governance.alerts.blue_test_events(deployment_id)
    return Response([alert_out(a, backend.late_after_s) for a in recs], headers=NO_STORE)


@get("/api/alerts", tags=["alerts"])
async def alerts(request: Request[Any, Any, Any], deployment_id: FromQuery[str | None] = None,
                 status: Annotated[Literal["candidate", "confirmed", "rejected"] | None,
                                   QueryParameter(name="state")] = None
                 ) -> Response[list[AlertOut]]:
    """Officers: confirmed alerts only (R5, in the query). Operator and commander: all
    watch-list alerts, or those of one ``state``."""
    backend, s = context(request)
    # R5: for an officer the domain fixes the state, whatever the query string says
    recs = await backend.governance.alerts.listing_for(s.role, deployment_id, status)
    return Response([alert_out(a, backend.late_after_s) for a in recs], headers=NO_STORE)


@get("/api/alerts/{alert_id:str}", tags=["alerts"])
async def alert(alert_id: FromPath[str], request: Request[Any, Any, Any]
                ) -> Response[AlertOut]:
    backend, s = context(request)
    rec = await _visible(backend, s, alert_id)
    return Response(alert_out(rec, backend.late_after_s), headers=NO_STORE)


@get("/api/alerts/{alert_id:str}/sightings", tags=["alerts"])
async def sightings(alert_id: FromPath[str], request: Request[Any, Any, Any]
                    ) -> Response[list[AlertOut]]:
    """Where the person of an alert was seen (issue 15), oldest first. R5: an officer gets
    the confirmed sightings of a confirmed alert only (its "seen again" updates once the
    operator confirmed each); an unconfirmed alert does not exist for them (404)."""
    backend, s = context(request)
    recs = await backend.governance.alerts.sightings_for(s.role, alert_id)
    return Response([alert_out(a, backend.late_after_s) for a in recs], headers=NO_STORE)


@get("/api/alerts/{alert_id:str}/images/{kind:str}", tags=["alerts"], media_type="image/jpeg")
async def alert_image(alert_id: FromPath[str], kind: FromPath[ImageKind],
                      request: Request[Any, Any, Any], exp: FromQuery[str | None] = None,
                      sig: FromQuery[str | None] = None) -> Response[bytes]:
    """An alert image, decrypted on the fly and never cached (R6, R24). A link signed for an
    MQTT notice (``exp``, ``sig``) must also verify; a session is needed either way."""
    backend, s = context(request)
    if exp is not None or sig is not None:
        path = f"/api/alerts/{alert_id}/images/{kind}"
        if not signed_urls.verify(path, exp or "", sig or "", backend.url_secret,
                                  backend.clock.now()):
            return Response(b"", status_code=403, headers=NO_STORE)
    rec = await _visible(backend, s, alert_id)
    images = await backend.governance.alerts.images(rec.id)
    data = {"face": images.face, "torso": images.torso,
            "watchlist": images.watchlist_photo}[kind]
    if data is None:
        raise NotFound(f"alert {alert_id} has no {kind} image")
    await backend.governance.log_action(s.user, "alert.image_view",
                                        {"deployment": rec.deployment_id, "alert": rec.id},
                                        {"kind": kind})
    return image_response(data)


@post("/api/alerts/{alert_id:str}/outcome", status_code=200, tags=["alerts"])
async def outcome(alert_id: FromPath[str], data: JSONBody[OutcomeIn],
                  request: Request[Any, Any, Any]) -> AlertOut:
    """Record what the officer did (R7); arrest-type outcomes put it on legal hold (R14)."""
    backend, s = context(request)
    await _visible(backend, s, alert_id)
    rec = await backend.governance.alerts.record_outcome(alert_id, data.outcome, s.user)
    return alert_out(rec, backend.late_after_s)


@post("/api/alerts/{alert_id:str}/hold", status_code=200, tags=["alerts"])
async def hold(alert_id: FromPath[str], data: JSONBody[HoldIn],
               request: Request[Any, Any, Any]) -> AlertOut:
    """Place an alert on legal hold (R14)."""
    backend, s = context(request)
    rec = await backend.governance.alerts.hold(alert_id, s.user, data.reason)
    return alert_out(rec, backend.late_after_s)


@post("/api/alerts/{alert_id:str}/release", status_code=200, tags=["alerts"])
async def release(alert_id: FromPath[str], request: Request[Any, Any, Any]) -> AlertOut:
    """Release a legal hold (R14)."""
    backend, s = context(request)
    rec = await backend.governance.alerts.release(alert_id, s.user)
    return alert_out(rec, backend.late_after_s)


HANDLERS = [candidates, confirm, reject, episodes, episode, test_events, alerts, alert,
            sightings, alert_image, outcome, hold, release]
