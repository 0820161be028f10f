"""``pinchpoint eval lfw``: View-2 pairs parsing and a one-fold run on real LFW crops."""

from __future__ import annotations

import json
from pathlib import Path

from evaluation.lfw import Pair, limit_pairs, read_pairs
from kernel.cli.main import main


def test_reads_official_pairs_txt_with_folds(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("2\t1\nAl\t1\t2\nBo\t1\tCy\t3\nDi\t2\t4\nEd\t1\tFa\t1\n")
    got = read_pairs(pairs)
    assert got == [
        Pair("by_identity/Al/Al_0001.jpg", "by_identity/Al/Al_0002.jpg", True, 0),
        Pair("by_identity/Bo/Bo_0001.jpg", "by_identity/Cy/Cy_0003.jpg", False, 0),
        Pair("by_identity/Di/Di_0002.jpg", "by_identity/Di/Di_0004.jpg", True, 1),
        Pair("by_identity/Ed/Ed_0001.jpg", "by_identity/Fa/Fa_0001.jpg", False, 1),
    ]
    assert [p.fold for p in limit_pairs(got, 1, None)] == [0, 0]
    assert [p.same for p in limit_pairs(got, None, 1)] == [True, True]


def test_pairs_txt_and_pairs_available_tsv_agree(shared_data: Path) -> None:
    lfw = shared_data / "lfw150"
    official = read_pairs(lfw / "pairs.txt")
    tsv = read_pairs(lfw / "pairs_available.tsv")
    assert len(official) == 6000
    assert official == tsv
    assert sum(p.same for p in official if p.fold == 3) == 300


def test_eval_lfw_one_fold_writes_report_and_metrics(
    shared_data: Path, eval_models_dir: Path, tmp_path: Path
) -> None:
    """R2 pipeline measured on 40 LFW pairs; only aggregates are written (R3)."""
    out = tmp_path / "out"
    code = main([
        "eval", "lfw", "--data", str(shared_data / "lfw150"), "--limit-folds", "1",
        "--limit-pairs", "40", "--out", str(out), "--models-dir", str(eval_models_dir), "--quiet",
    ])
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["lfw_metrics.json", "lfw_report.md", "roc.png"]
    metrics = json.loads((out / "lfw_metrics.json").read_text())
    assert metrics["engine"]["config_path"] == "config.toml"
    [result] = metrics["results"]
    assert result["pairs"] == 40
    assert result["folds"] == 1
    assert result["failed_images"] == 0
    assert 0.9 <= result["accuracy"]["mean"] <= 1.0
    report = (out / "lfw_report.md").read_text()
    assert f"{100 * result['accuracy']['mean']:.2f} %" in report
    assert f"{100 * result['tar_far_01']['positive_rate']:.2f} %" in report
    assert (out / "roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
