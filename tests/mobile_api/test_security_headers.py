"""Security headers on every response (issue 12, findings 10 and 13; R23): every route of
the role matrix as anonymous, an officer and the technical user, routing errors (404, 405),
throttling (429), internal and unavailable errors (500, 503), static PWA files; HSTS over TLS
only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from kernel import tls
from kernel.errors import StoreError
from mobile_api.security_headers import CONTENT_SECURITY_POLICY, HEADERS
from tests.mobile_api.conftest import REPO, TEST_SETTINGS, LiveApi
from tests.mobile_api.test_role_matrix import path_of, respond, routes

HSTS = "strict-transport-security"


def _missing(headers: httpx.Headers) -> dict[str, str | None]:
    """Each expected header that is absent or different: what came instead."""
    return {name: headers.get(name) for name, value in HEADERS.items()
            if headers.get(name) != value}


def test_issue12_csp_is_strict() -> None:
    """No inline script or eval, nothing framing the app, no plug-ins, no <base> rewrite."""
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY and "*" not in CONTENT_SECURITY_POLICY
    assert directives["frame-ancestors"] == directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'" and directives["connect-src"] == "'self'"


@pytest.mark.parametrize("identity", [None, "officer", "technical"],
                         ids=lambda r: r or "anonymous")
def test_issue12_every_route_carries_the_security_headers(live_api: LiveApi,
                                                          identity: str | None) -> None:
    failures = []
    shared = live_api.client(identity)
    for method, template in routes(live_api):
        path = path_of(live_api, template)
        if template == "/api/auth/logout":
            with live_api.client(identity) as own:
                status, headers = respond(own, method, path)
        else:
            status, headers = respond(shared, method, path)
        if missing := _missing(headers):
            failures.append(f"{method} {template} ({status}): {missing}")
        if HSTS in headers:
            failures.append(f"{method} {template} ({status}): HSTS over plain HTTP")
    shared.close()
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("path", ["/", "/index.html", "/js/app.js", "/sw.js",
                                  "/manifest.webmanifest", "/css/app.css", "/#/console",
                                  "/some/client/route"])
def test_issue12_static_pwa_files_carry_the_security_headers(live_api: LiveApi,
                                                             path: str) -> None:
    with live_api.client() as c:
        r = c.get(path)
    assert r.status_code == 200, r.text
    assert not _missing(r.headers) and HSTS not in r.headers


def test_issue12_routing_errors_carry_the_security_headers(live_api: LiveApi) -> None:
    """404 for an API path no route has, 405 for a method no route has, 400 for a malformed
    body, 401 without a session."""
    with live_api.client("commander") as c:
        cases = {
            404: c.get("/api/no/such/route"),
            405: c.request("PATCH", "/api/auth/login", json={}),
            400: c.post("/api/deployments", content=b"{not json",
                        headers={"Content-Type": "application/json"}),
        }
    with live_api.client() as anonymous:
        cases[401] = anonymous.get("/api/deployments")
    assert {status: r.status_code for status, r in cases.items()} == {s: s for s in cases}
    for name, r in cases.items():
        assert not _missing(r.headers), (name, r.status_code, _missing(r.headers))


def test_issue12_throttled_login_429_carries_the_security_headers(live_api: LiveApi) -> None:
    with live_api.client() as c:
        for _ in range(TEST_SETTINGS.lockout_after):
            c.post("/api/auth/login", json={"name": "headers-429", "password": "wrong one!"})
        r = c.post("/api/auth/login", json={"name": "headers-429", "password": "wrong one!"})
    assert r.status_code == 429, r.text
    assert not _missing(r.headers)


@pytest.fixture
def failing_health(live_api: LiveApi) -> Iterator[list[BaseException]]:
    """The camera-health seam raises what the list holds: an internal error or a store
    fault, as a broken runtime would."""
    raised: list[BaseException] = []
    original = live_api.backend.health

    def health() -> list[object]:
        raise raised[0]

    live_api.backend.health = health  # type: ignore[assignment]
    try:
        yield raised
    finally:
        live_api.backend.health = original


@pytest.mark.parametrize("error,status", [(RuntimeError("boom"), 500),
                                          (StoreError("disk full"), 503)])
def test_issue12_500_and_503_carry_the_security_headers(
        live_api: LiveApi, failing_health: list[BaseException], error: BaseException,
        status: int) -> None:
    failing_health.append(error)
    with live_api.client("technical") as c:
        r = c.get("/api/health/cameras")
    assert r.status_code == status, r.text
    assert not _missing(r.headers)
    assert "boom" not in r.text


def test_issue12_hsts_only_over_tls(tmp_path: Path) -> None:
    """Over HTTPS every response (a route, a 404, a static file) has HSTS; the plain-HTTP
    server of the other tests never sends it (checked route by route above)."""
    if not (REPO / "var" / "models" / "models.json").is_file():
        pytest.skip("models not built: run `pinchpoint models build` (var/models)")
    files = tls.init_tls(tmp_path / "tls", ["localhost"], ["127.0.0.1"])
    api = LiveApi(tmp_path / "data", msgspec.structs.replace(TEST_SETTINGS),
                  tls=(files.server_cert, files.server_key, files.ca_cert))
    try:
        assert api.url.startswith("https://")
        with api.client() as c:
            responses = [c.get("/"), c.get("/js/app.js"), c.get("/api/no/such/route"),
                         c.get("/api/health/cameras")]
        for r in responses:
            assert r.headers.get(HSTS) == "max-age=31536000", (r.url, r.status_code)
            assert not _missing(r.headers)
    finally:
        api.close()
