"""R23: the session cookie is ``Secure`` whenever the login came over TLS, even with
``secure_cookie = false`` as shipped for plain-HTTP development (issue 12, finding 5)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from kernel import tls
from tests.mobile_api.conftest import PASSWORD, REPO, TEST_SETTINGS, LiveApi


def _login_cookie(api: LiveApi) -> str:
    api.call(api.backend.accounts.add_user("operator", "operator", PASSWORD, "t"))
    with api.client() as c:
        r = c.post("/api/auth/login", json={"name": "operator", "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.headers["set-cookie"].lower()


@pytest.mark.parametrize("over_tls", [True, False])
def test_r23_cookie_secure_follows_the_transport(tmp_path: Path, over_tls: bool) -> None:
    if not (REPO / "var" / "models" / "models.json").is_file():
        pytest.skip("models not built: run `pinchpoint models build` (var/models)")
    settings = msgspec.structs.replace(TEST_SETTINGS, secure_cookie=False)
    files = tls.init_tls(tmp_path / "tls", ["localhost"], ["127.0.0.1"]) if over_tls else None
    api = LiveApi(tmp_path / "data", settings,
                  tls=None if files is None else (files.server_cert, files.server_key,
                                                  files.ca_cert))
    try:
        assert api.url.startswith("https://" if over_tls else "http://")
        cookie = _login_cookie(api)
        assert "httponly" in cookie and "samesite=strict" in cookie
        # Over TLS: Secure whatever secure_cookie says; plain HTTP on 127.0.0.1 with
        # secure_cookie = false (development): not Secure, or the browser would drop it.
        assert ("; secure" in cookie) is over_tls, cookie
    finally:
        api.close()
