"""Refused logins are answered late, at most ``max_held`` at a time (issue 12, finding 2)."""

from __future__ import annotations

import asyncio
import threading

import httpx

from mobile_api.login_tarpit import LoginTarpit
from tests.mobile_api.conftest import LiveApi
from tests.waiting import until, wait_until


async def test_issue12_tarpit_holds_up_to_its_bound_then_answers_at_once() -> None:
    tarpit = LoginTarpit(max_held=2)
    held = [asyncio.ensure_future(tarpit.hold(30)) for _ in range(2)]
    await until(lambda: tarpit.held == 2, 5, "two refusals held")
    # The third finds the tarpit full: answered at once (bounded far below the 30 s held).
    await asyncio.wait_for(tarpit.hold(30), 5)
    assert tarpit.answered_at_once == 1
    for task in held:
        task.cancel()
    await asyncio.gather(*held, return_exceptions=True)
    assert tarpit.held == 0  # a client that hung up frees its place


async def test_issue12_tarpit_ignores_a_non_positive_delay() -> None:
    tarpit = LoginTarpit(max_held=0)
    await tarpit.hold(0)
    await tarpit.hold(-1)
    assert tarpit.held == 0 and tarpit.answered_at_once == 0


def test_issue12_a_wrong_password_is_answered_through_the_tarpit(live_api: LiveApi) -> None:
    """The login route holds a refusal in the tarpit before it answers 401 (the API tests'
    fixture answers at once; here the real tarpit, with a delay long enough to see)."""
    tarpit = live_api.backend.tarpit = LoginTarpit()
    answers: list[int] = []

    def wrong() -> None:
        with httpx.Client(base_url=live_api.url, timeout=30, verify=live_api.verify) as c:
            r = c.post("/api/auth/login", json={"name": "nobody", "password": "wrong pw!"})
            answers.append(r.status_code)

    caller = threading.Thread(target=wrong)
    caller.start()
    wait_until(lambda: tarpit.held == 1, 20, "the refusal held in the tarpit")
    caller.join(30)
    assert answers == [401] and tarpit.held == 0
