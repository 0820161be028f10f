"""Receipts of officers' devices for confirmed alerts (issue 14): the device says an alert
was delivered (by which path), opened, and that its officer is responding; the operator's
console and the other officers read them per alert. Rules and audit:
:mod:`kernel.domain.receipts`."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter

from kernel.domain.receipts import AlertReceipts, Recorded
from mobile_api.schemas import ReceiptIn
from mobile_api.views import NO_STORE, context

ID_PATTERN = r"^[A-Za-z0-9_.-]+$"
AlertId = Annotated[str, PathParameter(max_length=64, pattern=ID_PATTERN)]
AlertIdQuery = Annotated[str | None, QueryParameter(max_length=64, pattern=ID_PATTERN)]


@post("/api/alerts/{alert_id:str}/receipts", status_code=201, tags=["alerts"])
async def give(alert_id: AlertId, data: JSONBody[ReceiptIn], request: Request[Any, Any, Any]
               ) -> Response[Recorded]:
    """This enrolled device's receipt for a confirmed alert of the deployment it takes: 201
    recorded (audited), 200 for a replay (nothing recorded again). 403 from a session of no
    enrolled device or for another deployment's alert, 404 for an alert that is not a
    confirmed one, 409 when the deployment is not live or the alert was not delivered to
    this device yet."""
    backend, s = context(request)
    done = await backend.governance.receipts.record(s.device_id, s.user, alert_id, data.kind,
                                                    data.path)
    return Response(done, status_code=201 if done.new else 200, headers=NO_STORE)


@get("/api/deployments/{deployment_id:str}/receipts", tags=["alerts"])
async def listing(deployment_id: FromPath[str], request: Request[Any, Any, Any],
                  alert_id: AlertIdQuery = None) -> Response[list[AlertReceipts]]:
    """Per confirmed alert of the deployment (or the one ``alert_id``), each device's
    delivered (path), opened and responding times, and who is responding."""
    backend, _ = context(request)
    return Response(await backend.governance.receipts.of_deployment(deployment_id, alert_id),
                    headers=NO_STORE)


HANDLERS = [give, listing]
