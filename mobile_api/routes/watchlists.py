"""Watch lists and the blue list (R8-R11, R21): upload with per-image enrolment results,
review, entries, photos, removal. Only the roles of ``WATCHLIST``/``TECHNICAL`` in the
matrix reach these (R11); every change and export is audited by the domain (R19)."""

from __future__ import annotations

from typing import Any, cast

from litestar import Request, Response, delete, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath, MultipartBody

from kernel.domain.errors import DomainError, NotFound
from kernel.domain.records import Category, ListKind
from kernel.domain.watchlists import EntryInput, clean_accept_reason
from mobile_api.backend import ApiBackend
from mobile_api.schemas import (
    EntryOut,
    EntryUpload,
    ImageResult,
    PhotoGateOut,
    PhotoUpload,
    ReviewOut,
    UploadOut,
)
from mobile_api.views import NO_STORE, context, image_response


def _entry_out(e: Any) -> EntryOut:
    return EntryOut(id=e.id, deployment_id=e.deployment_id, list=e.list, category=e.category,
                    marking=e.marking, reference=e.reference, source=e.source, reason=e.reason,
                    photos=e.photos, created_at=e.created_at, created_by=e.created_by,
                    photo_gates=tuple(PhotoGateOut(found=g.found, below_gate=list(g.below_gate),
                                                   accept_reason=g.accept_reason)
                                      for g in e.photo_gates))


def _accept_reason(value: object) -> str | None:
    """The accept reason of an upload, checked before any photo is looked at: 400 for a value
    that is not text, empty, whitespace only, over the limit or with control characters."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise HTTPException(status_code=400, detail="field 'accept_reason' must be text")
    try:
        return clean_accept_reason(value)
    except DomainError as exc:
        raise HTTPException(status_code=400, detail=f"field 'accept_reason': {exc}") from exc


async def _enrol_all(backend: ApiBackend, deployment_id: str, photos: list[Any], actor: str,
                     entry: EntryInput | None, entry_id: str | None,
                     accept_reason: object = None) -> Response[UploadOut]:
    accept = _accept_reason(accept_reason)
    photos = [p for p in photos if p is not None and hasattr(p, "read")]
    if not photos:
        raise HTTPException(status_code=400, detail="attach at least one photo (field 'photos')")
    engine = await backend.engine()
    results: list[ImageResult] = []
    for i, upload in enumerate(photos, 1):
        label = str(getattr(upload, "filename", "") or f"photo {i}")[:100]
        data = await upload.read()
        # the first accepted photo creates the entry; the others are added to it
        r = await backend.governance.watchlists.enrol(
            deployment_id, engine, data, actor=actor, label=label,
            entry=entry if entry_id is None else None, entry_id=entry_id,
            accept_reason=accept)
        if r.ok:
            entry_id = r.entry_id
        results.append(ImageResult(file=label, ok=r.ok, message=r.message,
                                   rejection=r.rejection, key=r.key, gates=list(r.gates),
                                   acceptable=r.acceptable, cost=r.cost,
                                   measurements=dict(r.measurements), accepted=r.accepted,
                                   found=r.found))
    enrolled = sum(r.ok for r in results)
    body = UploadOut(entry_id=entry_id, enrolled=enrolled, rejected=len(results) - enrolled,
                     results=results)
    # nothing usable: a client error that says, per image, why (R10)
    return Response(body, status_code=201 if enrolled else 422, headers=NO_STORE)


def _entry_input(data: EntryUpload, kind: ListKind) -> EntryInput:
    fields = {"reference": data.reference, "source": data.source, "reason": data.reason,
              "marking": data.marking}
    for name, value in fields.items():
        if not isinstance(value, str) or len(value) > 4000:
            raise HTTPException(status_code=400, detail=f"field {name!r} must be text "
                                "of at most 4000 characters")
    category = "blue" if kind == "blue" else data.category
    return EntryInput(reference=data.reference, category=cast(Category, category),
                      source=data.source, reason=data.reason, marking=data.marking or
                      "OFFICIAL-SENSITIVE", list=kind)


@post("/api/deployments/{deployment_id:str}/watchlist", tags=["watch lists"],
      summary="Add a watch-list entry with photos (multipart)")
async def upload_entry(deployment_id: FromPath[str], request: Request[Any, Any, Any],
                       data: MultipartBody[EntryUpload]) -> Response[UploadOut]:
    """201 with per-image results when at least one photo was enrolled; 422 (results with
    reasons, soft refusals marked ``acceptable`` with their measured cost) when none was; 400
    for an invalid ``accept_reason``; 413 when the request is over the size limit (R10)."""
    backend, s = context(request)
    return await _enrol_all(backend, deployment_id, list(data.photos or []), s.user,
                            _entry_input(data, "watch"), None, data.accept_reason)


@post("/api/deployments/{deployment_id:str}/bluelist", tags=["watch lists"],
      summary="Add a blue-list volunteer with photos (multipart)")
async def upload_blue(deployment_id: FromPath[str], request: Request[Any, Any, Any],
                      data: MultipartBody[EntryUpload]) -> Response[UploadOut]:
    """Blue-list volunteers (R21): their matches are test events, never officer alerts."""
    backend, s = context(request)
    return await _enrol_all(backend, deployment_id, list(data.photos or []), s.user,
                            _entry_input(data, "blue"), None, data.accept_reason)


@post("/api/watchlist/entries/{entry_id:str}/photos", tags=["watch lists"])
async def add_photos(entry_id: FromPath[str], request: Request[Any, Any, Any],
                     data: MultipartBody[PhotoUpload]) -> Response[UploadOut]:
    """More photos for an existing entry (several photos per entry, R8), each checked (R10);
    statuses as for a new entry."""
    backend, s = context(request)
    rec = await backend.governance.watchlists.entry(entry_id)  # NotFound: 404
    return await _enrol_all(backend, rec.deployment_id, list(data.photos or []), s.user,
                            None, entry_id, data.accept_reason)


@get("/api/deployments/{deployment_id:str}/watchlist", tags=["watch lists"])
async def watchlist(deployment_id: FromPath[str], request: Request[Any, Any, Any]
                    ) -> Response[list[EntryOut]]:
    """The watch list's entries with their details (R8, R11)."""
    backend, s = context(request)
    entries = await backend.governance.watchlists.entries(deployment_id, "watch")
    await backend.governance.log_action(s.user, "watchlist.view",
                                        {"deployment": deployment_id},
                                        {"entries": len(entries)})
    return Response([_entry_out(e) for e in entries], headers=NO_STORE)


