"""``pinchpoint demo``: a whole deployment on a fresh machine, with nothing but the repo.

It makes the walk-past clip the default config's file camera plays (if missing), creates an
authorised demo deployment whose watch list holds one public-domain photo, records the review,
puts it live, and runs the real pipeline, printing candidates as they are committed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import signal
import sys
from pathlib import Path
from typing import Any

from demo.scenario import live_deployment, walkpast_clip
from kernel import logs
from kernel.auth.accounts import Accounts
from kernel.auth.passwords import Passwords
from kernel.cli.common import DATA_HELP, add_config_option, data_root, load_config
from kernel.config import Config
from kernel.domain.events import CandidateRaised, DomainEvent
from kernel.domain.governance import Governance
from kernel.errors import ConfigError
from kernel.runtime import Runtime, run_until_stopped

log = logging.getLogger("pinchpoint.demo")

DEMO_NAME = "Demo: walk-past at the pinch point"
ACTOR = "demo"
WATCH_PHOTO = "obama.jpg"
"""Enrolled on the demo watch list; the walkers below include two other photos of him."""
WALKERS = ("obama2.jpg", "biden.jpg", "obama3.jpg")
EXTRA_WALKERS = 6
"""Non-list walkers taken from ``utkface-adults/`` in the data folder (``--data``, else
``$PINCHPOINT_DATA``, else ``./data``) when it is there."""


def _extra_faces(data: Path) -> list[Path]:
    folder = data / "utkface-adults" / "images"
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.jpg"))[:: 97][:EXTRA_WALKERS]


def make_clip(path: Path, engine: Any, seconds: float = 16.0, data: Path | None = None) -> int:
    """Write the walk-past clip: the demo walkers, plus local faces (from ``data``, default
    :func:`~kernel.cli.common.data_root`) when there are some."""
    walkers: list[str | Path] = [*WALKERS, *_extra_faces(data or data_root())]
    return walkpast_clip(path, engine, walkers, gap_s=min(1.6, seconds / (len(walkers) + 2)),
                         walk_s=4.0, fps=25, width=1280, height=720, tail_s=0.5,
                         min_seconds=seconds)


def _clip_path(config: Config) -> Path | None:
    for camera in config.cameras:
        if camera.type == "file":
            return config.data_dir / str(camera.settings.path)  # as camera.file resolves it
    return None


async def ensure_deployment(gov: Governance, engine: Any) -> str:
    """The live demo deployment, created, enrolled, reviewed and put live if needed."""
    for dep in await gov.deployments.list_all():
        if dep.name == DEMO_NAME and dep.state == "live":
            models = {t.model_id for t in await gov.watchlists.templates(dep.id)}
            if models == {engine.model_id}:
                return dep.id
            # Enrolled under another model or alignment: start a fresh demo deployment.
            await gov.deployments.end(dep.id, ACTOR)
    return await live_deployment(gov, engine, (WATCH_PHOTO,), name=DEMO_NAME, actor=ACTOR)


DEMO_USERS = (("operator", "operator"), ("officer", "officer"), ("commander", "commander"),
              ("technical", "technical"))


async def ensure_users(gov: Governance) -> dict[str, str]:
    """Demo accounts, one per role, with fresh random passwords printed once per run."""
    accounts = Accounts(gov.store, gov.ctx.clock, Passwords())
    existing = {u.name for u in await accounts.list_users()}
    out = {}
    for name, role in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        if name in existing:
            await accounts.set_password(name, password)
        else:
            await accounts.add_user(name, role, password, ACTOR)
        out[name] = password
    return out


def _print_candidate(event: DomainEvent) -> None:
    """Subscribed to the governed core's post-commit events: prints each raised candidate."""
    if not isinstance(event, CandidateRaised):
        return
    kind = "TEST EVENT (blue list)" if event.list == "blue" else "CANDIDATE"
    print(f"{event.captured_at:%H:%M:%S} {kind} {event.alert_id}: camera {event.camera_id}, "
          f"category {event.category}, score {event.score:.3f} — awaiting the operator",
          flush=True)


async def run_demo(config: Config, seconds: float | None, data: Path | None = None) -> int:
    runtime = Runtime(config)
    if config.engine is None:
        raise ConfigError("the demo needs an [engine] section in the config")
    engine = runtime.build_engine(config.engine)
    clip = _clip_path(config)
    if clip is not None and not clip.is_file():
        print(f"making the walk-past clip {clip} …", flush=True)
        frames = await asyncio.to_thread(make_clip, clip, engine, data=data)
        print(f"  {frames} frames written", flush=True)
    await engine.close()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if seconds is not None:
        loop.call_later(seconds, stop.set)

    async def started() -> None:
        await runtime.ready.wait()
        assert runtime.engine and runtime.governance and runtime.matching
        runtime.governance.events.subscribe(_print_candidate)
        dep = await ensure_deployment(runtime.governance, runtime.engine)
        await runtime.matching.refresh()
        users = await ensure_users(runtime.governance)
        url = f"http://{config.server.host}:{config.server.port}/"
        print(f"demo deployment {dep} is live; candidates print below.", flush=True)
        if any(s.type == "http" for s in config.services):
            print(f"console and officers' app: {url}", flush=True)
            for name, password in users.items():
                print(f"  log in as {name:<10} password {password}", flush=True)

    task = asyncio.create_task(started())
    try:
        await run_until_stopped(runtime, stop)
    finally:
        task.cancel()
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    config = load_config(args)
    logs.setup(args.log_level or "warning", args.log_format or config.logging.format)
    if not config.cameras:
        print("warning: no camera configured", file=sys.stderr)
    return asyncio.run(run_demo(config, args.seconds, args.data))


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo", help="run a live demo deployment on a generated walk-past clip"
    )
    add_config_option(parser)
    parser.add_argument("--seconds", type=float, default=None,
                        help="stop after SECONDS (default: run until Ctrl-C)")
    parser.add_argument("--data", type=Path, default=data_root(), metavar="DIR",
                        help="extra non-list walkers from utkface-adults/ in DIR when present "
                        f"(default: {DATA_HELP})")
    parser.set_defaults(handler=_cmd_demo)
