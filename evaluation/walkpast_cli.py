"""``pinchpoint eval make-walkpast`` and ``pinchpoint eval walkpast`` (registered by
:mod:`evaluation.cli`). Errors in the inputs are one line and exit code 2."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np

from kernel.cli.common import DATA_HELP, add_config_option, load_config
from kernel.config import Config

if TYPE_CHECKING:
    from evaluation.walkpast import PipelineResult
    from evaluation.walkpast_truth import Truth

DEFAULT_MODELS_DIR = Path("var/models")


def _progress(
    total: int, label: str, enabled: bool
) -> AbstractContextManager[Callable[[int], None]]:
    # evaluation.cli imports this module: its progress bar is fetched when a command runs.
    from evaluation.cli import _progress as bar

    return bar(total, label, enabled)


def _cmd_make(args: argparse.Namespace) -> int:
    from adapters.engine.centerface import CenterFace
    from adapters.engine.onnx import resolve_model
    from evaluation.walkpast_clips import UTK_FOLDER, make_walkpast, pick

    data: Path = args.data
    root = data / (UTK_FOLDER if args.source == "utkface" else args.source)
    if not root.is_dir():
        print(f"error: data set {root} not found (use --data)", file=sys.stderr)
        return 2
    if args.passes < 2:
        print("error: --passes must be at least 2", file=sys.stderr)
        return 2
    out: Path = args.out or Path(f"var/eval/walkpast-{args.source}")
    # Only the detector places the faces: the clip does not depend on the engine's alignment
    # or embedder (or on whether their models are built).
    models_dir: Path = args.models_dir
    detector = CenterFace(resolve_model(models_dir.resolve(), "centerface.onnx", None)[0])

    def detect(image: np.ndarray) -> list[tuple[float, float, float, float]]:
        return [f.box for f in detector.detect(image)]

    rng = np.random.default_rng(args.seed)
    devset = pick(args.source, root, rng, args.passes, args.gallery_size, seed=args.seed)
    # Frames are not known before the walkers are chosen: the bar counts up to an estimate.
    estimate = int((args.passes * 0.625 * args.walk_s + args.walk_s) * args.fps)
    with _progress(estimate, "walk-past frames", not args.quiet) as advance:
        truth = make_walkpast(
            devset, out, detect, rng=rng, source=args.source, seed=args.seed, fps=args.fps,
            width=args.width, height=args.height, face_px=(args.face_px[0], args.face_px[1]),
            walk_s=args.walk_s, progress=advance)
    listed = sum(1 for p in truth.passes if p.listed)
    print(f"{out}/clip.mp4: {truth.frames} frames, {len(truth.passes)} passes ({listed} listed),"
          f" two in view {100 * truth.two_in_view:.0f} % of the time; gallery of "
          f"{len(truth.listed)} identities in {out}/gallery (symlinks)")
    print(f"next: pinchpoint eval walkpast {out}/clip.mp4 {out}/truth.json {out}/gallery "
          f"--baseline --out {out}/report")
    return 0


def play(args: argparse.Namespace, truth: Truth, photos: dict[str, list[Path]],
         base: Config) -> list[PipelineResult] | None:
    """``args.clip`` through the live pipeline, then (``args.baseline``) the library on the
    same frames; None, having said why on stderr, when the library is wanted but missing."""
    from evaluation import walkpast

    if args.baseline:
        from evaluation.baseline import face_recognition_available

        if not face_recognition_available():
            print("error: --baseline: the face_recognition library is not installed "
                  "(scripts/setup.sh test)", file=sys.stderr)
            return None
    results = []
    with _progress(truth.frames, "live pipeline", not args.quiet) as advance:
        results.append(asyncio.run(walkpast.run_live(args.clip, truth, photos, base, advance)))
    if args.baseline:
        with _progress(truth.frames, "face_recognition", not args.quiet) as advance:
            results.append(walkpast.run_baseline(args.clip, truth, photos,
                                                 base.matching.tracker, advance))
    return results


def _cmd_walkpast(args: argparse.Namespace) -> int:
    from evaluation import walkpast, walkpast_report
    from evaluation.walkpast_truth import load_truth

    truth = load_truth(args.truth)
    photos = walkpast.check_inputs(args.clip, truth, args.gallery)
    base = load_config(args)
    results = play(args, truth, photos, base)
    if results is None:
        return 2
    rep = walkpast.report(args.clip, args.truth, args.gallery, truth, base, results)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "walkpast_metrics.json").write_bytes(msgspec.json.format(msgspec.json.encode(rep)))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    (out / "walkpast_report.md").write_text(walkpast_report.markdown(rep, stamp),
                                            encoding="utf-8")
    print("\n".join(walkpast_report.summary_lines(rep)))
    print(f"\nreport: {out / 'walkpast_report.md'}")
    return 0


def _face_px(text: str) -> float:
    value = float(text)
    if not 8 <= value <= 1000:
        raise argparse.ArgumentTypeError("face sizes are 8–1000 px")
    return value


def register(actions: Any, default_data: Path) -> None:
    """Add ``make-walkpast`` and ``walkpast`` to ``pinchpoint eval``."""
    m = actions.add_parser("make-walkpast",
                           help="make a seeded development walk-past clip, truth and gallery")
    m.add_argument("--source", choices=("lfw150", "cfp", "utkface"), required=True,
                   help="utkface: every walker a UTKFace adult on no list (false alerts per "
                   "group), the list 100 LFW people; an even --seed draws from one half of "
                   "UTKFace, an odd one from the other")
    m.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output folder (default: var/eval/walkpast-SOURCE)")
    m.add_argument("--seed", type=int, default=1, metavar="N")
    m.add_argument("--data", type=Path, default=default_data, metavar="DIR",
                   help=f"folder holding lfw150/ and cfp/ (default: {DATA_HELP})")
    m.add_argument("--passes", type=int, default=24, metavar="N",
                   help="walks past the camera, half by listed people (default 24)")
    m.add_argument("--gallery-size", type=int, default=100, metavar="N",
                   help="identities on the watch list, walkers or not (default 100)")
    m.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR, metavar="DIR",
                   help="models whose detector places the faces (default: var/models)")
    m.add_argument("--fps", type=int, default=15)
    m.add_argument("--width", type=int, default=1280)
    m.add_argument("--height", type=int, default=720)
    m.add_argument("--face-px", type=_face_px, nargs=2, default=[40.0, 150.0],
                   metavar=("FROM", "TO"), help="face width at the start and end of a walk")
    m.add_argument("--walk-s", type=float, default=4.0, metavar="SECONDS")
    m.add_argument("--quiet", action="store_true", help="no progress bar")
    m.set_defaults(handler=_cmd_make)

    w = actions.add_parser("walkpast",
                           help="play a walk-past clip through the live pipeline; sweep "
                           "thresholds over its tracks")
    w.add_argument("clip", type=Path, metavar="CLIP")
    w.add_argument("truth", type=Path, metavar="TRUTH.json")
    w.add_argument("gallery", type=Path, metavar="GALLERY_DIR")
    add_config_option(w)
    w.add_argument("--baseline", action="store_true",
                   help="also run the face_recognition library on the same frames")
    w.add_argument("--out", type=Path, default=Path("var/eval/walkpast"), metavar="DIR")
    w.add_argument("--quiet", action="store_true", help="no progress bar")
    w.set_defaults(handler=_cmd_walkpast)
