"""``pinchpoint deployment|watchlist|alert|report|audit|retention ...``: the governed core
from the command line (R8-R20). Actors are named with ``--as``; roles are the API's business.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress

from kernel import registry
from kernel.cli.common import add_config_option, load_config
from kernel.domain import published
from kernel.domain.audit import Anchor
from kernel.domain.deployments import DeploymentDraft
from kernel.domain.governance import Governance, open_governance
from kernel.domain.node_id import ConsoleRefused, check_console
from kernel.domain.thresholds import FLOOR, SettingRefused
from kernel.domain.watchlists import EntryInput
from kernel.errors import ConfigError
from kernel.executor import BoundedExecutor
from kernel.protocols.adapter import AdapterContext

console = Console()
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


def _print(obj: Any) -> None:
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(obj)).decode() + "\n")


async def _with_gov(args: argparse.Namespace, fn: Any) -> int:
    gov = await open_governance(load_config(args))
    try:
        result = await fn(gov)
        return int(result or 0)
    finally:
        await gov.close()


def _deployment(args: argparse.Namespace) -> Any:
    async def run(gov: Governance) -> int:
        d, who = gov.deployments, args.actor
        cmd = args.dep_cmd
        if cmd == "create":
            rec = await d.create(DeploymentDraft(
                name=args.name, authorising_officer=args.authorising_officer,
                location=args.location, starts_at=datetime.fromisoformat(args.starts),
                ends_at=datetime.fromisoformat(args.ends), objectives=args.objectives,
                case_reference=args.case_reference, command_team=args.command_team or [],
                console=args.console), who)
            _print(rec)
        elif cmd == "list":
            for rec in await d.list_all():
                # one line a deployment, however long (soft_wrap: rich folds at 80 columns)
                console.print(f"{rec.id}  {rec.state:<10} {rec.starts_at:%Y-%m-%d %H:%M}  "
                              f"{rec.name}  (console {rec.console or '-'})", soft_wrap=True)
        elif cmd == "show":
            _print({"deployment": await d.get(args.id),
                    "transitions": await d.transitions(args.id)})
        elif cmd == "threshold":
            # The same invariants as the API (kernel.domain.thresholds): a live deployment's
            # threshold changes only ``--as`` an enabled commander account.
            try:
                value = None if args.value.lower() == "default" else float(args.value)
            except ValueError:
                raise SettingRefused(f"match threshold must be a number or 'default', not "
                                     f"{args.value!r}") from None
            _print(await d.set_threshold(args.id, value, who))
        elif cmd == "wipe":
            if not args.yes:
                console.print("wipe destroys all data of the deployment; add --yes")
                return 2
            _print(await gov.retention.wipe(args.id, who, reason=args.reason))
        else:
            step = {"authorise": d.authorise, "live": d.go_live, "end": d.end,
                    "close": d.close}[cmd]
            _print(await step(args.id, who))
        return 0
    return run


class _ConsoleOption(argparse.Action):
    """``--console``: a console's ``[node] id``, else a usage error naming the option (exit
    2). An action, not a ``type``: argparse hands ``--console=--`` over as an empty list
    without calling a ``type``."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        try:
            setattr(namespace, self.dest, check_console(values if isinstance(values, str)
                                                        else ""))
        except ConsoleRefused as exc:
            raise argparse.ArgumentError(self, str(exc)) from None


def _engine(config: Any) -> Any:
    section = config.engine
    cls = registry.load("engine", section.type if section else "onnx")
    settings = section.settings if section else cls.Config()
    from kernel.clock import SystemClock
    return cls(settings, AdapterContext(name="engine", data_dir=Path(config.data_dir),
                                        executor=BoundedExecutor(1, 1), clock=SystemClock(),
                                        log=logging.getLogger("pinchpoint.engine")))


def _files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        out += sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES) \
            if p.is_dir() else [p]
    return out


