"""A real ``pinchpoint run`` for the browser tests: the :class:`Runtime` of a temp config (file
camera looping a generated walk-past clip, the ONNX engine, SQLite, the HTTP service serving
the PWA) on 127.0.0.1 and a free port, its event loop in a background thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

from demo.scenario import walkpast_clip
from demo.walkpast import DEMO_FACES
from kernel import config as config_module
from kernel.domain.deployments import DeploymentDraft
from kernel.domain.watchlists import EntryInput
from kernel.runtime import Runtime
from mobile_api.backend import accounts_for
from mobile_api.settings import ApiSettings

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
USERS = {"ofc": "officer", "op": "operator", "tech": "technical", "cmd": "commander",
         "adm": "admin"}
WATCH_REFERENCE = "WL-REF-0042"
"""The watch-list entry's reference: it must never appear in a push notification."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def make_clip(path: Path, engine: Any, walkers: Sequence[str]) -> Path:
    """A short walk-past of the given demo photos (one pass each)."""
    walkpast_clip(path, engine, walkers, gap_s=1.0, walk_s=2.6)
    return path


def write_config(tmp: Path, models: Path, clip: Path, port: int, service: str = "",
                 extra: str = "", argon2: tuple[int, int] = (1, 8),
                 episode_window_s: float | None = 1.0) -> config_module.Config:
    """``service``: more keys of the http service; ``extra``: more tables (sinks);
    ``argon2``: (time cost, memory KiB) of login hashing (cheap unless a test needs the
    shipped cost); ``episode_window_s``: ``[matching.episodes] window_s`` (issue 15). One
    second by default: the looping clip's passes of the listed person are then alerts of
    their own, as the tests written before episodes want; ``None``: the shipped window, in
    which every pass joins one episode."""
    episodes = ("" if episode_window_s is None
                else f"[matching.episodes]\nwindow_s = {episode_window_s}\n")
    text = f"""
data_dir = "{tmp / 'var'}"
[server]
host = "127.0.0.1"
port = {port}
[pipeline]
workers = 2
[[services]]
type = "http"
secure_cookie = false
pwa_dir = "{REPO / 'pwa'}"
argon2_time_cost = {argon2[0]}
argon2_memory_kib = {argon2[1]}
argon2_parallelism = 1
feed_poll_s = 0.2
feed_ping_s = 5.0
calibration = {{threshold = 0.93, fpir = 0.0008, faces = 5000, source = "test calibration"}}
{service}
[[sinks]]
# The real Web Push sink: it makes the VAPID key the API serves to the PWA (nothing written
# by hand here: that hid issue 12's finding 6). The browser's subscribe fails quietly.
type = "webpush"
subject = "mailto:ops@force.example"
[[cameras]]
id = "gate-1"
type = "file"
path = "{clip}"
loop = true
realtime = true
[engine]
type = "onnx"
models_dir = "{models}"
[store]
type = "sqlite"
[matching]
refresh_s = 0.2
[matching.tracker]
repeat_s = 1.5   # the clip loops every ~6 s: let each pass of the listed person raise again
{episodes}[retention]
enabled = false
{extra}
"""
    path = tmp / "config.toml"
    path.write_text(text)
    return config_module.load(path, environ={})


