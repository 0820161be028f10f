"""THE role matrix (R11, R23): every route of the app × every role × anonymous, against
``mobile_api.roles.MATRIX``. Routes come from ``app.routes``, never from a hand list."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from mobile_api.roles import CAMERA, MATRIX, PUBLIC, ROLES, access
from tests.mobile_api.conftest import PASSWORD, LiveApi


def routes(api: LiveApi) -> Iterator[tuple[str, str]]:
    for route in api.app.routes:
        for method in sorted(getattr(route, "methods", ())):
            yield method, route.path_format


def test_every_route_is_in_the_matrix_and_every_entry_is_a_route(live_api: LiveApi) -> None:
    """R11: a route missing from the matrix fails here (the guard refuses it to everyone)."""
    served = set(routes(live_api))
    missing = sorted(f"{m} {p}" for m, p in served if access(m, p) is None)
    assert not missing, f"routes missing from mobile_api/roles.py MATRIX: {missing}"
    stale = sorted(set(MATRIX) - {f"{m} {p}" for m, p in served})
    assert not stale, f"matrix entries that match no route: {stale}"


def path_of(api: LiveApi, template: str) -> str:
    s = api.seed
    values = {"deployment_id": s.deployment, "alert_id": s.confirmed, "entry_id": s.entry,
              "kind": "face", "index": "1", "camera_id": "no-such-camera", "resource_id": "r1",
              "path": "index.html", "name": TARGET, "device_id": "dev-none",
              "episode_id": s.confirmed}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)


def _call(client: httpx.Client, method: str, path: str) -> int:
    return respond(client, method, path)[0]


def respond(client: httpx.Client, method: str, path: str) -> tuple[int, httpx.Headers]:
    """Call a route with a body of the kind it takes: its status and headers."""
    if method == "GET" and path == "/api/feed":
        with client.stream("GET", path) as r:  # SSE: the status and headers are all we need
            return r.status_code, r.headers
    kwargs: dict[str, object] = {}
    if method in ("POST", "PUT", "PATCH"):
        if path.endswith(("/watchlist", "/bluelist", "/photos")):
            kwargs = {"files": {"photos": ("x.jpg", b"not an image", "image/jpeg")},
                      "data": {"reference": "R", "category": "wanted", "source": "S",
                               "reason": "Q"}}
        else:
            kwargs = {"json": {}}
    if method == "DELETE" and path == "/api/push/subscriptions":
        kwargs = {"params": {"endpoint": "https://push.example/none"}}
    r = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    return r.status_code, r.headers


IDENTITIES = [None, *ROLES]
TARGET = "matrix-target"
"""The account the user-administration routes act on: the allowed role disables it and ends
its sessions, which must not touch the sessions the matrix itself calls with."""


def _target(api: LiveApi) -> None:
    async def make() -> None:
        if TARGET not in {u.name for u in await api.backend.accounts.list_users()}:
            await api.backend.accounts.add_user(TARGET, "officer", PASSWORD, "test")

    api.call(make())


@pytest.mark.parametrize("identity", IDENTITIES, ids=lambda r: r or "anonymous")
def test_role_matrix(live_api: LiveApi, identity: str | None) -> None:
    """R11, R23: allowed → neither 401 nor 403; anonymous → 401; wrong role → 403."""
    _target(live_api)
    failures = []
    camera_status: dict[str, int] = {}
    shared = live_api.client(identity)
    for method, template in routes(live_api):
        rule = access(method, template)
        assert rule is not None
        path = path_of(live_api, template)
        if template == "/api/auth/logout":
            # its own session: logging out must not end the one the other calls use
            with live_api.client(identity) as client:
                status = _call(client, method, path)
        else:
            status = _call(shared, method, path)
        if rule == PUBLIC:
            ok = status not in (401, 403)
        elif rule == CAMERA:
            camera_status[f"{method} {template}"] = status
            ok = status != 403
        elif identity is None:
            ok = status == 401
        elif identity in rule:
            ok = status not in (401, 403)
        else:
            ok = status == 403
        if not ok:
            failures.append(f"{method} {template} as {identity or 'anonymous'}: {status} "
                            f"(matrix: {sorted(rule) if isinstance(rule, frozenset) else rule})")
    shared.close()
    assert not failures, "\n".join(failures)
