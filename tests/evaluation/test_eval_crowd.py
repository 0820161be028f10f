"""``pinchpoint eval crowd``: a clip of people on no list through the live pipeline, every alert
counted false; the crowd's truth is read off the clip; hostile inputs are one line and exit 2.
Also the walk-past made of UTKFace people on no list, and its false alerts per group."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from evaluation.crowd import ASSUMPTION, crowd_truth
from evaluation.walkpast_clips import UTK_FOLDER, DevSet, WalkerSpec, make_walkpast, pick_utkface
from evaluation.walkpast_groups import pass_groups
from evaluation.walkpast_sweep import Step, Sweep
from evaluation.walkpast_truth import FORMAT, Pass, Truth, TruthError
from evaluation.watchlist import utk_groups
from kernel.cli.main import main
from tests.evaluation.test_eval_walkpast import _config, _detector


def _synthetic_clip(path: Path, frames: int, fps: int = 10) -> None:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps, 1))
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(frames):
            image = np.full((240, 320, 3), (i * 9) % 255, np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())


def test_crowd_truth_is_the_clips_geometry_with_nobody_walking(tmp_path: Path) -> None:
    clip = tmp_path / "crowd.mp4"
    _synthetic_clip(clip, 12)
    truth = crowd_truth(clip)
    assert (truth.fps, truth.width, truth.height, truth.frames) == (10, 320, 240, 12)
    assert truth.passes == () and truth.source == "crowd"


def test_crowd_truth_refuses_what_is_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(TruthError, match="not found"):
        crowd_truth(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x01not a video" * 200)
    with pytest.raises(TruthError, match="not a playable video"):
        crowd_truth(junk)


def test_sweep_with_nobody_listed_counts_every_alert_false(tmp_path: Path) -> None:
    clip = tmp_path / "crowd.mp4"
    _synthetic_clip(clip, 100)
    truth = crowd_truth(clip)
    box = (0.0, 0.0, 10.0, 10.0)
    steps = [Step("c", 1, 5, box, (("A", 0.90),)), Step("c", 1, 9, box, (("A", 0.95),)),
             Step("c", 2, 20, box, (("B", 0.93), ("A", 0.91))),
             Step("c", 3, 60, box, (("C", 0.97),))]
    sweep = Sweep(steps, truth, repeat_s=5.0)
    assert [sweep.at(t).false_alerts for t in (0.98, 0.97, 0.95, 0.93, 0.90)] == [0, 1, 2, 3, 3]
    assert all(sweep.at(t).unattributed == sweep.at(t).false_alerts for t in (0.93, 0.90))
    # The table shows where each further false alert appears, from the highest evidence down.
    assert [(r.threshold, r.false_alerts) for r in sweep.table()] == [
        (0.93, 3), (0.95, 2), (0.97, 1)]


def test_crowd_end_to_end_counts_a_listed_face_as_a_false_alert(
    public_domain_faces: Path, eval_models_dir: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Obama and Biden walk past; Obama is on the list. Told the clip is a crowd of people on
    no list, the evaluation must count Obama's alert as false (it cannot know better), and
    Biden, on no list, raises nothing at the configured threshold."""
    detector = _detector(eval_models_dir)
    faces = public_domain_faces
    devset = DevSet(
        walkers=(WalkerSpec("obama", True, ((faces / "obama2.jpg", "frontal"),)),
                 WalkerSpec("biden", False, ((faces / "biden.jpg", "frontal"),))),
        gallery={"obama": (faces / "obama.jpg",)}, root=faces)
    clip_dir = tmp_path / "clip"
    make_walkpast(devset, clip_dir, lambda image: [f.box for f in detector.detect(image)],
                  rng=np.random.default_rng(5), source="demo", seed=5, width=640, height=360,
                  face_px=(40.0, 110.0), walk_s=2.5, tail_s=0.3)
    out = tmp_path / "out"
    config = _config(tmp_path, eval_models_dir, 0.93)
    code = main(["eval", "crowd", str(clip_dir / "clip.mp4"), str(clip_dir / "gallery"),
                 "--config", str(config), "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((out / "crowd_metrics.json").read_text())
    assert metrics["assumption"] == ASSUMPTION
    (live,) = metrics["results"]
    assert live["frames_analysed"] == metrics["frames"] and live["frames_dropped"] == 0
    assert live["tracks"] >= 2
    at = live["at_configured"]
    assert at["false_alerts"] == at["unattributed"] == at["alerts"] == 1
    assert live["live_candidates"] == 1
    assert live["peaks"]["any_track_peak_highest"] >= 0.93
    # R3: aggregates only.
    assert sorted(p.name for p in out.iterdir()) == ["crowd_metrics.json", "crowd_report.md"]
    assert "every alert is false" in (out / "crowd_report.md").read_text()


def test_crowd_with_an_unreadable_clip_or_empty_list_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "clip.mp4"
    junk.write_bytes(b"not a video" * 100)
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    code = main(["eval", "crowd", str(junk), str(gallery), "--out", str(tmp_path / "o"),
                 "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "not a playable video" in err
    clip = tmp_path / "ok.mp4"
    _synthetic_clip(clip, 5)
    code = main(["eval", "crowd", str(clip), str(gallery), "--out", str(tmp_path / "o"),
                 "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "holds no <identity>/<photo>" in err
    assert not (tmp_path / "o").exists()


# --- UTKFace walkers on no list: false alerts of passes per group ---------------------------


def test_utkface_set_walks_nobody_listed_against_lfw_people(shared_data: Path) -> None:
    devset = pick_utkface(shared_data / UTK_FOLDER, np.random.default_rng(2), passes=6,
                          gallery_size=8)
    assert len(devset.gallery) == 8 and len(devset.walkers) == 6
    assert all(p.parent.parent.name == "by_identity" for (p,) in devset.gallery.values())
    assert not any(w.listed for w in devset.walkers)
    for w in devset.walkers:
        # The identity each walker gets is its photo's stem: the one that names its groups.
        assert all(kind == f"frontal:{photo.stem}" and utk_groups(photo.name)
                   for photo, kind in w.photos)
    # The two halves (an even seed fits, an odd one reports) never share a face, whatever
    # the seed.
    def faces(half: int, seed: int) -> set[Path]:
        picked = pick_utkface(shared_data / UTK_FOLDER, np.random.default_rng(seed),
                              passes=400, gallery_size=8, half=half)
        return {photo for w in picked.walkers for photo, _ in w.photos}

    assert len(faces(0, 1)) == 800 and not faces(0, 1) & faces(1, 1)
    assert not faces(0, 3) & faces(1, 4)


def test_pass_groups_count_non_listed_utkface_passes_alerting_per_group() -> None:
    """Three UTKFace walkers on no list (a White man, an Asian woman, an Asian man) and a
    listed walker; at 0.95 only the Asian woman's pass alerts."""
    def walker(identity: str, listed: bool, first: int, x: float) -> Pass:
        return Pass(identity=identity, listed=listed, first_frame=first, last_frame=first + 9,
                    boxes=tuple((x, 0.0, x + 10.0, 10.0) for _ in range(10)))

    truth = Truth(format=FORMAT, fps=10, width=640, height=360, frames=60, passes=(
        walker("30_0_0_1", False, 0, 0), walker("41_1_2_2", False, 10, 100),
        walker("52_0_2_3", False, 20, 200), walker("A", True, 30, 300)))
    steps = [Step("c", 1, 2, (0, 0, 10, 10), (("X", 0.90),)),
             Step("c", 2, 12, (100, 0, 110, 10), (("Y", 0.96),)),
             Step("c", 3, 22, (200, 0, 210, 10), (("Y", 0.94),)),
             Step("c", 4, 32, (300, 0, 310, 10), (("A", 0.99),))]
    groups = {(g.dimension, g.group): g for g in pass_groups(Sweep(steps, truth, 5.0), 0.95)}
    asian, female = groups[("ethnicity", "Asian")], groups[("gender", "female")]
    assert (asian.passes, asian.alerting, asian.peak_highest) == (2, 1, 0.96)
    assert 0 < asian.low < asian.rate == 0.5 < asian.high < 1
    assert (female.passes, female.alerting) == (1, 1)
    assert (groups[("ethnicity", "White")].alerting, groups[("gender", "male")].passes) == (0, 2)
    assert ("ethnicity", "Black") not in groups  # no such walker: no row
    assert pass_groups(Sweep(steps, truth, 5.0), None) == []
