"""An alert confirmed through the CLI — another process — still reaches the live feed (R5):
the running process follows the audit chain's head (``feed_poll_s``) and publishes the other
process's committed events, once each, within a bounded time."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from pathlib import Path

import httpx
from PIL import Image
from pipeline_rig import free_port, runtime_config

from demo.scenario import live_deployment
from kernel.auth.accounts import Accounts
from kernel.auth.passwords import Passwords
from kernel.runtime import Runtime
from mobile_api.security import COOKIE
from tests.mobile_api.sse_client import SseReader
from tests.waiting import until

REPO = Path(__file__).resolve().parents[2]


def jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(out, "JPEG")
    return out.getvalue()


async def cli(config: Path, *args: str) -> tuple[int, str]:
    """``pinchpoint GROUP [--as WHO] ACTION ID --config CONFIG`` in a process of its own."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kernel.cli.main", *args, "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=REPO)
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_r5_alert_confirmed_by_another_process_reaches_the_officer_feed(
        models_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    cfg = runtime_config(tmp_path, models_dir, f"""
[server]
port = {port}
[[services]]
type = "http"
secure_cookie = false
feed_poll_s = 0.2
""")
    rt = Runtime(cfg)
    await rt.start()
    readers: list[SseReader] = []
    try:
        assert rt.governance and rt.engine
        gov = rt.governance
        dep = await live_deployment(gov, rt.engine, ["obama.jpg"])
        entry = (await gov.watchlists.entries(dep))[0].id
        accounts = Accounts(gov.store, gov.ctx.clock, Passwords(1, 8, 1))
        cookies = {}
        for name, role in (("pc", "officer"), ("op", "operator")):
            await accounts.add_user(name, role, "a-long-test-password", "test")
            cookies[role] = f"{COOKIE}={(await accounts.create_session(name)).token}"
        base = f"http://127.0.0.1:{port}"

        async def served() -> bool:
            try:
                async with httpx.AsyncClient(base_url=base) as http:
                    return (await http.get("/api/auth/me")).status_code == 401
            except httpx.TransportError:
                return False

        for _ in range(100):  # the service starts alongside the runtime
            if await served():
                break
            await asyncio.sleep(0.1)

        def reader(role: str) -> SseReader:
            return SseReader(httpx.Client(base_url=base, headers={"Cookie": cookies[role]},
                                          timeout=10))

        # the readers block until connected: off the loop that serves them
        officer = await asyncio.to_thread(reader, "officer")
        operator = await asyncio.to_thread(reader, "operator")
        readers += [officer, operator]
        assert officer.status == operator.status == 200

        rec = await gov.alerts.create_candidate(dep, entry, "gate-1", 0.97, 0.0,
                                                jpeg((200, 60, 60)), jpeg((60, 60, 200)))
        await until(lambda: any(e.event == "candidate" and rec.id in e.data
                                for e in operator.events), 10, "the candidate (in-process)")
        assert officer.events == []  # R5: a candidate never reaches an officer

        code, out = await cli(tmp_path / "config.toml", "alert", "--as", "op-cli", "confirm",
                              rec.id)
        assert code == 0, out
        await until(lambda: any(e.event == "alert" for e in officer.events), 10,
                    "the CLI's confirmation on the officer's feed")
        alert = json.loads(next(e for e in officer.events if e.event == "alert").data)
        assert alert["alert_id"] == rec.id and alert["deployment_id"] == dep
        await until(lambda: any(e.event == "decision" and rec.id in e.data
                                for e in operator.events), 10, "the operator's decision")
        decision = json.loads(next(e for e in operator.events if e.event == "decision").data)
        assert decision == {"alert_id": rec.id, "deployment_id": dep, "state": "confirmed",
                            "decided_by": "op-cli"}
        # the CLI's events arrive once: a second, in-process change comes after them
        other = await gov.alerts.create_candidate(dep, entry, "gate-1", 0.96, 0.0,
                                                  jpeg((200, 60, 60)), jpeg((60, 60, 200)))
        await until(lambda: any(other.id in e.data for e in operator.events), 10)
        assert [e.event for e in officer.events] == ["alert"]
        # (by alert_id: the later candidate names rec's episode too, issue 15)
        assert [(e.event, json.loads(e.data)["alert_id"] == rec.id)
                for e in operator.events] == [
            ("candidate", True), ("decision", True), ("candidate", False)]
    finally:
        for r in readers:
            await asyncio.to_thread(r.close)
        await rt.stop()
