"""``pinchpoint eval make-walkpast`` / ``eval walkpast``: the development clip is deterministic
and its truth is what is drawn; the threshold sweep follows the live matcher's rule; a tiny
clip of the repo's public-domain photos runs end to end through the live pipeline; hostile
inputs are one line and exit code 2."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import av
import msgspec
import numpy as np
import pytest

from adapters.camera.video import to_rgb
from adapters.engine.centerface import CenterFace
from evaluation.walkpast_clips import (
    DevSet,
    WalkerSpec,
    make_walkpast,
    pick_cfp,
    pick_lfw150,
)
from evaluation.walkpast_kinds import kind_groups
from evaluation.walkpast_sweep import Step, Sweep, box_iou, decide
from evaluation.walkpast_truth import FORMAT, Pass, Truth
from kernel.cli.main import main

FACE_PX = (40.0, 110.0)


def _detector(models_dir: Path) -> CenterFace:
    return CenterFace(models_dir / "centerface.onnx")


def _tiny(out: Path, faces: Path, models_dir: Path, seed: int = 5) -> Truth:
    """Obama walks with another photo of himself (listed); Biden is not on the list."""
    detector = _detector(models_dir)
    devset = DevSet(
        walkers=(WalkerSpec("obama", True, ((faces / "obama2.jpg", "frontal"),)),
                 WalkerSpec("biden", False, ((faces / "biden.jpg", "frontal"),))),
        gallery={"obama": (faces / "obama.jpg",)}, root=faces)
    return make_walkpast(
        devset, out, lambda image: [f.box for f in detector.detect(image)],
        rng=np.random.default_rng(seed), source="demo", seed=seed, width=640, height=360,
        face_px=FACE_PX, walk_s=2.5, tail_s=0.3)


@pytest.fixture(scope="module")
def tiny_set(public_domain_faces: Path, eval_models_dir: Path,
             tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("walkpast") / "tiny"
    _tiny(out, public_domain_faces, eval_models_dir)
    return out


def _frames(clip: Path) -> list[np.ndarray]:
    with av.open(str(clip)) as container:
        return [to_rgb(f) for f in container.decode(video=0)]


# --- the clip generator ----------------------------------------------------------------


def test_generator_is_deterministic_for_a_seed(
    tiny_set: Path, public_domain_faces: Path, eval_models_dir: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    _tiny(again, public_domain_faces, eval_models_dir)
    assert (again / "truth.json").read_bytes() == (tiny_set / "truth.json").read_bytes()
    digest = [hashlib.sha256(f.tobytes()).hexdigest() for f in _frames(again / "clip.mp4")]
    assert digest == [hashlib.sha256(f.tobytes()).hexdigest()
                      for f in _frames(tiny_set / "clip.mp4")]
    other = tmp_path / "other"
    _tiny(other, public_domain_faces, eval_models_dir, seed=6)
    assert (other / "truth.json").read_bytes() != (tiny_set / "truth.json").read_bytes()
    # The gallery links the enrolment photo, never the walker's photo.
    assert [p.name for p in (tiny_set / "gallery" / "obama").iterdir()] == ["obama.jpg"]


def test_truth_matches_what_is_drawn(tiny_set: Path, eval_models_dir: Path) -> None:
    truth = msgspec.json.decode((tiny_set / "truth.json").read_bytes(), type=Truth)
    frames = _frames(tiny_set / "clip.mp4")
    assert len(frames) == truth.frames
    assert [(p.identity, p.listed) for p in truth.passes] in (
        [("obama", True), ("biden", False)], [("biden", False), ("obama", True)])
    detector = _detector(eval_models_dir)
    checked = 0
    for p in truth.passes:
        widths = [b[2] - b[0] for b in p.boxes]
        assert widths[0] == pytest.approx(FACE_PX[0], abs=3)
        assert max(widths) == pytest.approx(FACE_PX[1], abs=4)
        assert min(widths) >= FACE_PX[0] - 3
        for frame in range(p.first_frame, p.last_frame + 1, 6):
            box = p.box_at(frame)
            assert box is not None
            found = [f.box for f in detector.detect(frames[frame])]
            assert max(box_iou(box, f) for f in found) > 0.5, (p.identity, frame)
            checked += 1
    assert checked >= 10
    # No face in a frame where the truth has nobody (the tail after the last walk).
    last = max(p.last_frame for p in truth.passes)
    assert last < truth.frames - 1
    assert detector.detect(frames[-1]) == []


# --- the sweep ---------------------------------------------------------------------------


def _box(x: float) -> tuple[float, float, float, float]:
    return (x, 0.0, x + 10.0, 10.0)


def _pass(identity: str, listed: bool, first: int, last: int, x: float) -> Pass:
    return Pass(identity=identity, listed=listed, first_frame=first, last_frame=last,
                boxes=tuple(_box(x) for _ in range(first, last + 1)))


def test_sweep_follows_the_live_rule_on_hand_made_evidence() -> None:
    """A and B are listed walkers, X a non-listed one; C and D are listed but never walk.
    10 fps, repeat window 5 s."""
    truth = Truth(format=FORMAT, fps=10, width=640, height=360, frames=100, passes=(
        _pass("A", True, 0, 29, 0), _pass("X", False, 20, 49, 100),
        _pass("B", True, 40, 69, 200)))
    steps = [
        Step("c", 1, 5, _box(0), (("A", 0.90),), 0.05),
        Step("c", 1, 10, _box(0), (("A", 0.95), ("B", 0.50)), 0.05),
        Step("c", 2, 25, _box(100), (("C", 0.93),), 0.05),
        Step("c", 3, 45, _box(200), (("A", 0.96), ("B", 0.94)), 0.05),
        Step("c", 3, 50, _box(200), (("B", 0.97), ("A", 0.96)), 0.05),
        Step("c", 4, 65, _box(500), (("D", 0.94),), 0.05),  # a face on no pass
    ]
    sweep = Sweep(steps, truth, repeat_s=5.0)

    def counts(t: float) -> tuple[int, int, int, int, int]:
        r = sweep.at(t)
        return (r.listed_found, r.non_listed_alerting, r.wrong_identity, r.unattributed,
                r.false_alerts)

    assert counts(0.99) == (0, 0, 0, 0, 0)
    assert counts(0.97) == (1, 0, 0, 0, 0)
    # B's track raises A (nobody raised A before): a wrong identity, then B at its next step.
    assert counts(0.96) == (1, 0, 1, 0, 1)
    assert [a.identity for a in decide(steps, 0.96, 5.0, 10)] == ["A", "B"]
    # A's own track raises A at frame 10; B's track takes A again at frame 45, within the
    # repeat window: held back (and never raised again by that track), then B.
    assert counts(0.95) == (2, 0, 0, 0, 0)
    assert [a.identity for a in decide(steps, 0.95, 5.0, 10)] == ["A", "B"]
    assert counts(0.94) == (2, 0, 0, 1, 1)
    assert counts(0.93) == (2, 1, 0, 1, 2)
    best = sweep.best_at_zero_false()
    assert best is not None and best.threshold == 0.95 and best.listed_found == 2
    assert best.latency_p50_s == pytest.approx(1.05)  # 10 frames at 10 fps + 0.05 s
    assert sweep.zero_false_range(best) == (0.95, 0.95)
    # A listed pass raised at its first step: latency from its first frame.
    assert sweep.at(0.90).latency_max_s == pytest.approx(1.05)
    assert min(r.threshold for r in sweep.table([0.958])) <= 0.95


# --- end to end --------------------------------------------------------------------------


def _config(tmp: Path, models_dir: Path, threshold: float) -> Path:
    path = tmp / "config.toml"
    path.write_text(f"""
