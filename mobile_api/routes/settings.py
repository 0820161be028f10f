"""Per-deployment settings (R22): the match threshold, with the calibration figure."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, put
from litestar.params import FromPath, JSONBody

from mobile_api.schemas import SettingsIn, SettingsOut
from mobile_api.views import context


@get("/api/deployments/{deployment_id:str}/settings", tags=["settings"])
async def get_settings(deployment_id: FromPath[str], request: Request[Any, Any, Any]
                       ) -> SettingsOut:
    backend, _ = context(request)
    dep = await backend.governance.deployments.get(deployment_id)
    return SettingsOut(deployment_id=dep.id, match_threshold=dep.match_threshold,
                       calibration=backend.settings.calibration)


@put("/api/deployments/{deployment_id:str}/settings", tags=["settings"])
async def put_settings(deployment_id: FromPath[str], data: JSONBody[SettingsIn],
                       request: Request[Any, Any, Any]) -> SettingsOut:
    """Set (or clear with ``null``) the match threshold; audited as a setting change (R19)."""
    backend, s = context(request)
    dep = await backend.governance.deployments.set_threshold(deployment_id,
                                                             data.match_threshold, s.user)
    return SettingsOut(deployment_id=dep.id, match_threshold=dep.match_threshold,
                       calibration=backend.settings.calibration)


HANDLERS = [get_settings, put_settings]