class LiveRuntime:
    """The runtime serving ``url``; ``call`` runs a coroutine on its loop."""

    def __init__(self, tmp: Path, models: Path, service: str = "", extra: str = "",
                 argon2: tuple[int, int] = (1, 8),
                 more_cameras: Sequence[tuple[str, Sequence[str], int]] = (),
                 episode_window_s: float | None = 1.0) -> None:
        """``service``/``extra``/``argon2``/``episode_window_s``: see :func:`write_config`.
        ``more_cameras``: (id, walkers, fps) of more file cameras, each looping a clip of its
        own walkers."""
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        probe = write_config(tmp, models, tmp / "none.mp4", port)
        assert probe.engine is not None
        engine = Runtime(probe).build_engine(probe.engine)
        clip = make_clip(tmp / "walkpast.mp4", engine, ["obama2.jpg", "biden.jpg", "obama3.jpg"])
        for camera_id, walkers, fps in more_cameras:
            more = tmp / f"{camera_id}.mp4"
            walkpast_clip(more, engine, walkers, gap_s=1.0, walk_s=2.6, fps=fps)
            extra += (f'\n[[cameras]]\nid = "{camera_id}"\ntype = "file"\npath = "{more}"\n'
                      "loop = true\nrealtime = true\n")
        self.config = write_config(tmp, models, clip, port, service, extra, argon2,
                                   episode_window_s)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.call(engine.close())
        self.runtime = Runtime(self.config)
        self.call(self.runtime.start(), timeout=60)
        self.deployment = self.call(self._seed())
        self._wait_http()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def _wait_http(self) -> None:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{self.url}/manifest.webmanifest", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the HTTP service did not come up")
            time.sleep(0.1)

    async def _seed(self) -> str:
        """Users of every role; a live deployment whose watch list holds obama.jpg and whose
        blue list holds biden.jpg (so the clip gives candidates and test events)."""
        rt = self.runtime
        assert rt.governance is not None and rt.engine is not None and rt.matching is not None
        gov, engine = rt.governance, rt.engine
        accounts = accounts_for(gov, ApiSettings(argon2_time_cost=1, argon2_memory_kib=8,
                                                 argon2_parallelism=1))
        for name, role in USERS.items():
            await accounts.add_user(name, role, PASSWORD, "test")
        now = gov.ctx.clock.now()
        dep = await gov.deployments.create(DeploymentDraft(
            name="Gate watch", authorising_officer="Supt. Allen", location="North gate",
            starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(hours=4),
            objectives="Locate wanted persons on the list.", case_reference="INT-2026-17",
            command_team=["Gold: Ch. Supt. Grey", "Silver: Supt. Allen"],
            # The browser tests are about the screens, not calibration: a threshold well
            # between the walkers' scores (≈0.95–0.97 listed, ≈0.82 not).
            match_threshold=0.93), "cmd")
        await gov.deployments.authorise(dep.id, "cmd")
        for photo, entry in (
            ("obama.jpg", EntryInput(reference=WATCH_REFERENCE, category="wanted",
                                     source="PNC", reason="warrant")),
            ("biden.jpg", EntryInput(reference="STAFF-7", category="blue", source="staff",
                                     reason="blue-list volunteer", list="blue")),
        ):
            result = await gov.watchlists.enrol(dep.id, engine, (DEMO_FACES / photo).read_bytes(),
                                                actor="tech", entry=entry, label=photo)
            assert result.ok, result.message
        await gov.watchlists.review(dep.id, "cmd")
        await gov.deployments.go_live(dep.id, "cmd")
        await rt.matching.refresh()
        return dep.id

    async def another_live(self, *, name: str, case_reference: str, reference: str,
                           objectives: str, command_team: Sequence[str],
                           threshold: float) -> tuple[str, str]:
        """A deployment at Market square beside the runtime's own, obama.jpg on its watch
        list under ``reference``, authorised, reviewed and live (call it on the runtime's
        loop: :meth:`call`); (its id, the entry's id)."""
        gov, engine = self.runtime.governance, self.runtime.engine
        assert gov is not None and engine is not None
        now = gov.ctx.clock.now()
        dep = await gov.deployments.create(DeploymentDraft(
            name=name, authorising_officer="Supt. Hale", location="Market square",
            starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=2),
            objectives=objectives, case_reference=case_reference,
            command_team=list(command_team), match_threshold=threshold), "cmd")
        res = await gov.watchlists.enrol(dep.id, engine, (DEMO_FACES / "obama.jpg").read_bytes(),
                                         actor="tech", entry=EntryInput(
                                             reference=reference, category="wanted",
                                             source="PNC", reason="warrant"))
        assert res.ok and res.entry_id
        await gov.deployments.authorise(dep.id, "cmd")
        await gov.watchlists.review(dep.id, "cmd")
        await gov.deployments.go_live(dep.id, "cmd")
        return str(dep.id), str(res.entry_id)

    def close(self) -> None:
        try:
            self.call(self.runtime.stop(), timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
