"""The governance CLI end to end on a real store: create, authorise, enrol with reasons,
refuse to go live unreviewed (R9), review, go live, verify the audit log (R19)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.cli_inprocess import Completed, pinchpoint

DEMO_FACES = Path(__file__).resolve().parents[3] / "demo" / "faces"


def process(config: Path, group: str, action: str,
            *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m kernel.cli.main GROUP ACTION --config CONFIG ARGS…`` in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "kernel.cli.main", group, action, "--config", str(config), *args],
        capture_output=True, text=True, check=False, cwd=config.parent)


def cli(config: Path, group: str, action: str, *args: str) -> Completed:
    """``pinchpoint GROUP ACTION --config CONFIG ARGS…`` in this process (tests/cli_inprocess.py
    says why)."""
    return pinchpoint([group, action, "--config", str(config), *args], config.parent)


def flat(text: str) -> str:
    """Console output with its line wrapping undone."""
    return " ".join(text.split())


def test_deployment_life_through_the_cli(tmp_path: Path, models_dir: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'data_dir = "var"\n[engine]\ntype = "onnx"\nmodels_dir = "{models_dir}"\n'
                      '[store]\ntype = "sqlite"\n')
    now = datetime.now(UTC)
    made = cli(config, "deployment", "create", "--name", "Gate", "--authorising-officer",
               "Supt X", "--location", "North gate",
               "--starts", (now - timedelta(minutes=1)).isoformat(),
               "--ends", (now + timedelta(hours=2)).isoformat(), "--objectives", "o",
               "--case-reference", "C-1", "--command-team", "Insp Y")
    assert made.returncode == 0, made.stderr
    listed = cli(config, "deployment", "list")
    dep = listed.stdout.split()[0]
    assert cli(config, "deployment", "authorise", dep).returncode == 0
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "face.jpg").write_bytes((DEMO_FACES / "obama.jpg").read_bytes())
    (photos / "notes.jpg").write_text("not a photo")
    enrolled = cli(config, "watchlist", "enrol", dep, str(photos), "--category", "wanted",
                   "--reference", "R-1", "--source", "test", "--reason", "test")
    assert "face.jpg: enrolled" in enrolled.stdout
    assert "notes.jpg: The file is not a readable JPEG, PNG or WebP image." in enrolled.stdout
    early = process(config, "deployment", "live", dep)  # exit code and stderr of a real process
    assert early.returncode != 0 and "has not been reviewed (R9)" in early.stderr
    assert "Traceback" not in early.stderr
    assert cli(config, "watchlist", "review", dep).returncode == 0
    assert cli(config, "deployment", "live", dep).returncode == 0
    verified = process(config, "audit", "verify")
    assert verified.returncode == 0 and "intact" in verified.stdout


def test_r8_r10_r19_enrol_into_an_entry_and_accept_below_gate(tmp_path: Path,
                                                              models_dir: Path) -> None:
    """``watchlist enrol --entry ID`` adds a photo to an entry (R8, audited ``new_entry:
    false``, R19); a soft refusal is named with its cost and enrolled with ``--accept-reason``
    (R10); a blank reason is refused with a message, no traceback."""
    import io
    import json

    from PIL import Image

    config = tmp_path / "c.toml"
    config.write_text(f'data_dir = "var"\n[engine]\ntype = "onnx"\nmodels_dir = "{models_dir}"\n'
                      '[store]\ntype = "sqlite"\n')
    now = datetime.now(UTC)
    made = cli(config, "deployment", "create", "--name", "Gate", "--authorising-officer",
               "Supt X", "--location", "North gate",
               "--starts", (now + timedelta(hours=1)).isoformat(),
               "--ends", (now + timedelta(hours=3)).isoformat(), "--objectives", "o",
               "--case-reference", "C-2")
    assert made.returncode == 0, made.stderr
    dep = cli(config, "deployment", "list").stdout.split()[0]
    first = tmp_path / "first.jpg"
    first.write_bytes((DEMO_FACES / "obama.jpg").read_bytes())
    assert cli(config, "watchlist", "enrol", dep, str(first), "--reference", "R-1"
               ).returncode == 0
    [entry] = json.loads(cli(config, "watchlist", "list", dep).stdout)
    second = tmp_path / "second.jpg"
    second.write_bytes((DEMO_FACES / "obama2.jpg").read_bytes())
    added = cli(config, "watchlist", "enrol", dep, str(second), "--entry", entry["id"])
    assert added.returncode == 0 and "second.jpg: enrolled" in flat(added.stdout), added.stdout
    with Image.open(DEMO_FACES / "obama.jpg") as img:
        small = img.convert("RGB").resize((img.width * 12 // 100, img.height * 12 // 100))
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=95)
    tiny = tmp_path / "tiny.jpg"
    tiny.write_bytes(buf.getvalue())
    soft = cli(config, "watchlist", "enrol", dep, str(tiny), "--entry", entry["id"])
    assert soft.returncode == 1 and "--accept-reason" in flat(soft.stdout), soft.stdout
    assert "too small" in flat(soft.stdout) and "TPIR" in flat(soft.stdout)
    blank = cli(config, "watchlist", "enrol", dep, str(tiny), "--entry", entry["id"],
                "--accept-reason", "   ")
    assert blank.returncode != 0 and "accept reason" in flat(blank.stderr), blank.stderr
    assert "Traceback" not in blank.stderr
    accepted = cli(config, "watchlist", "enrol", dep, str(tiny), "--entry", entry["id"],
                   "--accept-reason", "only custody photo")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "below the enrolment gate" in flat(accepted.stdout)
    [entry] = json.loads(cli(config, "watchlist", "list", dep).stdout)
    assert entry["photos"] == 3
    assert [g["below_gate"] for g in entry["photo_gates"]] == [[], [], ["too_small"]]
    assert entry["photo_gates"][2]["accept_reason"] == "only custody photo"
    assert cli(config, "audit", "verify").returncode == 0


def test_r3_r22_cli_threshold_uses_the_domain_invariants(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('data_dir = "var"\n[store]\ntype = "sqlite"\n')
    now = datetime.now(UTC)
    made = cli(config, "deployment", "create", "--name", "Gate", "--authorising-officer",
               "Supt X", "--location", "North gate",
               "--starts", (now - timedelta(minutes=1)).isoformat(),
               "--ends", (now + timedelta(hours=2)).isoformat(), "--objectives", "o",
               "--case-reference", "C-1")
    assert made.returncode == 0, made.stderr
    dep = cli(config, "deployment", "list").stdout.split()[0]
    for hostile in ("-1.0", "0", "0.5", "nan", "inf", "1.5", "high"):
        done = cli(config, "deployment", "threshold", dep, hostile)
        assert done.returncode == 5, (hostile, done.stdout, done.stderr)
        assert "match threshold" in flat(done.stderr) and "Traceback" not in done.stderr
    done = cli(config, "deployment", "threshold", dep, "0.95")
    assert done.returncode == 0 and '"match_threshold": 0.95' in done.stdout, done.stderr
    assert cli(config, "deployment", "threshold", dep, "default").returncode == 0


def test_r19_audit_head_anchor_catches_rows_deleted_off_the_end(tmp_path: Path) -> None:
    """issue 12, finding 14: deleting rows off the audit log's end leaves a valid shorter
    chain, which ``audit verify`` alone accepts. A head recorded earlier (``audit head``)
    catches it, and a rewritten row too; a malformed anchor is a usage error (exit 2)."""
    import sqlite3

    config = tmp_path / "c.toml"
    config.write_text('data_dir = "var"\n[store]\ntype = "sqlite"\n')
    now = datetime.now(UTC)
    for name in ("Gate", "Bridge"):
        made = cli(config, "deployment", "create", "--name", name, "--authorising-officer",
                   "Supt X", "--location", "North gate",
                   "--starts", (now - timedelta(minutes=1)).isoformat(),
                   "--ends", (now + timedelta(hours=2)).isoformat(), "--objectives", "o",
                   "--case-reference", "C-1")
        assert made.returncode == 0, made.stderr
    head = cli(config, "audit", "head")
    assert head.returncode == 0, head.stderr
    anchor = head.stdout.strip()
    seq = int(anchor.split(":")[0])
    assert seq >= 2 and len(anchor.split(":")[1]) == 64
    assert cli(config, "audit", "verify", "--head", anchor).returncode == 0

    db = tmp_path / "var" / "pinchpoint.db"
    con = sqlite3.connect(db)
    con.execute("DELETE FROM audit WHERE seq = ?", (seq,))  # the tail row goes
    con.commit()
    con.close()
    assert cli(config, "audit", "verify").returncode == 0  # the chain alone cannot tell
    caught = cli(config, "audit", "verify", "--head", anchor)
    assert caught.returncode == 6 and "deleted off its end" in flat(caught.stderr)

    other = anchor.split(":")[0] + ":" + "0" * 64
    rewritten = cli(config, "audit", "verify", "--head", f"{seq - 1}:{'0' * 64}")
    assert rewritten.returncode == 6 and "rewritten" in flat(rewritten.stderr)
    for bad in ("12", "x:" + "0" * 64, "0:" + "0" * 64, "3:abc", other.upper() + "Z"):
        refused = cli(config, "audit", "verify", "--head", bad)
        assert refused.returncode == 2 and "--head" in refused.stderr, (bad, refused.stderr)
        assert "Traceback" not in refused.stderr
