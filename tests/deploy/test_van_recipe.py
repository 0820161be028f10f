"""Issue 13, "how to run it": the van recipe in ``deploy/`` (two analysis boxes, one
console, NATS) is what it says. ``systemd-analyze verify`` accepts the units (skipped with
the reason where the tool is missing), every ``ExecStart`` of Pinchpoint parses with the
CLI's own parser (``kernel.cli.main.build_parser``) and names a config of ``deploy/van``
whose role is the one on the command line, the configs load, and ``nats-server -t`` accepts
the broker's config."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from kernel import config as config_module
from kernel.cli.main import build_parser

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "deploy" / "systemd"
VAN = REPO / "deploy" / "van"
BINARY = "/opt/pinchpoint/.venv/bin/pinchpoint"
EDGES = ("edge-1", "edge-2")
"""The van's two analysis boxes: the instances of ``pinchpoint-edge@.service``."""


def _exec_start(unit: Path) -> list[str]:
    """The unit's ``ExecStart=`` command line, split as systemd splits it (no shell)."""
    lines = [line.split("=", 1)[1] for line in unit.read_text().splitlines()
             if line.startswith("ExecStart=")]
    assert len(lines) == 1, f"{unit.name}: one ExecStart"
    return shlex.split(lines[0])


def _instances() -> list[tuple[str, list[str]]]:
    """(unit as started, its command line with ``%i`` expanded)."""
    out = [("pinchpoint-console.service",
            _exec_start(UNITS / "pinchpoint-console.service"))]
    for edge in EDGES:
        argv = [a.replace("%i", edge) for a in _exec_start(UNITS / "pinchpoint-edge@.service")]
        out.append((f"pinchpoint-edge@{edge}.service", argv))
    return out


def test_issue13_the_recipe_has_a_console_an_edge_template_and_nats() -> None:
    assert sorted(p.name for p in UNITS.glob("*.service")) == [
        "pinchpoint-console.service", "pinchpoint-edge@.service", "pinchpoint-nats.service",
        "pinchpoint-outbox.service"]
    assert sorted(p.name for p in VAN.iterdir()) == [
        "console.toml", "edge-1.toml", "edge-2.toml", "nats-server.conf", "outbox-nats.conf"]


@pytest.mark.parametrize(("unit", "argv"), _instances(), ids=lambda v: str(v)[:40])
def test_issue13_exec_start_parses_with_the_cli_and_names_a_van_config(
        unit: str, argv: list[str]) -> None:
    assert argv[0] == BINARY, unit
    args = build_parser().parse_args(argv[1:])
    assert args.command == "run" and args.duration is None  # runs until stopped
    config_path = Path(args.config_path)
    assert config_path.parent == Path("/etc/pinchpoint"), unit
    shipped = VAN / config_path.name
    assert shipped.is_file(), f"{unit} runs {config_path}: deploy/van has no {config_path.name}"
    loaded = config_module.load(shipped, environ={})
    assert args.role == loaded.node.role, f"{unit}: --role {args.role} against its config"
    if unit.startswith("pinchpoint-edge@"):
        assert loaded.node.id == config_path.stem  # the instance name is the edge's id


def test_issue13_van_configs_make_one_console_and_two_edges_on_one_link() -> None:
    loaded = {p.stem: config_module.load(p, environ={}) for p in sorted(VAN.glob("*.toml"))}
    console, edges = loaded["console"], [loaded[e] for e in EDGES]
    assert console.node.role == "console" and console.store is not None
    assert not console.cameras
    assert [e.node.role for e in edges] == ["edge", "edge"]
    assert len({e.node.id for e in edges}) == 2
    cameras = [c.name for e in edges for c in e.cameras]
    assert len(cameras) == len(set(cameras)) == 4  # two per box, no id used twice
    # every node: the same link key file and link settings but for where the broker is
    assert {c.node.link_key_file for c in loaded.values()} == {"/etc/pinchpoint/link.key"}
    links = [c.link for c in loaded.values()]
    assert all(link is not None and link.type == "nats" for link in links)
    ports = {link.settings.url.rsplit(":", 1)[1] for link in links if link is not None}
    assert ports == {"4222"}
    for e in edges:  # R3: an edge has no store, no service, no sink
        assert e.store is None and not e.services and not e.sinks
        assert e.engine is not None
    # each edge's outbox is its own box's server, where pinchpoint-outbox.service listens
    listen = re.search(r"^listen: (\S+)$", (VAN / "outbox-nats.conf").read_text(), re.M)
    assert listen is not None and listen.group(1) == "127.0.0.1:4223"
    for e in edges:
        assert e.link is not None
        assert e.link.settings.outbox_url == f"nats://{listen.group(1)}"
    assert console.link is not None and console.link.settings.outbox_url is None
    edge_unit = (UNITS / "pinchpoint-edge@.service").read_text()
    assert "After=network-online.target pinchpoint-outbox.service" in edge_unit


def test_issue13_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    """The units as shipped, but for the program paths this machine lacks (the checkout's
    virtualenv under /opt, and nats-server where it is not installed): those point at a stub
    executable, since ``verify`` checks that every command exists. Any warning fails."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    stub = tmp_path / "bin" / "program"
    stub.parent.mkdir()
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    units = tmp_path / "units"
    units.mkdir()
    missing = [p for p in (BINARY, "/usr/sbin/nats-server", "/bin/kill")
               if not Path(p).exists()]
    for unit in UNITS.glob("*.service"):
        text = unit.read_text()
        for program in missing:
            text = text.replace(program, str(stub))
        (units / unit.name).write_text(text)
    names = ["pinchpoint-console.service", "pinchpoint-nats.service",
             "pinchpoint-outbox.service"]
    for edge in EDGES:  # a template is verified through an instance of it
        (units / f"pinchpoint-edge@{edge}.service").symlink_to("pinchpoint-edge@.service")
        names.append(f"pinchpoint-edge@{edge}.service")
    done = subprocess.run([tool, "verify", "--man=no", *(f"./{n}" for n in names)],
                          cwd=units, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), (
        done.stdout + done.stderr)


@pytest.mark.parametrize("conf", ["nats-server.conf", "outbox-nats.conf"])
def test_issue13_nats_server_accepts_its_config(conf: str) -> None:
    server = shutil.which("nats-server") or "/usr/sbin/nats-server"
    if not Path(server).is_file():
        pytest.skip("nats-server is not installed (apt-get install nats-server)")
    done = subprocess.run([server, "-c", str(VAN / conf), "-t"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    if conf == "outbox-nats.conf":
        unit = (UNITS / "pinchpoint-outbox.service").read_text()
        assert "ExecStart=/usr/sbin/nats-server -c /etc/pinchpoint/outbox-nats.conf" in unit
        assert "store_dir: /var/lib/pinchpoint-outbox" in (VAN / conf).read_text()
        assert "StateDirectory=pinchpoint-outbox" in unit
        return
    unit = (UNITS / "pinchpoint-nats.service").read_text()
    assert "ExecStart=/usr/sbin/nats-server -c /etc/pinchpoint/nats-server.conf" in unit
    assert "store_dir: /var/lib/pinchpoint-nats" in (VAN / "nats-server.conf").read_text()
    assert "StateDirectory=pinchpoint-nats" in unit
