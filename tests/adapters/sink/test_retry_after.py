"""The Web Push sink's reading of ``Retry-After`` (issue 12, finding 14): seconds or an HTTP
date; a malformed or hostile header is ignored, never obeyed blindly nor fatal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.sink.retry_after import retry_after_seconds
from kernel.delivery.dispatcher import RetryPolicy

NOW = datetime(2026, 12, 2, 4, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "seconds"), [
    ("120", 120.0), (" 7 ", 7.0), ("0", 0.0),
    ("Wed, 02 Dec 2026 04:00:30 GMT", 30.0),
    ("Wed, 02 Dec 2026 03:00:00 GMT", 0.0),  # a date in the past: no wait
    ("9" * 400, 366 * 24 * 3600.0),  # float(int(...)) would overflow
])
def test_issue12_finding14_retry_after_seconds_and_dates(value: str, seconds: float) -> None:
    assert retry_after_seconds(value, NOW) == seconds


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5", "٣", "9" * 400 + "x",
                                   "Wed, 99 Foo 2026 99:99:99 GMT", "\x00"])
def test_issue12_finding14_malformed_retry_after_is_ignored(value: str | None) -> None:
    assert retry_after_seconds(value, NOW) is None


def test_issue12_finding14_dispatcher_waits_at_least_retry_after_but_bounded() -> None:
    """The wait is the longer of the backoff and the header, capped by retry_after_max: a
    push service asking for a day (or for 10**400 s) cannot stall delivery."""
    policy = RetryPolicy(initial=0.5, maximum=30.0, retry_after_max=300.0)
    assert policy.delay(1) == 0.5
    assert policy.delay(1, 7.0) == 7.0
    assert policy.delay(8, 7.0) == 30.0  # the backoff is already longer
    assert policy.delay(1, 86_400.0) == 300.0
    assert policy.delay(1, float(10**300)) == 300.0
    assert policy.delay(1, 0.0) == 0.5 and policy.delay(1, -3.0) == 0.5
    assert policy.delay(1, float("nan")) == 0.5
