"""``pinchpoint``: the entry point. Core commands here; others arrive by entry point."""

from __future__ import annotations

import argparse
import asyncio
import inspect
import logging
import signal
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from kernel import config as config_module
from kernel import logs, registry
from kernel.cli.common import add_config_option, load_config
from kernel.errors import PinchpointError
from kernel.runtime import Runtime, run_until_stopped

COMMANDS_GROUP = "pinchpoint.commands"
log = logging.getLogger("pinchpoint.cli")


def _cmd_run(args: argparse.Namespace) -> int:
    config = load_config(args)
    if args.role is not None:
        config = config_module.with_role(config, args.role)
    logs.setup(args.log_level or config.logging.level, args.log_format or config.logging.format)
    return asyncio.run(_run(config, args.duration))


async def _run(config: config_module.Config, duration: float | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if duration is not None:
        loop.call_later(duration, stop.set)
    await run_until_stopped(Runtime(config), stop)
    return 0


def _cmd_config_check(args: argparse.Namespace) -> int:
    path = args.path or args.config_path
    config = config_module.load(path)
    kinds = ", ".join(f"{s.kind} {s.name} ({s.type})" for s in config.cameras) or "no cameras"
    print(f"{path}: OK — data in {config.data_dir}; {kinds}")
    return 0


def _cmd_adapters(args: argparse.Namespace) -> int:
    for name in registry.available(args.kind):
        print(name)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pinchpoint",
        description="Open, privacy-first Live Facial Recognition for overt police deployments.",
    )
    parser.add_argument("--log-format", choices=["human", "json"], default=None,
                        help="log line format (default: from config, else human)")
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"],
                        default=None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run the configured cameras, pipeline and services")
    add_config_option(run)
    run.add_argument("--for", dest="duration", type=float, default=None, metavar="SECONDS",
                     help="stop by itself after SECONDS (for tests and demos)")
    run.add_argument("--role", choices=["all", "edge", "console"], default=None,
                     help="this node's part (default: [node] role, else all; "
                          "docs/scale-out.md)")
    run.set_defaults(handler=_cmd_run)

    cfg = sub.add_parser("config", help="configuration tools")
    cfg_sub = cfg.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = cfg_sub.add_parser("check", help="validate a configuration file")
    add_config_option(check)
    check.add_argument("path", nargs="?", type=Path, default=None)
    check.set_defaults(handler=_cmd_config_check)

    adapters = sub.add_parser("adapters", help="list the registered adapters")
    adapters.add_argument("kind", nargs="?", choices=registry.KINDS, default=None)
    adapters.set_defaults(handler=_cmd_adapters)

    for ep in sorted(entry_points(group=COMMANDS_GROUP), key=lambda e: e.name):
        try:
            register = ep.load()
        except Exception as exc:  # one broken plugin must not take the CLI down
            print(f"warning: command group {ep.name!r} failed to load: {exc}", file=sys.stderr)
            continue
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Any = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    if args.command != "run":
        logs.setup(args.log_level or "warning", args.log_format or "human")
    try:
        result = handler(args)
        if inspect.isawaitable(result):
            result = asyncio.run(result)  # type: ignore[arg-type]
        return int(result or 0)
    except PinchpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
