"""R3/R22 through the API: ``PUT /api/deployments/<live id>/settings`` cannot lower the match
threshold below the calibrated floor, nor change it at all on a live deployment without the
commander's role (issue 12, finding 3); refusals and changes are audited (R19)."""

from __future__ import annotations

from kernel.domain.thresholds import FLOOR
from tests.mobile_api.conftest import LiveApi


def _put(api: LiveApi, role: str, body: object) -> tuple[int, str]:
    with api.client(role) as c:
        r = c.put(f"/api/deployments/{api.seed.deployment}/settings", json=body)
        return r.status_code, r.text


def _stored(api: LiveApi) -> float | None:
    return api.call(api.gov.deployments.get(api.seed.deployment)).match_threshold


def test_r3_r22_live_threshold_attack_refused_through_the_api(live_api: LiveApi) -> None:
    # The attack of finding 3, as the technical user on the live deployment.
    status, text = _put(live_api, "technical", {"match_threshold": -1.0})
    assert status == 422 and "match threshold" in text, text
    for value in (0.0, 0.5, FLOOR - 0.001, 1.0001):
        assert _put(live_api, "commander", {"match_threshold": value})[0] == 422, value
    for body in ({"match_threshold": "NaN"}, {"match_threshold": "-1"}):
        assert _put(live_api, "commander", body)[0] in (400, 422), body  # lax str→float
    with live_api.client("commander") as c:  # 1e999 is infinity in JSON numbers
        r = c.put(f"/api/deployments/{live_api.seed.deployment}/settings",
                  content=b'{"match_threshold": 1e999}',
                  headers={"Content-Type": "application/json"})
        assert r.status_code in (400, 422), r.text
    status, text = _put(live_api, "technical", {"match_threshold": 0.95})
    assert status == 403 and "commander" in text, text
    assert _stored(live_api) is None
    status, text = _put(live_api, "commander", {"match_threshold": 0.95})
    assert status == 200 and _stored(live_api) == 0.95, text
    assert _put(live_api, "commander", {"match_threshold": None})[0] == 200
    assert _stored(live_api) is None

    async def actions() -> list[str]:
        async with live_api.gov.store.transaction() as tx:
            return [a.action for a in await tx.audit.page(0, 10_000)]

    seen = live_api.call(actions())
    assert seen.count("setting.match_threshold") == 2
    assert seen.count("setting.match_threshold_refused") >= 6
