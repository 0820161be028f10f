"""``pinchpoint deployment create`` and the console a deployment runs on (issue 13, R18).

With a console's config (``[node] role = "console"``) a deployment is stamped with its
``[node] id``; ``--console ID`` names another (a deployment made on a command workstation for
a van); with no node config none (every console publishes it). The console is in the
creation's audit details and in ``deployment list``/``show``. A hostile ``--console`` is a
usage error naming the option, no traceback, nothing created."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.cli_inprocess import Completed, pinchpoint

CONSOLE = ('[node]\nrole = "console"\nid = "van-a"\n'
           '[link]\ntype = "nats"\nurl = "nats://127.0.0.1:4222"\n')


def _create(config: Path, *extra: str) -> Completed:
    now = datetime.now(UTC)
    return pinchpoint(["deployment", "create", "--config", str(config), "--name", "Gate",
                       "--authorising-officer", "Supt X", "--location", "North gate",
                       "--starts", (now - timedelta(minutes=1)).isoformat(),
                       "--ends", (now + timedelta(hours=2)).isoformat(), "--objectives", "o",
                       "--case-reference", "C-1", *extra], config.parent)


def _audited(db: Path) -> list[dict[str, object]]:
    """The details of every ``deployment.create`` row, oldest first."""
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        found = con.execute("SELECT details FROM audit WHERE action = 'deployment.create'"
                            " ORDER BY seq").fetchall()
    finally:
        con.close()
    return [json.loads(d) for (d,) in found]


def test_issue13_r18_deployment_create_stamps_the_console(tmp_path: Path) -> None:
    store = '[store]\ntype = "sqlite"\n'
    console, tool = tmp_path / "console.toml", tmp_path / "tool.toml"
    console.write_text(f'data_dir = "var"\n{CONSOLE}{store}')
    tool.write_text(f'data_dir = "var"\n{store}')  # the same store, no node config
    made = [_create(console), _create(console, "--console", "van-b"), _create(tool),
            _create(tool, "--console", "van_c-9")]
    for m in made:
        assert m.returncode == 0, m.stderr
    stamped = [json.loads(m.stdout)["console"] for m in made]
    assert stamped == ["van-a", "van-b", None, "van_c-9"]
    ids = [json.loads(m.stdout)["id"] for m in made]
    details = _audited(tmp_path / "var" / "pinchpoint.db")
    assert [d.get("console") for d in details] == stamped
    assert "console" not in details[2]  # none: nothing to audit
    listed = pinchpoint(["deployment", "list", "--config", str(tool)], tmp_path)
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()}
    assert [lines[i].rsplit("(console ", 1)[1] for i in ids] == [
        "van-a)", "van-b)", "-)", "van_c-9)"]
    shown = pinchpoint(["deployment", "show", ids[1], "--config", str(tool)], tmp_path)
    assert json.loads(shown.stdout)["deployment"]["console"] == "van-b"


def test_issue13_hostile_console_option_is_refused_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "console.toml"
    config.write_text(f'data_dir = "var"\n{CONSOLE}[store]\ntype = "sqlite"\n')
    for bad in ("", "   ", "x" * 65, "van a", "van-a\n", "van\tb", "van\x1b[31mred",
                "van\x7f", "../van", "vän", "van;b", "--"):
        refused = _create(config, f"--console={bad}")
        assert refused.returncode == 2, (bad, refused.stdout, refused.stderr)
        assert "argument --console" in refused.stderr, (bad, refused.stderr)
        assert "[node] id" in refused.stderr and "Traceback" not in refused.stderr
        assert refused.stdout == ""
    assert _create(config, "--console", "x" * 64).returncode == 0  # the longest id there is
    listed = pinchpoint(["deployment", "list", "--config", str(config)], tmp_path)
    assert len(listed.stdout.splitlines()) == 1  # only the good one was created