def _watchlist(args: argparse.Namespace) -> Any:
    async def run(gov: Governance) -> int:
        w = gov.watchlists
        if args.wl_cmd == "review":
            _print(await w.review(args.id, args.actor))
        elif args.wl_cmd == "list":
            _print(await w.entries(args.id))
        else:
            engine = _engine(load_config(args))
            files = await asyncio.to_thread(_files, args.paths)
            failed = 0
            # --entry adds every photo to that entry; --one-entry makes the first enrolled
            # photo the entry and adds the rest to it (several photos of one person, R8)
            target: str | None = args.entry
            with Progress(console=console) as progress:
                task = progress.add_task("enrolling", total=len(files))
                for f in files:
                    data = await asyncio.to_thread(f.read_bytes)
                    entry = None if target is not None else EntryInput(
                        reference=args.reference or f.stem, category=args.category,
                        source=args.source, reason=args.reason, marking=args.marking,
                        list="blue" if args.blue else "watch")
                    res = await w.enrol(args.id, engine, data, actor=args.actor, entry=entry,
                                        entry_id=target, label=f.name,
                                        accept_reason=args.accept_reason)
                    failed += not res.ok
                    if res.ok and args.one_entry:
                        target = res.entry_id
                    colour = "green" if res.ok else "yellow" if res.acceptable else "red"
                    where = f" (entry {res.entry_id}, key {res.key})" if res.ok else ""
                    progress.console.print(f"[{colour}]{escape(res.message)}{where}[/]")
                    if res.acceptable:
                        shown = ", ".join(f"{k} {v:.3g}" for k, v in res.measurements.items())
                        progress.console.print(
                            f"  soft refusal ({', '.join(res.gates)}; {shown}): enrol it anyway "
                            "with --accept-reason TEXT")
                    progress.advance(task)
            await engine.close()
            return 1 if failed else 0
        return 0
    return run


def _alert(args: argparse.Namespace) -> Any:
    async def run(gov: Governance) -> int:
        a, who = gov.alerts, args.actor
        cmd = args.al_cmd
        if cmd == "list":
            _print(await a.list_for(args.id))
        elif cmd == "outcome":
            _print(await a.record_outcome(args.id, args.outcome, who))
        elif cmd == "hold":
            _print(await a.hold(args.id, who, args.reason))
        else:
            step = {"confirm": a.confirm, "reject": a.reject, "release": a.release}[cmd]
            _print(await step(args.id, who))
        return 0
    return run


def _report(args: argparse.Namespace) -> Any:
    async def run(gov: Governance) -> int:
        r = gov.reports
        if args.rep_cmd == "match":
            rows = await r.match_report(args.id, args.actor)
            text = r.to_csv(rows) if args.format == "csv" else r.to_json(rows).decode() + "\n"
            sys.stdout.write(text)
        elif args.rep_cmd == "stats" and args.published:
            config = load_config(args)
            record = await r.published(
                args.id, args.actor, default_threshold=config.matching.decision_threshold(None),
                calibration=_calibration(config))
            if args.format == "csv":
                sys.stdout.write(published.to_csv(record))
            else:
                _print(record)
        elif args.rep_cmd == "stats":
            if args.format == "csv":
                raise ConfigError("report stats: --format csv is the published record's "
                                  "(add --published)")
            _print(await r.stats(args.id))
        elif args.rep_cmd == "walks":
            _print(await r.blue_walks(args.id))
        else:
            data = (await r.export_alert(args.id, args.actor) if args.kind == "alert"
                    else await r.export_entry(args.id, args.actor))
            await asyncio.to_thread(Path(args.out).write_bytes, data)
            console.print(f"wrote {args.out} ({len(data)} bytes)")
        return 0
    return run


def _calibration(config: Any) -> published.CalibrationFigure | None:
    """The ``calibration`` of the configured ``service.http`` (``[services.calibration]``)."""
    for section in config.services:
        c = getattr(section.settings, "calibration", None) if section.type == "http" else None
        if c is not None:
            return published.CalibrationFigure(threshold=c.threshold, fpir=c.fpir,
                                               faces=c.faces, source=c.source)
    return None


def _audit(args: argparse.Namespace) -> Any:
    anchor = None
    if getattr(args, "head", None):
        try:
            anchor = Anchor.parse(args.head)
        except ValueError as exc:
            raise ConfigError(f"--head: {exc}") from None

    async def run(gov: Governance) -> int:
        report = await gov.verify_audit(anchor)
        if args.au_cmd == "head":
            if not report.ok:
                sys.stderr.write(f"audit log damaged: {report.message}\n")
                return 6
            console.print(report.head)
            return 0
        if report.ok:
            console.print(report.message)
        else:
            sys.stderr.write(f"audit log damaged: {report.message}\n")
        return 0 if report.ok else 6
    return run


def _retention(args: argparse.Namespace) -> Any:
    async def run(gov: Governance) -> int:
        report = await gov.retention.run(dry_run=args.dry_run, actor=args.actor)
        _print(report)
        return 0
    return run


def _handler(make: Any) -> Any:
    async def handler(args: argparse.Namespace) -> int:
        return await _with_gov(args, make(args))
    return handler


