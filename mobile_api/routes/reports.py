"""Reports (R19, R20): match report, statistics, subject-access exports, audit check.
Every export is audited by the domain (R11, R19)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Request, Response, get
from litestar.params import FromPath, FromQuery

from kernel.domain import published as published_record
from kernel.domain.audit import AuditReport
from kernel.domain.reports import DeploymentStats, Reports
from kernel.domain.retention import RETENTION
from mobile_api.views import NO_STORE, calibration_figure, context


@get("/api/deployments/{deployment_id:str}/report", tags=["reports"],
     media_type="application/json")
async def match_report(deployment_id: FromPath[str], request: Request[Any, Any, Any],
                       format: FromQuery[Literal["json", "csv"]] = "json") -> Response[bytes]:
    """Every alert of the deployment and what became of it, as JSON or CSV (R19)."""
    backend, s = context(request)
    rows = await backend.governance.reports.match_report(deployment_id, s.user)
    if format == "csv":
        return Response(Reports.to_csv(rows).encode(), media_type="text/csv",
                        headers={**NO_STORE, "Content-Disposition":
                                 f'attachment; filename="match-report-{deployment_id}.csv"'})
    return Response(Reports.to_json(rows), media_type="application/json", headers=NO_STORE)


@get("/api/deployments/{deployment_id:str}/stats", tags=["reports"])
async def stats(deployment_id: FromPath[str], request: Request[Any, Any, Any]) -> DeploymentStats:
    """Non-personal statistics and the blue-list detection rate (R20, R21)."""
    backend, _ = context(request)
    return await backend.governance.reports.stats(deployment_id)


@get("/api/deployments/{deployment_id:str}/published", tags=["reports"],
     media_type="application/json")
async def published(deployment_id: FromPath[str], request: Request[Any, Any, Any],
                    format: FromQuery[Literal["json", "csv"]] = "json") -> Response[bytes]:
    """The published deployment record (R20): non-personal statistics, where and when, the
    watch list's size by category, the threshold and its calibrated FPIR (R22), as JSON or
    CSV (one header row, one row). Names no person, holds no image; audited."""
    backend, s = context(request)
    record = await backend.governance.reports.published(
        deployment_id, s.user, default_threshold=backend.default_threshold,
        calibration=calibration_figure(backend.settings.calibration))
    if format == "csv":
        name = f"deployment-record-{record.deployment_id}.csv"
        return Response(published_record.to_csv(record).encode(), media_type="text/csv",
                        headers={**NO_STORE,
                                 "Content-Disposition": f'attachment; filename="{name}"'})
    return Response(msgspec.json.encode(record), media_type="application/json",
                    headers=NO_STORE)


class DisposalOut(msgspec.Struct, kw_only=True):
    at: str
    kind: str
    count: int
    rule: str
    actor: str


class RetentionOut(msgspec.Struct, kw_only=True):
    """Where a deployment stands under the retention rules (R12–R17): no personal data."""

    deployment_id: str
    state: str
    ended_at: str | None
    no_further_action_due: str | None
    """When alerts with no further action (R13), false-positive stops whose outcome came
    before the end (R15) and the blue-list events (R21) are deleted."""
    held_alerts: int
    retained_alerts: int
    disposals: list[DisposalOut]


@get("/api/deployments/{deployment_id:str}/retention", tags=["reports"])
async def retention(deployment_id: FromPath[str], request: Request[Any, Any, Any]) -> RetentionOut:
    """What is still kept, what falls due when, and every disposal so far (R17)."""
    backend, _ = context(request)
    gov = backend.governance
    dep = await gov.deployments.get(deployment_id)
    alerts = await gov.alerts.list_for(deployment_id)
    disposals = await gov.retention.disposals(deployment_id)
    due = dep.ended_at + RETENTION if dep.ended_at is not None else None
    return RetentionOut(
        deployment_id=dep.id, state=dep.state,
        ended_at=dep.ended_at.isoformat() if dep.ended_at else None,
        no_further_action_due=due.isoformat() if due else None,
        held_alerts=sum(1 for a in alerts if a.hold), retained_alerts=len(alerts),
        disposals=[DisposalOut(at=d.at.isoformat(), kind=d.kind, count=d.count, rule=d.rule,
                               actor=d.actor) for d in disposals])


@get("/api/alerts/{alert_id:str}/export", tags=["reports"], media_type="application/zip")
async def export_alert(alert_id: FromPath[str], request: Request[Any, Any, Any]) -> Response[bytes]:
    """Subject-access export of one alert: record and images in a zip (R20)."""
    backend, s = context(request)
    data = await backend.governance.reports.export_alert(alert_id, s.user)
    return Response(data, media_type="application/zip", headers={
        **NO_STORE, "Content-Disposition": f'attachment; filename="alert-{alert_id}.zip"'})


@get("/api/watchlist/entries/{entry_id:str}/export", tags=["reports"],
     media_type="application/zip")
async def export_entry(entry_id: FromPath[str], request: Request[Any, Any, Any]) -> Response[bytes]:
    """Subject-access export of one watch-list entry (R20, R11)."""
    backend, s = context(request)
    data = await backend.governance.reports.export_entry(entry_id, s.user)
    return Response(data, media_type="application/zip", headers={
        **NO_STORE, "Content-Disposition": f'attachment; filename="entry-{entry_id}.zip"'})


@get("/api/audit/verify", tags=["reports"])
async def verify_audit(request: Request[Any, Any, Any]) -> AuditReport:
    """Walk the audit hash chain and report the first bad row, if any (R19)."""
    backend, s = context(request)
    report = await backend.governance.verify_audit()
    await backend.governance.log_action(s.user, "audit.verify", None, {"ok": report.ok})
    return report


HANDLERS = [match_report, stats, published, retention, export_alert, export_entry, verify_audit]
