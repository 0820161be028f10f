"""Deployments (R18): create, authorise, go live (R9 checked by the domain), end, read, wipe
(R16)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, JSONBody

from kernel.domain.deployments import DeploymentDraft
from mobile_api.schemas import DeploymentIn, DeploymentOut, WipeCountOut, WipeIn, WipeOut
from mobile_api.views import context, deployment_out


@get("/api/deployments", tags=["deployments"])
async def list_deployments(request: Request[Any, Any, Any]) -> list[DeploymentOut]:
    backend, _ = context(request)
    return [deployment_out(d) for d in await backend.governance.deployments.list_all()]


@post("/api/deployments", tags=["deployments"])
async def create_deployment(data: JSONBody[DeploymentIn], request: Request[Any, Any, Any]
                            ) -> DeploymentOut:
    """Create a draft deployment with its authorisation details (R18)."""
    backend, s = context(request)
    draft = DeploymentDraft(
        name=data.name, authorising_officer=data.authorising_officer, location=data.location,
        starts_at=data.starts_at, ends_at=data.ends_at, objectives=data.objectives,
        case_reference=data.case_reference, command_team=list(data.command_team),
        match_threshold=data.match_threshold)
    return deployment_out(await backend.governance.deployments.create(draft, s.user))


@get("/api/deployments/{deployment_id:str}", tags=["deployments"])
async def get_deployment(deployment_id: FromPath[str], request: Request[Any, Any, Any]
                         ) -> DeploymentOut:
    backend, _ = context(request)
    return deployment_out(await backend.governance.deployments.get(deployment_id))


@post("/api/deployments/{deployment_id:str}/authorise", status_code=200, tags=["deployments"])
async def authorise(deployment_id: FromPath[str], request: Request[Any, Any, Any]) -> DeploymentOut:
    """draft → authorised, by the logged-in commander (R18)."""
    backend, s = context(request)
    return deployment_out(await backend.governance.deployments.authorise(deployment_id, s.user))


@post("/api/deployments/{deployment_id:str}/live", status_code=200, tags=["deployments"])
async def go_live(deployment_id: FromPath[str], request: Request[Any, Any, Any]) -> DeploymentOut:
    """authorised → live; refused (409) without a watch-list review of at most 48 h (R9)."""
    backend, s = context(request)
    rec = await backend.governance.deployments.go_live(deployment_id, s.user)
    return deployment_out(rec)


@post("/api/deployments/{deployment_id:str}/end", status_code=200, tags=["deployments"])
async def end(deployment_id: FromPath[str], request: Request[Any, Any, Any]) -> DeploymentOut:
    """live (or authorised) → ended; retention starts (R12-R15)."""
    backend, s = context(request)
    return deployment_out(await backend.governance.deployments.end(deployment_id, s.user))


@post("/api/deployments/{deployment_id:str}/wipe", status_code=200, tags=["deployments"])
async def wipe(deployment_id: FromPath[str], data: JSONBody[WipeIn],
               request: Request[Any, Any, Any]) -> WipeOut:
    """Destroy everything of the deployment now, its data key included (R16, R24), in any
    state (a live one too, as the domain allows). ``confirm_name`` must be the deployment's
    name exactly (else 422, nothing destroyed); ``reason`` is written to the audit row
    ``deployment.wipe`` with the commander as actor (R19)."""
    backend, s = context(request)
    records = await backend.governance.retention.wipe(
        deployment_id, s.user, reason=data.reason, confirm_name=data.confirm_name)
    return WipeOut(deployment_id=deployment_id,
                   disposals=[WipeCountOut(kind=r.kind, count=r.count) for r in records])


HANDLERS = [list_deployments, create_deployment, get_deployment, authorise, go_live, end, wipe]
