"""A login flood while the pipeline analyses a clip (issue 12, Done when 2; findings 1 and 2,
R23): frames analysed stay at >= 90 % of the idle figure, and the operator logs in and
confirms a candidate during the flood.

The real runtime (file camera looping a walk-past clip at its own frame rate, ONNX engine,
SQLite, the HTTP API) with the *shipped* Argon2id cost (t=3, 64 MiB), not the cheap test
cost: the flood must cost what it would cost on site. 20 concurrent anonymous clients, each
from its own loopback address (127.0.0.0/8 is all loopback, so the per-client throttle sees
20 clients, not one) post random names with wrong passwords for a bounded window, from a
process of their own (``login_flooder.py``: sharing the runtime's GIL, in-process clients
cost frames a real attacker would not). The
Argon2 pool (one ``pinchpoint-argon2`` thread, four waiting) answers the excess with 503 at
once and the per-client ceiling with 429: together they keep hashing to one core; every
refusal is answered late (``mobile_api/login_tarpit.py``), so attackers that wait for their
answers send few. Measured here on a quiet machine: without the tarpit 3,575 logins in the
window, frames 83 % of idle (28 dropped) and a fresh operator login never got in; with it
~217 logins, 100 %, 0 dropped, and the fresh login in after 3 attempts (two runs each). It
raced the attackers for a free pool place, and a loaded fresh-clone CI run saw it refused for
the whole window; with the pool's reserved place for clients with no recent failure
(:class:`kernel.auth.passwords.PasswordPool`) it got in at its first attempt. The attackers'
own first tries are clean too, so on a loaded machine one of them may still hold the place
when the operator tries: the test asks only that it gets in.

Not flaky on a loaded machine: the figure compared is a ratio measured in this test, an idle
window and a flood window of the same length, back to back, on the same process. The
camera's pacing caps the frames a window can offer (realtime playback), so the ratio is
about frames dropped or not analysed, not about machine speed.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.pwa.live_runtime import PASSWORD, REPO, LiveRuntime
from tests.waiting import wait_until

pytestmark = pytest.mark.faults

WINDOW_S = 10.0
ATTACKERS = 20
FLOOD_MARGIN_S = 2.0  # the flood outlasts the measured window
SHIPPED_ARGON2 = (3, 65536)


def analysed(rt: LiveRuntime) -> int:
    return rt.runtime.processed["gate-1"]


def test_faults_login_flood_keeps_frames_analysed_and_the_operator_confirms(
    models_dir: Path, tmp_path: Path
) -> None:
    rt = LiveRuntime(tmp_path, models_dir, argon2=SHIPPED_ARGON2)
    try:
        operator = httpx.Client(base_url=rt.url, timeout=60)
        # Warm-up: the pipeline is analysing and a candidate is waiting to be decided.
        wait_until(lambda: analysed(rt) > 30, 60, "the pipeline analysing frames")

        def login(client: httpx.Client, until: float) -> int | None:
            """Log in as the operator the way the console does: on 503 (every Argon2 place
            taken) wait the Retry-After and press the button again, until ``until``
            (monotonic). The attempts it took, or None if it did not get in by then."""
            attempt = 0
            while time.monotonic() < until:
                attempt += 1
                r = client.post("/api/auth/login", json={"name": "op", "password": PASSWORD})
                if r.status_code == 200:
                    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
                    return attempt
                assert r.status_code == 503, r.text
                time.sleep(float(r.headers["Retry-After"]))  # what the server asked for
            return None

        # the console's session, opened before the flood
        assert login(operator, time.monotonic() + 30) == 1
        wait_until(lambda: bool(rt.call(rt.runtime.governance.alerts.candidates())), 60,
                   "a candidate from the clip")  # type: ignore[union-attr]

        start = analysed(rt)
        time.sleep(WINDOW_S)  # a measurement window, not a wait for a state
        idle = analysed(rt) - start

        flooder = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.login_flooder", rt.url,
             str(WINDOW_S + FLOOD_MARGIN_S), str(ATTACKERS)],
            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
            text=True)
        try:
            assert flooder.stdout is not None
            assert flooder.stdout.readline().strip() == "up", "the flood did not start"
            start = analysed(rt)
            began = time.monotonic()
            # The operator's open session works through the flood: the queue, a decision.
            r = operator.get("/api/candidates")
            assert r.status_code == 200, r.text
            queue = [c["id"] for c in r.json()]
            assert queue, "no candidate to confirm"
            confirm = operator.post(f"/api/candidates/{queue[0]}/confirm")
            assert confirm.status_code == 200, confirm.text
            confirmed_during = time.monotonic() - began
            # A fresh login (a second console) during the rest of the window, retrying as
            # asked: the operator can still log in while the flood goes on.
            with httpx.Client(base_url=rt.url, timeout=60) as second:
                attempts = login(second, began + WINDOW_S)
            time.sleep(max(0.0, WINDOW_S - (time.monotonic() - began)))  # the window
            flooded = analysed(rt) - start
            out, _ = flooder.communicate(timeout=WINDOW_S + FLOOD_MARGIN_S + 30)
        finally:
            if flooder.poll() is None:
                flooder.kill()
                flooder.wait()
        statuses = collections.Counter({int(k): v for k, v in json.loads(out).items()})
        assert confirmed_during < WINDOW_S, confirmed_during
        assert attempts is not None, "a fresh operator login never got in during the flood"
        health = operator.get("/api/health/cameras").json()[0]
        ratio = flooded / idle
        print(f"frames analysed: idle {idle}, flood {flooded} ({ratio:.0%}); logins "
              f"{dict(statuses)}; operator confirmed {confirmed_during:.1f} s into the flood; "
              f"a fresh login during the window: {attempts or 'none'} attempt(s) to get in; "
              f"dropped {health['dropped']}")
        assert idle > 0
        assert ratio >= 0.9, (idle, flooded, dict(statuses))
        assert set(statuses) <= {401, 429, 503}, dict(statuses)  # refusals, never an error
        assert statuses[401] > 0  # the flood did reach Argon2 (not all turned away early)
        operator.close()
    finally:
        rt.close()
