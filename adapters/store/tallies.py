"""The force-wide view's counts (issue 13), the same SQL on both stores: one aggregate per
table over every deployment (``GROUP BY deployment_id``), merged into one
:class:`~kernel.domain.records.DeploymentTally` per deployment.

The statements take no parameter and use nothing engine-specific (a flag tested by
``CASE WHEN flag`` reads 0/1 on SQLite and a boolean on PostgreSQL alike); only the
deployments' order differs (PostgreSQL compares ids under ``COLLATE "C"`` to order them as
SQLite does), so each store passes its own :data:`DEPLOYMENTS_SQLITE` or
:data:`DEPLOYMENTS_POSTGRES`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kernel.domain.records import DeploymentTally

DEPLOYMENTS_SQLITE = "SELECT id FROM deployments ORDER BY created_at, id"
DEPLOYMENTS_POSTGRES = 'SELECT id FROM deployments ORDER BY created_at, id COLLATE "C"'

ALERTS = (
    "SELECT deployment_id, COUNT(*) AS candidates,"
    " SUM(CASE WHEN state = 'candidate' THEN 1 ELSE 0 END) AS pending,"
    " SUM(CASE WHEN state = 'confirmed' AND NOT seen_again THEN 1 ELSE 0 END) AS confirmed,"
    " SUM(CASE WHEN state = 'rejected' THEN 1 ELSE 0 END) AS rejected,"
    " SUM(CASE WHEN hold THEN 1 ELSE 0 END) AS held"
    " FROM alerts WHERE list = 'watch' GROUP BY deployment_id")
OUTCOMES = (
    "SELECT deployment_id, outcome, COUNT(*) AS n FROM alerts"
    " WHERE list = 'watch' AND outcome IS NOT NULL GROUP BY deployment_id, outcome")
FACES = "SELECT deployment_id, SUM(seen) AS seen FROM face_counts GROUP BY deployment_id"
CAMERAS = (
    "SELECT deployment_id, camera_id FROM face_counts"
    " UNION SELECT deployment_id, camera_id FROM alerts")
"""``UNION`` (not ``UNION ALL``): each (deployment, camera) once."""

STATEMENTS = (ALERTS, OUTCOMES, FACES, CAMERAS)
"""Run in this order; their rows go to :func:`merge` in the same order."""


def merge(deployments: Iterable[Any], alerts: Iterable[Any], outcomes: Iterable[Any],
          faces: Iterable[Any], cameras: Iterable[Any]) -> list[DeploymentTally]:
    """The tallies of ``deployments`` (rows with ``id``, in the order wanted) from the rows
    of :data:`STATEMENTS`; rows of a deployment not in ``deployments`` are ignored."""
    by_alerts: Mapping[str, Any] = {r["deployment_id"]: r for r in alerts}
    by_faces: Mapping[str, int] = {r["deployment_id"]: int(r["seen"] or 0) for r in faces}
    by_outcome: dict[str, dict[str, int]] = {}
    for r in outcomes:
        by_outcome.setdefault(r["deployment_id"], {})[r["outcome"]] = int(r["n"])
    by_camera: dict[str, set[str]] = {}
    for r in cameras:
        by_camera.setdefault(r["deployment_id"], set()).add(r["camera_id"])
    out: list[DeploymentTally] = []
    for d in deployments:
        dep_id = d["id"]
        a = by_alerts.get(dep_id)
        out.append(DeploymentTally(
            deployment_id=dep_id, cameras=tuple(sorted(by_camera.get(dep_id, ()))),
            faces_seen=by_faces.get(dep_id, 0),
            candidates=_int(a, "candidates"), pending=_int(a, "pending"),
            confirmed=_int(a, "confirmed"), rejected=_int(a, "rejected"),
            outcomes=dict(sorted(by_outcome.get(dep_id, {}).items())), held=_int(a, "held")))
    return out


def _int(row: Any | None, column: str) -> int:
    # SUM over no row is NULL; PostgreSQL's SUM of an integer is a numeric (Decimal)
    return 0 if row is None or row[column] is None else int(row[column])

