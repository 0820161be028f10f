"""Property-based run over the served OpenAPI schema with schemathesis (R10, R23): for every
operation, generated requests from a logged-in user of each role with API access never get a
5xx and every documented response matches its schema. Bounded: a few examples per operation.

Left out: ``/api/feed`` (an endless stream) and ``/api/auth/logout`` (would end the session
the run uses); both are covered by their own tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, Phase

from tests.mobile_api.conftest import LiveApi

schemathesis = pytest.importorskip(
    "schemathesis", reason="schemathesis is a dev extra: pip install -e .[dev]"
)
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

SKIP = {("GET", "/api/feed"), ("POST", "/api/auth/logout")}


def _runner(op: Any, label: str, url: str, cookies: dict[str, str], headers: dict[str, str],
            calls: list[int], failures: list[str]) -> Callable[[], None]:
    @hypothesis.settings(max_examples=4, deadline=None, database=None,
                         phases=[Phase.explicit, Phase.generate],
                         suppress_health_check=list(HealthCheck))
    @hypothesis.given(case=op.as_strategy())
    def run(case: Any) -> None:
        response = case.call(base_url=url, cookies=cookies, headers=headers, timeout=10)
        calls.append(response.status_code)
        try:
            case.validate_response(response, checks=[not_a_server_error,
                                                     response_schema_conformance])
        except BaseException as exc:  # collect every operation's failure, then report
            failures.append(f"{label}: {str(exc)[:600]}")
            raise

    return run  # type: ignore[no-any-return]


@pytest.mark.parametrize("role", ["commander", "officer", "operator", "technical"])
def test_no_5xx_and_no_schema_violation(live_api: LiveApi, role: str) -> None:
    schema = schemathesis.openapi.from_url(f"{live_api.url}/schema/openapi.json")
    with live_api.client(role) as logged_in:
        headers = dict(logged_in.headers)
    cookie_name, _, token = headers["cookie"].partition("=")
    failures: list[str] = []
    calls: list[int] = []
    seen = 0
    for result in schema.get_all_operations():
        op = result.ok()
        seen += 1
        if (op.method.upper(), op.path) in SKIP:
            continue

        label = f"{op.method.upper()} {op.path}"
        run = _runner(op, label, live_api.url, {cookie_name: token},
                      {"X-CSRF-Token": headers["x-csrf-token"]}, calls, failures)
        try:
            run()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # schemathesis raises exception groups
            if not failures or not failures[-1].startswith(f"{label}:"):
                failures.append(f"{label}: {type(exc).__name__}: {str(exc)[:400]}")
    assert len(calls) > 50, f"only {len(calls)} generated calls over {seen} operations"
    assert not failures, "\n".join(failures)
