"""The governance CLI end to end on a real store: create, authorise, enrol with reasons,
refuse to go live unreviewed (R9), review, go live, verify the audit log (R19)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

DEMO_FACES = Path(__file__).resolve().parents[3] / "adapters" / "camera" / "demo_faces"


def cli(config: Path, group: str, action: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``pinchpoint GROUP ACTION --config CONFIG ARGS…``"""
    return subprocess.run(
        [sys.executable, "-m", "kernel.cli.main", group, action, "--config", str(config), *args],
        capture_output=True, text=True, check=False, cwd=config.parent)


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
    early = cli(config, "deployment", "live", dep)
    assert early.returncode != 0 and "has not been reviewed (R9)" in early.stderr
    assert "Traceback" not in early.stderr
    assert cli(config, "watchlist", "review", dep).returncode == 0
    assert cli(config, "deployment", "live", dep).returncode == 0
    verified = cli(config, "audit", "verify")
    assert verified.returncode == 0 and "intact" in verified.stdout
