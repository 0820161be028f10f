"""Fuzz the JSON bodies of every API route that takes one (issue 12, fault suite; finding 9,
R23), building on ``tests/mobile_api/test_schema_fuzz.py``: schemathesis there sends bodies
that follow the schema; here hypothesis sends what an attacker would — any JSON value, the
schema's field names with hostile values (huge integers, deep nesting, NUL, 10 kB strings),
and bytes that are not JSON — with the session of a role the route admits, so the body is
actually read. Property: never a 5xx (an uncaught exception), and a body that is not JSON
is a 4xx on a route that reads one."""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mobile_api.roles import CAMERA, PUBLIC, access
from tests.faults.fuzz_budget import fuzz
from tests.mobile_api.conftest import LiveApi

pytestmark = pytest.mark.faults

SKIP = {"/api/auth/logout"}  # would end the session the run uses (own tests cover it)





def targets(api: LiveApi) -> list[tuple[str, str, str | None, bool, tuple[str, ...]]]:
    schema = httpx.get(f"{api.url}/schema/openapi.json", timeout=30).json()
    s = api.seed
    values = {"deployment_id": s.deployment, "alert_id": s.candidate, "entry_id": s.entry,
              "kind": "face", "index": "1", "camera_id": "gate-1", "resource_id": "r1",
              "path": "index.html", "name": "officer", "device_id": "dev-none"}
    out = []
    for route in api.app.routes:
        for method in sorted(getattr(route, "methods", ())):
            if method not in ("POST", "PUT", "PATCH", "DELETE") or route.path_format in SKIP:
                continue
            who = access(method, route.path_format)
            if who is None or who == CAMERA:
                continue
            role = None if who == PUBLIC else sorted(who)[0]
            op = schema["paths"].get(route.path_format, {}).get(method.lower(), {})
            body = op.get("requestBody", {}).get("content", {})
            json_schema = body.get("application/json", {}).get("schema", {})
            fields = tuple(sorted(resolve(schema, json_schema).get("properties", {})))
            path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], route.path_format)
            out.append((method, path, role, "application/json" in body, fields))
    return out


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if not ref:
        return node
    found: Any = schema
    for part in ref.removeprefix("#/").split("/"):
        found = found[part]
    return resolve(schema, found)


hostile = st.one_of(
    st.none(), st.booleans(),
    st.integers(), st.sampled_from([2**53 + 1, 2**64, -(2**70), 10**400]),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1e308, -1e308, 5e-324]),
    st.text(max_size=30), st.sampled_from(["", "\x00", "\u202e", "a" * 10_000, "../..",
                                           "<script>", "' OR 1=1 --", "NaN", "-1"]),
)
json_values = st.recursive(
    hostile, lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(string.printable, max_size=12), inner, max_size=4),
    max_leaves=10)


@pytest.fixture(scope="module")
def clients(live_api: LiveApi) -> Iterator[dict[str | None, httpx.Client]]:
    made: dict[str | None, httpx.Client] = {None: live_api.client(None)}
    for role in ("officer", "operator", "technical", "commander", "admin"):
        made[role] = live_api.client(role)
    yield made
    for client in made.values():
        client.close()


@pytest.fixture(scope="module")
def routes(live_api: LiveApi) -> list[tuple[str, str, str | None, bool, tuple[str, ...]]]:
    found = targets(live_api)
    assert sum(1 for t in found if t[3]) >= 6, found  # the routes that read a JSON body
    return found


def deep(levels: int) -> bytes:
    """Nesting deeper than a recursive encoder (or decoder) manages: valid JSON all the same."""
    return b"[" * levels + b"1" + b"]" * levels


@fuzz(examples=120)
@given(data=st.data())
def test_faults_api_hostile_json_bodies_never_a_5xx(
    routes: list[tuple[str, str, str | None, bool, tuple[str, ...]]],
    clients: dict[str | None, httpx.Client], data: st.DataObject,
) -> None:
    method, path, role, _, fields = data.draw(st.sampled_from(routes), label="route")
    body = data.draw(st.one_of(
        json_values,
        st.fixed_dictionaries({}, optional={f: json_values for f in fields}) if fields
        else json_values,
    ), label="body")
    content = deep(data.draw(st.integers(900, 100_000), label="depth")) if data.draw(
        st.booleans(), label="deep") else json.dumps(body).encode()
    response = clients[role].request(method, path, content=content,
                                     headers={"Content-Type": "application/json"})
    assert response.status_code < 500, (method, path, role, body, response.text[:300])


@fuzz(examples=60)
@given(data=st.data())
def test_faults_api_bodies_that_are_not_json_are_a_4xx(
    routes: list[tuple[str, str, str | None, bool, tuple[str, ...]]],
    clients: dict[str | None, httpx.Client], data: st.DataObject,
) -> None:
    reading = [r for r in routes if r[3]]
    method, path, role, _, _ = data.draw(st.sampled_from(reading), label="route")
    raw = data.draw(st.one_of(
        st.binary(max_size=200), st.sampled_from([b"{", b'{"a":', b"NaN", b"\xff\xfe",
                                                  b"[" * 5000, b'{"x": 1e999999}'])),
        label="raw")
    response = clients[role].request(method, path, content=raw,
                                     headers={"Content-Type": "application/json"})
    status = response.status_code
    assert status < 500, (method, path, role, raw[:80], response.text[:300])
    try:
        json.loads(raw)
    except (ValueError, RecursionError):
        assert 400 <= status < 500, (method, path, role, raw[:80], status)


def test_issue12_fuzz_deeply_nested_json_is_a_400_not_a_500(
    clients: dict[str | None, httpx.Client], live_api: LiveApi,
) -> None:
    """Found by the fuzzer: 2,047 nested arrays made msgspec raise RecursionError while
    Litestar decoded the body, a 500 to an anonymous client (login) and to every JSON route."""
    body = deep(2047)
    headers = {"Content-Type": "application/json"}
    login = clients[None].post("/api/auth/login", content=body, headers=headers)
    assert login.status_code == 400, login.text
    settings = clients["commander"].put(f"/api/deployments/{live_api.seed.deployment}/settings",
                                        content=body, headers=headers)
    assert settings.status_code == 400, settings.text
    assert "nested too deeply" in settings.json()["detail"]
