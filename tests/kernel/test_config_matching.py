"""[matching] thresholds and [matching.tracker] values: hostile values are refused by
``config check`` naming the key (R22); which threshold decides a track is one documented rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel import config
from kernel.errors import ConfigError
from tests.cli_inprocess import pinchpoint


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("key", ["threshold", "track_threshold"])
@pytest.mark.parametrize("value", ["-0.5", "0", "0.0", "0.5", "0.929", "1.5", "nan", "inf", "-inf",
                                   '"high"'])
def test_r3_r22_hostile_thresholds_are_refused_naming_the_key(
    tmp_path: Path, key: str, value: str
) -> None:
    with pytest.raises(ConfigError) as info:
        config.load(write(tmp_path, f"[matching]\n{key} = {value}\n"), environ={})
    assert f"config key matching.{key}:" in str(info.value)


@pytest.mark.parametrize(
    ("key", "value"),
    [("max_gap_s", "nan"), ("max_gap_s", "0"), ("max_gap_s", "-1"), ("embed_interval_s", "-1"),
     ("embed_interval_s", "nan"), ("fuse_max", "0"), ("fuse_max", "-3"), ("fuse_max", "1000"),
     ("embed_max", "0"), ("embed_gain", "nan"), ("min_iou", "1.5"), ("split_below", "2"),
     ("repeat_s", "-1"), ("fusion", '"median"')],
)
def test_hostile_tracker_values_are_refused_naming_the_key(
    tmp_path: Path, key: str, value: str
) -> None:
    with pytest.raises(ConfigError) as info:
        config.load(write(tmp_path, f"[matching.tracker]\n{key} = {value}\n"), environ={})
    assert f"config key matching.tracker.{key}:" in str(info.value)


def test_environment_cannot_smuggle_a_nan_threshold(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"matching\.track_threshold"):
        config.load(write(tmp_path, "[matching]\n"),
                    environ={"PINCHPOINT_MATCHING__TRACK_THRESHOLD": "nan"})


def test_config_check_names_the_bad_key(tmp_path: Path) -> None:
    path = write(tmp_path, "[matching]\ntrack_threshold = nan\n")
    done = pinchpoint(["config", "check", str(path)], tmp_path)  # tests/cli_inprocess.py
    assert done.returncode == 2
    assert "matching.track_threshold" in done.stderr and "Traceback" not in done.stderr


def test_fusion_settings_load(tmp_path: Path) -> None:
    text = ("[matching]\nthreshold = 0.95\ntrack_threshold = 0.94\n[matching.tracker]\n"
            'fusion = "max"\nfuse_max = 12\nembed_interval_s = 0.25\n')
    cfg = config.load(write(tmp_path, text), environ={})
    assert cfg.matching.track_threshold == 0.94
    assert cfg.matching.tracker.fusion == "max" and cfg.matching.tracker.fuse_max == 12
    assert cfg.matching.tracker.embed_interval_s == 0.25
    defaults = config.load(write(tmp_path, "[matching]\n"), environ={}).matching
    assert defaults.track_threshold is None and defaults.tracker.fusion == "mean"


def test_which_threshold_decides_a_track() -> None:
    """The deployment's own threshold when it sets a usable one; else track_threshold; else
    threshold. A deployment value outside (0, 1] is never used (at or below zero nearly
    everyone would become a candidate)."""
    still_only = config.MatchingConfig(threshold=0.958)
    both = config.MatchingConfig(threshold=0.958, track_threshold=0.94)
    assert still_only.decision_threshold(None) == 0.958
    assert both.decision_threshold(None) == 0.94
    assert both.decision_threshold(0.97) == 0.97
    for bad in (0.0, -0.5, 1.5, float("nan")):
        assert both.decision_threshold(bad) == 0.94
        assert still_only.decision_threshold(bad) == 0.958
