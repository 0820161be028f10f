"""``pinchpoint eval watchlist``/``split-lfw`` on a tiny split from the repo's public-domain
photos (runs on a fresh machine): enrolment rejections counted by reason (R10), TPIR/FPIR and
the calibrated threshold (R22), groups from UTKFace names."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from evaluation.baseline import face_recognition_available
from evaluation.watchlist import (
    build_cfp_split,
    build_lfw_split,
    list_folder,
    utk_groups,
)
from kernel.cli.main import main


def _save_small(src: Path, dst: Path, height: int = 480) -> None:
    image = cv2.imread(str(src))
    assert image is not None
    scale = height / image.shape[0]
    small = cv2.resize(image, (round(image.shape[1] * scale), height), interpolation=cv2.INTER_AREA)
    dst.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(dst), small)


@pytest.fixture
def tiny_split(public_domain_faces: Path, tmp_path: Path) -> Path:
    root = tmp_path / "split"
    _save_small(public_domain_faces / "obama.jpg", root / "gallery" / "obama" / "obama.jpg")
    noise = np.random.default_rng(7).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    (root / "gallery" / "nobody").mkdir(parents=True)
    cv2.imwrite(str(root / "gallery" / "nobody" / "noise.png"), noise)
    for name in ("obama2.jpg", "obama3.jpg"):
        _save_small(public_domain_faces / name, root / "probes" / "obama" / name)
    # A listed person whose only enrolment photo is refused: their probe is a real face, and a
    # miss (they can never be found), not left out of TPIR.
    _save_small(public_domain_faces / "biden.jpg", root / "probes" / "nobody" / "biden.jpg")
    # A UTKFace-style name: 60-year-old (0) male (0) White person.
    _save_small(public_domain_faces / "biden.jpg", root / "impostors" / "60_0_0_2017.jpg")
    cv2.imwrite(str(root / "impostors" / "noise.png"), noise)
    return root


def test_utk_groups_parse_file_names() -> None:
    assert utk_groups("100_1_2_20170105174847679.jpg.chip.jpg") == ("female", "Asian")
    assert utk_groups("25_0_3_x.jpg") == ("male", "Indian")
    assert utk_groups("lfw-Aaron_Eckhart_0001.jpg") is None


def test_list_folder_reads_identities_and_flat_files(tiny_split: Path) -> None:
    gallery = list_folder(tiny_split / "gallery")
    assert [(i.identity, i.path.name) for i in gallery] == [
        ("nobody", "noise.png"), ("obama", "obama.jpg")]
    assert {i.identity for i in list_folder(tiny_split / "impostors")} == {None}


def test_eval_watchlist_counts_rejections_and_calibrates(
    tiny_split: Path, eval_models_dir: Path, tmp_path: Path
) -> None:
    """R10 rejections by reason; R22 threshold with FPIR ≤ target; R3 aggregates only."""
    out = tmp_path / "out"
    args = ["eval", "watchlist", str(tiny_split / "gallery"), str(tiny_split / "probes"),
            str(tiny_split / "impostors"), "--out", str(out), "--models-dir",
            str(eval_models_dir), "--by-group", "--target-fpir", "0.001", "--quiet"]
    baseline = face_recognition_available()
    assert main([*args, "--baseline"] if baseline else args) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "det.png", "watchlist_metrics.json", "watchlist_report.md"]
    metrics = json.loads((out / "watchlist_metrics.json").read_text())
    results = metrics["results"]
    assert metrics["engine"]["config_path"] == "config.toml"  # the engine as configured
    assert metrics["engine"]["overrides"] == []
    ours = results[0]
    assert ours["enrol_rejections"] == {"no_face": 1}
    assert ours["enrolled_identities"] == 1
    assert ours["mated_probes"] == 3  # every probe of a listed person counts
    assert ours["mated_not_enrolled"] == 1  # the refused person's probe: a miss
    assert ours["impostors"] == 2
    assert ours["impostors_unusable"] == {"no_face": 1}
    assert ours["rank1"] == pytest.approx(2 / 3)
    assert ours["chosen_rounded"]["fpir"] == 0.0
    assert ours["chosen_rounded"]["tpir"] == pytest.approx(2 / 3)  # Obama's two, not Biden
    assert ours["at_configured"]["threshold"] == pytest.approx(0.959)  # config.toml's
    groups = {(g["dimension"], g["group"]): g for g in ours["groups"]}
    assert groups[("gender", "male")]["impostors"] == 1
    assert groups[("ethnicity", "White")]["false_positives"] == 0
    assert groups[("source", "unlabelled (no UTKFace name)")]["impostors"] == 1
    assert {(src["source"], src["impostors"]) for src in ours["sources"]} == {
        ("UTKFace", 1), ("other", 1)}
    report = (out / "watchlist_report.md").read_text()
    assert "no_face 1" in report
    assert f"cosine ≥ {ours['chosen_rounded']['threshold']:.4f}" in report
    assert "Wilson 95 %" in report
    # R22: fitted on the impostors that are not UTKFace-named only (here: the noise image).
    assert main([*args[:-1], "--calibrate-on", "other", "--out", str(tmp_path / "o2")]) == 0
    [other] = json.loads((tmp_path / "o2" / "watchlist_metrics.json").read_text())["results"]
    assert (other["calibrated_on"], other["calibration_impostors"]) == ("other", 1)
    if baseline:
        base = results[1]
        assert base["metric"] == "euclidean"
        assert base["enrol_rejections"] == {"no_face": 1}
        assert base["rank1"] == pytest.approx(2 / 3)  # the refused person counts for it too
        assert "distance ≤" in report


def test_split_lfw_links_gallery_probes_and_impostors(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "split"
    manifest = build_lfw_split(shared_data / "lfw150", out, min_identities=5, max_identities=5)
    assert manifest.gallery_identities == 5
    gallery = list_folder(out / "gallery")
    assert len(gallery) == 5 and all(p.path.is_symlink() for p in gallery)
    probes = list_folder(out / "probes")
    assert {p.identity for p in probes} == {g.identity for g in gallery}
    assert manifest.impostor_images == len(list_folder(out / "impostors")) >= 2000
    with pytest.raises(ValueError, match="need 6"):
        build_lfw_split(shared_data / "lfw150", tmp_path / "x", min_identities=6,
                        max_identities=5)


def test_eval_overrides_are_applied_and_named(
    tiny_split: Path, eval_models_dir: Path, tmp_path: Path
) -> None:
    """The report names every way the engine differs from the config file; a relaxed
    enrolment floor changes what is enrolled (the override really reaches the engine)."""
    out = tmp_path / "out"
    assert main(["eval", "watchlist", str(tiny_split / "gallery"), str(tiny_split / "probes"),
                 str(tiny_split / "impostors"), "--out", str(out), "--models-dir",
                 str(eval_models_dir), "--quiet", "--mirror",
                 "--engine-set", "quality.enrol.min_face_px=4000"]) == 0
    metrics = json.loads((out / "watchlist_metrics.json").read_text())
    assert metrics["engine"]["overrides"] == [
        "embedder.mirror=true", "quality.enrol.min_face_px=4000"]
    [ours] = metrics["results"]
    assert "(CenterFace" in ours["pipeline"] and "mirror" in ours["pipeline"]
    assert ours["enrolled_identities"] == 0  # no face is 4000 px wide: all refused, all missed
    assert ours["chosen_rounded"]["tpir"] == 0.0
    report = (out / "watchlist_report.md").read_text()
    assert "`quality.enrol.min_face_px=4000`" in report


@pytest.mark.parametrize("setting", [
    "nope=1", "quality.enrol.nope=1", "quality.enrol.min_face_px=fast",
    "quality.enrol.min_face_px=NaN", "quality", "=3", "embedder=1",
])
def test_eval_refuses_a_bad_override_naming_it(
    setting: str, tiny_split: Path, eval_models_dir: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A hostile or mistyped --engine-set: exit 2 with one line naming it, no traceback."""
    code = main(["eval", "watchlist", str(tiny_split / "gallery"), str(tiny_split / "probes"),
                 str(tiny_split / "impostors"), "--out", str(tmp_path / "o"), "--models-dir",
                 str(eval_models_dir), "--quiet", "--engine-set", setting])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "--engine-set" in err and "Traceback" not in err