@get("/api/deployments/{deployment_id:str}/bluelist", tags=["watch lists"])
async def bluelist(deployment_id: FromPath[str], request: Request[Any, Any, Any]
                   ) -> Response[list[EntryOut]]:
    backend, _ = context(request)
    entries = await backend.governance.watchlists.entries(deployment_id, "blue")
    return Response([_entry_out(e) for e in entries], headers=NO_STORE)


@post("/api/deployments/{deployment_id:str}/watchlist/review", tags=["watch lists"])
async def review(deployment_id: FromPath[str], request: Request[Any, Any, Any]) -> ReviewOut:
    """Record that the logged-in commander reviewed the list as it is now (R9)."""
    backend, s = context(request)
    rec = await backend.governance.watchlists.review(deployment_id, s.user)
    return ReviewOut(reviewer=rec.reviewer, reviewed_at=rec.reviewed_at,
                     watchlist_version=rec.watchlist_version, entries=rec.entries, current=True)


@get("/api/deployments/{deployment_id:str}/watchlist/review", tags=["watch lists"])
async def last_review(deployment_id: FromPath[str], request: Request[Any, Any, Any]) -> ReviewOut:
    """The last review; 404 when there is none yet."""
    backend, _ = context(request)
    gov = backend.governance
    rec = await gov.watchlists.last_review(deployment_id)
    if rec is None:
        raise NotFound(f"the watch list of deployment {deployment_id} has not been reviewed")
    dep = await gov.deployments.get(deployment_id)
    return ReviewOut(reviewer=rec.reviewer, reviewed_at=rec.reviewed_at,
                     watchlist_version=rec.watchlist_version, entries=rec.entries,
                     current=rec.watchlist_version == dep.watchlist_version)


@get("/api/watchlist/entries/{entry_id:str}/photos/{index:int}", tags=["watch lists"],
     media_type="image/jpeg")
async def entry_photo(entry_id: FromPath[str], index: FromPath[int], request: Request[Any, Any, Any]
                      ) -> Response[bytes]:
    """An enrolled photo (1-based), decrypted on the fly, never cached (R24). Its type is
    the stored bytes' own (JPEG since uploads are re-encoded; a photo stored before that is
    served as what it is), with ``nosniff``."""
    backend, s = context(request)
    photos = await backend.governance.watchlists.photos(entry_id)
    if not 1 <= index <= len(photos):
        raise NotFound(f"entry {entry_id} has no photo {index}")
    await backend.governance.log_action(s.user, "watchlist.photo_view", {"entry": entry_id},
                                        {"index": index})
    return image_response(photos[index - 1])


@delete("/api/watchlist/entries/{entry_id:str}", status_code=204, tags=["watch lists"])
async def remove_entry(entry_id: FromPath[str], request: Request[Any, Any, Any]) -> None:
    """Remove a mistaken entry before the deployment goes live."""
    backend, s = context(request)
    await backend.governance.watchlists.remove_entry(entry_id, s.user)


HANDLERS = [upload_entry, upload_blue, add_photos, watchlist, bluelist, review, last_review,
            entry_photo, remove_entry]
"""The blue list's walk-pasts are in :mod:`mobile_api.routes.walkpasts`."""