def register(subparsers: Any) -> None:
    """Add the governance command groups to the ``pinchpoint`` parser."""
    groups: list[Any] = []

    def group(name: str, help_: str, dest: str, make: Any) -> Any:
        p = subparsers.add_parser(name, help=help_)
        p.add_argument("--as", dest="actor", default="cli", help="who is acting (audited)")
        p.set_defaults(handler=_handler(make))
        sub = p.add_subparsers(dest=dest, required=True)
        groups.append(sub)
        return sub

    dep = group("deployment", "deployments and their authorisation (R18)", "dep_cmd",
                _deployment)
    c = dep.add_parser("create")
    for flag in ("name", "authorising-officer", "location", "starts", "ends", "objectives",
                 "case-reference"):
        c.add_argument(f"--{flag}", required=True)
    c.add_argument("--command-team", nargs="*")
    c.add_argument("--console", action=_ConsoleOption, metavar="ID",
                   help="the [node] id of the console that runs it (only that console "
                   "publishes its watch list to its edges); default: this config's [node] id "
                   "when its role is console, else none (every console publishes it)")
    for cmd in ("authorise", "live", "end", "close", "show", "wipe"):
        p = dep.add_parser(cmd)
        p.add_argument("id")
        if cmd == "wipe":
            p.add_argument("--yes", action="store_true")
            p.add_argument("--reason", default="", help="why (written to the audit log)")
    dep.add_parser("list")
    th = dep.add_parser("threshold", help="set a deployment's match threshold (R22): a cosine "
                        f"in [{FLOOR}, 1], or 'default'; on a live deployment --as a commander")
    th.add_argument("id")
    th.add_argument("value")

    wl = group("watchlist", "watch lists (R8-R10, R21)", "wl_cmd", _watchlist)
    e = wl.add_parser("enrol", help="enrol image files or directories, one entry per image "
                      "(or into one entry: --entry, --one-entry)")
    e.add_argument("id")
    e.add_argument("paths", nargs="+")
    into = e.add_mutually_exclusive_group()
    into.add_argument("--entry", metavar="ENTRY_ID",
                      help="add the photos to this existing entry (several photos per entry)")
    into.add_argument("--one-entry", action="store_true",
                   help="all photos are of one person: one new entry holds them all")
    e.add_argument("--accept-reason", metavar="TEXT",
                   help="enrol photos the quality gate soft-refused (small, turned, blurred, "
                   "unclear face), recording and auditing this reason; never overrides a hard "
                   "refusal (no face, several faces, not an image, too large)")
    e.add_argument("--category", default="wanted")
    e.add_argument("--reference")
    e.add_argument("--source", default="")
    e.add_argument("--reason", default="")
    e.add_argument("--marking", default="OFFICIAL-SENSITIVE")
    e.add_argument("--blue", action="store_true")
    for cmd in ("review", "list"):
        wl.add_parser(cmd).add_argument("id")

    al = group("alert", "alerts and outcomes (R5, R7, R14)", "al_cmd", _alert)
    for cmd in ("list", "confirm", "reject", "release"):
        al.add_parser(cmd).add_argument("id")
    o = al.add_parser("outcome")
    o.add_argument("id")
    o.add_argument("outcome")
    h = al.add_parser("hold")
    h.add_argument("id")
    h.add_argument("--reason", default="")

    rep = group("report", "match report, statistics, access export (R19, R20)", "rep_cmd",
                _report)
    m = rep.add_parser("match")
    m.add_argument("id")
    m.add_argument("--format", choices=("csv", "json"), default="csv")
    st = rep.add_parser("stats", help="non-personal statistics (R20, R21); --published: the "
                        "record a force publishes, as the PWA's page and CSV show it")
    st.add_argument("id")
    st.add_argument("--published", action="store_true")
    st.add_argument("--format", choices=("json", "csv"), default="json")
    rep.add_parser("walks", help="each declared blue-list walk-past: detected or missed, "
                   "the time to candidate, the period (R21)").add_argument("id")
    x = rep.add_parser("export")
    x.add_argument("kind", choices=("alert", "entry"))
    x.add_argument("id")
    x.add_argument("--out", required=True)

    au = group("audit", "the tamper-evident audit log (R19)", "au_cmd", _audit)
    v = au.add_parser("verify", help="check the chain (exit 6 when damaged)")
    v.add_argument("--head", metavar="SEQ:HASH",
                   help="a head recorded earlier (`audit head`, or a report): fails when that "
                        "row is gone (rows deleted off the end) or differs (the log rewritten)")
    au.add_parser("head", help="print the chain's head as SEQ:HASH, to record outside the "
                               "database (checked chain first)")
    rt = group("retention", "retention rules (R12-R17)", "rt_cmd", _retention)
    r = rt.add_parser("run")
    r.add_argument("--dry-run", action="store_true")
    for sub in groups:  # every action reads the same --config as `pinchpoint run`
        for action in sub.choices.values():
            add_config_option(action)