data_dir = "{tmp / 'var'}"
[engine]
type = "onnx"
models_dir = "{models_dir.resolve()}"
[store]
type = "sqlite"
[matching]
threshold = {threshold}
""")
    return path


def test_walkpast_end_to_end_finds_the_listed_walker(
    tiny_set: Path, eval_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    config = _config(tmp_path, eval_models_dir, 0.93)
    code = main(["eval", "walkpast", str(tiny_set / "clip.mp4"), str(tiny_set / "truth.json"),
                 str(tiny_set / "gallery"), "--config", str(config), "--out", str(out),
                 "--quiet"])
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((out / "walkpast_metrics.json").read_text())
    (live,) = metrics["results"]
    assert live["frames_analysed"] == metrics["frames"] and live["frames_dropped"] == 0
    assert live["enrolled_identities"] == 1
    at = live["at_configured"]
    assert (at["listed_found"], at["false_alerts"]) == (1, 0)
    # The replay of the recorded evidence raises what the live run raised.
    assert live["live_candidates"] == at["alerts"] == 1
    assert live["best_zero_false"]["listed_found"] == 1
    assert 0 < at["latency_p50_s"] < 2.5
    # The near-miss listing names passes by the truth's own photo paths and a score: no crop,
    # no template (evaluation data; the live pipeline keeps nothing of a non-match, R3).
    truth = json.loads((tiny_set / "truth.json").read_text())
    assert [(n["identity"], n["top_identity"]) for n in live["nearest"]] == [("biden", "obama")]
    for near in live["nearest"]:
        assert set(near) == {"index", "identity", "listed", "kind", "photo", "top_identity",
                             "peak", "false_alert"}
        assert near["photo"] == truth["passes"][near["index"]]["photo"]
        assert not near["false_alert"]  # 0 false alerts at the configured threshold
    # R3: aggregates and those scores only, nothing else written.
    assert sorted(p.name for p in out.iterdir()) == ["walkpast_metrics.json",
                                                      "walkpast_report.md"]
    assert "listed passes found at zero false alerts" in (out / "walkpast_report.md").read_text()
    assert not (tmp_path / "var").exists()  # the run's data dir was a temporary one


# --- hostile inputs ----------------------------------------------------------------------


def _walkpast(tiny: Path, truth: Path, gallery: Path, tmp: Path,
              capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["eval", "walkpast", str(tiny / "clip.mp4"), str(truth), str(gallery),
                 "--config", str(tmp / "missing.toml"), "--out", str(tmp / "out"), "--quiet"])
    err = capsys.readouterr().err
    return code, err


def test_truth_that_is_not_json_exits_2(
    tiny_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "truth.json"
    bad.write_bytes(b"\x89PNG not json {")
    code, err = _walkpast(tiny_set, bad, tiny_set / "gallery", tmp_path, capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err


def test_truth_with_a_pass_outside_the_clip_exits_2(
    tiny_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = json.loads((tiny_set / "truth.json").read_text())
    p = raw["passes"][0]
    p["first_frame"] += raw["frames"]
    p["last_frame"] += raw["frames"]
    bad = tmp_path / "truth.json"
    bad.write_text(json.dumps(raw))
    code, err = _walkpast(tiny_set, bad, tiny_set / "gallery", tmp_path, capsys)
    assert code == 2
    assert err.count("\n") == 1 and "outside the clip" in err


def test_gallery_missing_a_listed_identity_exits_2(
    tiny_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gallery = tmp_path / "gallery"
    (gallery / "somebody").mkdir(parents=True)
    (gallery / "somebody" / "x.jpg").write_bytes(b"not read")
    code, err = _walkpast(tiny_set, tiny_set / "truth.json", gallery, tmp_path, capsys)
    assert code == 2
    assert err.count("\n") == 1 and "'obama'" in err


def test_clip_that_is_not_a_video_exits_2(
    tiny_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not a video at all" * 100)
    code = main(["eval", "walkpast", str(clip), str(tiny_set / "truth.json"),
                 str(tiny_set / "gallery"), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "not a playable video" in err


# --- the development sets (need ../shared/data) ------------------------------------------


def test_lfw150_set_walks_listed_people_with_another_photo(shared_data: Path) -> None:
    root = shared_data / "lfw150"
    single = set((root / "identities_single.txt").read_text().split())
    devset = pick_lfw150(root, np.random.default_rng(2), passes=6, gallery_size=8)
    assert len(devset.gallery) == 8 and len(devset.walkers) == 6
    listed = [w for w in devset.walkers if w.listed]
    assert len(listed) == 3
    for w in listed:
        assert w.identity in devset.gallery and w.photos
        assert all(photo not in devset.gallery[w.identity] for photo, _ in w.photos)
        assert all(photo.parent.name == w.identity for photo, _ in w.photos)
    for w in devset.walkers:
        if not w.listed:
            assert all(kind.split(":")[1] in single for _, kind in w.photos)


def test_cfp_set_enrols_frontal_and_walks_others(shared_data: Path) -> None:
    devset = pick_cfp(shared_data / "cfp", np.random.default_rng(2), passes=6, gallery_size=8)
    assert all(p.parent.name == "frontal" for (p,) in devset.gallery.values())
    for w in devset.walkers:
        if w.listed:
            assert all(photo not in devset.gallery[w.identity] for photo, _ in w.photos)
            assert {kind for _, kind in w.photos} == {"frontal", "profile"}
        else:
            assert all(kind.split(":")[1] not in devset.gallery for _, kind in w.photos)


def test_sweep_raises_a_runner_up_only_once_it_is_the_best() -> None:
    """The live rule: a step raises its best entry only. A's track scores the look-alike C
    above the threshold too, just below A: no alert for C until C is best."""
    steps = [
        Step("c", 1, 5, _box(0), (("A", 0.95), ("C", 0.94)), 0.05),
        Step("c", 1, 6, _box(0), (("A", 0.96), ("C", 0.945)), 0.05),
        Step("c", 1, 7, _box(0), (("C", 0.97), ("A", 0.96)), 0.05),
    ]
    assert [a.identity for a in decide(steps, 0.94, 5.0, 10)] == ["A", "C"]
    assert [a.step.frame for a in decide(steps, 0.94, 5.0, 10)] == [5, 7]
    assert [a.identity for a in decide(steps[:2], 0.90, 5.0, 10)] == ["A"]


def test_listed_passes_split_by_walker_photo_kind() -> None:
    """Two listed frontal walkers (one found at 0.95), one listed profile walker (scored only
    below the threshold), one listed profile walker never scored as themselves, and a stranger:
    the split counts each listed pass once, by its photo kind; the stranger is in no row."""
    def walker(identity: str, listed: bool, kind: str, first: int, x: float) -> Pass:
        return Pass(identity=identity, listed=listed, first_frame=first, last_frame=first + 9,
                    kind=kind,  # type: ignore[arg-type]
                    boxes=tuple((x, 0.0, x + 10.0, 10.0) for _ in range(10)))

    truth = Truth(format=FORMAT, fps=10, width=640, height=360, frames=60, passes=(
        walker("A", True, "frontal", 0, 0), walker("B", True, "frontal", 10, 100),
        walker("C", True, "profile", 20, 200), walker("D", True, "profile", 30, 300),
        walker("stranger", False, "profile", 40, 400)))
    steps = [Step("c", 1, 2, (0, 0, 10, 10), (("A", 0.97),)),
             Step("c", 2, 12, (100, 0, 110, 10), (("B", 0.93), ("A", 0.90))),
             Step("c", 2, 14, (100, 0, 110, 10), (("B", 0.94),)),
             Step("c", 3, 22, (200, 0, 210, 10), (("X", 0.93), ("C", 0.91))),
             Step("c", 4, 32, (300, 0, 310, 10), (("X", 0.92),)),
             Step("c", 5, 42, (400, 0, 410, 10), (("A", 0.99),))]
    sweep = Sweep(steps, truth, 5.0)
    kinds = {k.kind: k for k in kind_groups(sweep, 0.95)}
    assert list(kinds) == ["frontal", "profile"]
    frontal, profile = kinds["frontal"], kinds["profile"]
    assert (frontal.passes, frontal.found, frontal.scored) == (2, 1, 2)
    assert (frontal.peak_worst, frontal.peak_median) == (0.94, pytest.approx(0.955))
    assert (profile.passes, profile.found, profile.scored) == (2, 0, 1)
    assert profile.peak_worst == profile.peak_median == 0.91
    assert sweep.found_passes(0.95) == frozenset({0})
    # At 0.90 both frontal walkers are found; C and D are raised as X (wrong identity).
    assert [(k.kind, k.found) for k in kind_groups(sweep, 0.90)] == [("frontal", 2),
                                                                      ("profile", 0)]
    assert kind_groups(sweep, None) == []
    unknown = Truth(format=FORMAT, fps=10, width=640, height=360, frames=60,
                    passes=tuple(msgspec.structs.replace(p, kind="unknown")
                                 for p in truth.passes))
    assert kind_groups(Sweep(steps, unknown, 5.0), 0.95) == []