def test_split_cfp_halves_are_disjoint_and_hold_the_protocol(
    shared_data: Path, tmp_path: Path
) -> None:
    """Settings are chosen on the dev half and reported on the test half: no person is in
    both; listed people have one frontal enrolment photo, 3 frontal + 2 profile probes."""
    dev = build_cfp_split(shared_data / "cfp", tmp_path / "dev", half="dev", listed=10)
    test = build_cfp_split(shared_data / "cfp", tmp_path / "test", half="test", listed=10)
    assert not set(dev.listed + dev.others) & set(test.listed + test.others)
    assert len(dev.listed + dev.others) == len(test.listed + test.others) == 250
    gallery = list_folder(tmp_path / "test" / "gallery")
    assert len(gallery) == 10 and all(p.path.name.startswith("frontal-") for p in gallery)
    probes = list_folder(tmp_path / "test" / "probes")
    assert len(probes) == 50
    assert sum(p.path.name.startswith("profile-") for p in probes) == 20
    assert test.impostor_images == 240 * 7
    assert {p.identity for p in list_folder(tmp_path / "test" / "impostors")} == {None}
    with pytest.raises(FileExistsError):
        build_cfp_split(shared_data / "cfp", tmp_path / "test", half="test")
    with pytest.raises(ValueError, match="half"):
        build_cfp_split(shared_data / "cfp", tmp_path / "x", half="everyone")


def test_split_lfw_halves_are_disjoint(shared_data: Path, tmp_path: Path) -> None:
    dev = build_lfw_split(shared_data / "lfw150", tmp_path / "dev", half="dev",
                          min_identities=5, max_probes=2)
    test = build_lfw_split(shared_data / "lfw150", tmp_path / "test", half="test",
                           min_identities=5, max_probes=2)
    dev_ids = {p.identity for p in list_folder(tmp_path / "dev" / "gallery")}
    test_ids = {p.identity for p in list_folder(tmp_path / "test" / "gallery")}
    assert dev_ids and test_ids and not dev_ids & test_ids
    assert dev.gallery_identities + test.gallery_identities == len(dev_ids | test_ids)
    per_person: dict[str | None, int] = {}
    for p in list_folder(tmp_path / "test" / "probes"):
        per_person[p.identity] = per_person.get(p.identity, 0) + 1
    assert max(per_person.values()) == 2  # --max-probes caps the heavily photographed
