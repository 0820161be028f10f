"""``pinchpoint eval lfw|watchlist|split-lfw|split-cfp``: accuracy and calibration of the
face engine; ``make-walkpast`` and ``walkpast``: :mod:`evaluation.walkpast_cli`; ``crowd``
(false alerts on a clip of people on no list): :mod:`evaluation.crowd_cli`.

Writes only aggregate figures, curves and a Markdown report into ``--out``; templates are
kept in memory for the run (R3). The ``face_recognition`` baseline (``--baseline``) needs the
``baseline`` extra (dlib); it is never needed at run time.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from adapters.engine.onnx import OnnxEngine
from evaluation import crowd_cli, lfw, plots, report, walkpast_cli, watchlist
from evaluation.configured import ConfiguredEngine, configured_engine
from evaluation.pipeline import (
    EnginePipeline,
    EngineVariants,
    Pipeline,
)
from kernel.cli.common import DATA_HELP, add_config_option, data_root, load_config

ALIGNMENTS = ("template5", "eyes_mouth", "dlib5")


@contextmanager
def _progress(total: int, label: str, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda _n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _configured(args: argparse.Namespace) -> tuple[OnnxEngine, ConfiguredEngine]:
    """The engine of ``--config`` (what ``pinchpoint run`` builds) with the named overrides."""
    config = load_config(args)
    return configured_engine(
        config, args.config_path, alignment=args.alignment, mirror=args.mirror,
        assignments=args.engine_set or (), models_dir=args.models_dir,
    )


def _pipelines(args: argparse.Namespace) -> tuple[list[Pipeline], ConfiguredEngine]:
    engine, configured = _configured(args)
    out: list[Pipeline]
    if getattr(args, "all_variants", False):
        # One detection per image shared by every alignment × mirror setting.
        out = EngineVariants(Path(configured.models_dir), ALIGNMENTS).pipelines()
    else:
        out = [EnginePipeline(engine)]
    if args.baseline:
        from evaluation.baseline import (
            FaceRecognitionPipeline,
            face_recognition_available,
        )

        if not face_recognition_available():
            print("--baseline: the face_recognition library is not installed "
                  "(scripts/setup.sh test)", file=sys.stderr)
            raise SystemExit(2)
        out.append(FaceRecognitionPipeline())
    return out, configured


def _write_json(path: Path, value: Any) -> None:
    path.write_bytes(msgspec.json.format(msgspec.json.encode(value)))


def _cmd_lfw(args: argparse.Namespace) -> int:
    data: Path = args.data
    pairs_file: Path = args.pairs or data / "pairs.txt"
    if not pairs_file.is_file():
        print(f"error: pairs file {pairs_file} not found (use --pairs / --data)", file=sys.stderr)
        return 2
    pairs = lfw.limit_pairs(lfw.read_pairs(pairs_file), args.limit_folds, args.limit_pairs)
    pipelines, configured = _pipelines(args)
    images = len({p.left for p in pairs} | {p.right for p in pairs})
    with _progress(images, "LFW images", not args.quiet) as advance:
        results = lfw.evaluate(pairs, data, pipelines, advance)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    plots.roc_png(results, out / "roc.png")
    _write_json(out / "lfw_metrics.json", {"engine": configured, "results": results})
    text = report.lfw_markdown(results, pairs_file=str(pairs_file), roc_png="roc.png",
                               configured=configured)
    (out / "lfw_report.md").write_text(text, encoding="utf-8")
    print(text.split("How faces were found")[0].rstrip())
    print(f"\nreport: {out / 'lfw_report.md'}")
    return 0


def _limited(items: Sequence[watchlist.Item], limit: int | None) -> list[watchlist.Item]:
    return list(items[:limit]) if limit else list(items)


def _cmd_watchlist(args: argparse.Namespace) -> int:
    gallery = _limited(watchlist.list_folder(args.gallery), args.limit)
    probes = _limited(watchlist.list_folder(args.probes), args.limit)
    impostors = _limited(watchlist.list_folder(args.impostors), args.limit)
    if not gallery:
        print(f"error: no images in {args.gallery}", file=sys.stderr)
        return 2
    if any(item.identity is None for item in [*gallery, *probes]):
        print("error: gallery and probes must be <identity>/<images> folders", file=sys.stderr)
        return 2
    pipelines, configured = _pipelines(args)
    total = len(gallery) + len(probes) + len(impostors)
    with _progress(total, "watch-list images", not args.quiet) as advance:
        results = watchlist.evaluate(
            gallery, probes, impostors, pipelines,
            target_fpir=args.target_fpir, by_group=args.by_group,
            calibrate_on=args.calibrate_on, configured_threshold=configured.threshold,
            advance=advance,
        )
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    plots.det_png(results, out / "det.png")
    _write_json(out / "watchlist_metrics.json", {"engine": configured, "results": results})
    folders = {"gallery": str(args.gallery), "probes": str(args.probes),
               "impostors": str(args.impostors)}
    text = report.watchlist_markdown(results, folders=folders, det_png="det.png",
                                     configured=configured)
    (out / "watchlist_report.md").write_text(text, encoding="utf-8")
    print(text.split("## Operating points")[0].rstrip())
    print(f"\nreport: {out / 'watchlist_report.md'}")
    return 0


def _cmd_split(args: argparse.Namespace) -> int:
    data: Path = args.data
    utk = None if args.no_utkface else data / "utkface-adults" / "images"
    manifest = watchlist.build_lfw_split(
        data / "lfw150", args.out, utk_dir=utk if utk is not None and utk.is_dir() else None,
        min_identities=args.min_identities, max_identities=args.max_identities,
        half=args.half, seed=args.seed, max_probes=args.max_probes,
    )
    print(f"split in {args.out} (symlinks): {manifest.gallery_identities} gallery identities, "
          f"{manifest.probe_images} probes, {manifest.impostor_images} impostors")
    print(f"next: pinchpoint eval watchlist {args.out}/gallery {args.out}/probes "
          f"{args.out}/impostors --by-group")
    return 0


def _cmd_split_cfp(args: argparse.Namespace) -> int:
    cfp_dir: Path = args.data / "cfp"
    if not (cfp_dir / "Data" / "Images").is_dir():
        print(f"error: no CFP images under {cfp_dir}/Data/Images (use --data)", file=sys.stderr)
        return 2
    try:
        manifest = watchlist.build_cfp_split(
            cfp_dir, args.out, half=args.half, seed=args.seed, listed=args.listed,
        )
    except (ValueError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"CFP {manifest.half} half (seed {manifest.seed}) in {args.out} (symlinks): "
          f"{manifest.gallery_images} listed people, {manifest.probe_images} probes, "
          f"{manifest.impostor_images} photos of {len(manifest.others)} others")
    print(f"next: pinchpoint eval watchlist {args.out}/gallery {args.out}/probes "
          f"{args.out}/impostors")
    return 0


def _engine_options(parser: argparse.ArgumentParser) -> None:
    """The engine under test is the config's (``--config``, as ``pinchpoint run`` reads it);
    every option below overrides it and is named in the report."""
    add_config_option(parser)
    parser.add_argument("--models-dir", type=Path, default=None, metavar="DIR",
                        help="model store (default: the config's engine.models_dir)")
    parser.add_argument("--alignment", choices=ALIGNMENTS, default=None,
                        help="override engine.alignment.method (default: the config's)")
    parser.add_argument("--mirror", action=argparse.BooleanOptionalAction, default=None,
                        help="override engine.embedder.mirror: add the mirrored chip's "
                        "descriptor, or not (default: the config's)")
    parser.add_argument("--engine-set", action="append", metavar="KEY=VALUE",
                        help="override any engine setting, e.g. "
                        "quality.enrol.min_face_px=40 (repeatable; named in the report)")
    parser.add_argument("--baseline", action="store_true",
                        help="also run the face_recognition library (dlib HOG + ResNet)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def register(subparsers: Any) -> None:
    """Add ``eval lfw``, ``eval watchlist`` and ``eval split-lfw`` to ``pinchpoint``."""
    data = data_root()
    ev = subparsers.add_parser("eval", help="measure accuracy; calibrate the match threshold")
    actions = ev.add_subparsers(dest="eval_command", metavar="ACTION", required=True)

    p = actions.add_parser("lfw", help="LFW View-2 verification (10-fold accuracy, TAR@FAR)")
    p.add_argument("--data", type=Path, default=data / "lfw150", metavar="DIR",
                   help=f"LFW folder holding by_identity/ (default: lfw150/ in {DATA_HELP})")
    p.add_argument("--pairs", type=Path, default=None, metavar="PATH",
                   help="pairs.txt or pairs_available.tsv (default: DATA/pairs.txt)")
    p.add_argument("--out", type=Path, default=Path("var/eval/lfw"), metavar="DIR")
    p.add_argument("--limit-folds", type=int, default=None, metavar="N")
    p.add_argument("--limit-pairs", type=int, default=None, metavar="N",
                   help="at most N pairs per fold (half same, half different)")
    p.add_argument("--all-variants", action="store_true",
                   help="run template5/eyes_mouth/dlib5 × mirror on/off side by side")
    _engine_options(p)
    p.set_defaults(handler=_cmd_lfw)

    w = actions.add_parser("watchlist", help="open-set identification; threshold for an FPIR")
    w.add_argument("gallery", type=Path, metavar="GALLERY_DIR")
    w.add_argument("probes", type=Path, metavar="PROBES_DIR")
    w.add_argument("impostors", type=Path, metavar="IMPOSTORS_DIR")
    w.add_argument("--out", type=Path, default=Path("var/eval/watchlist"), metavar="DIR")
    w.add_argument("--target-fpir", type=float, default=0.001, metavar="RATE")
    w.add_argument("--by-group", action="store_true",
                   help="FPIR per gender and ethnicity (UTKFace file names)")
    w.add_argument("--calibrate-on", choices=("all", "UTKFace", "other"), default="all",
                   help="impostors the threshold is fitted on: all, UTKFace-named files, or "
                   "the others (UTKFace shares celebrities with LFW: use 'other' on the LFW "
                   "split)")
    w.add_argument("--limit", type=int, default=None, metavar="N",
                   help="at most N images from each folder (quick runs)")
    _engine_options(w)
    w.set_defaults(handler=_cmd_watchlist)

    s = actions.add_parser("split-lfw", help="build the LFW watch-list split (symlinks)")
    s.add_argument("--data", type=Path, default=data, metavar="DIR",
                   help=f"folder holding lfw150/ and utkface-adults/ (default: {DATA_HELP})")
    s.add_argument("--out", type=Path, required=True, metavar="DIR")
    s.add_argument("--min-identities", type=int, default=500, metavar="N")
    s.add_argument("--max-identities", type=int, default=None, metavar="N")
    s.add_argument("--no-utkface", action="store_true",
                   help="impostors from one-image LFW identities only")
    s.add_argument("--half", choices=watchlist.CFP_HALVES, default=None,
                   help="keep one of two disjoint halves of the people (dev: choose settings; "
                   "test: report them); default: everyone")
    s.add_argument("--seed", type=int, default=0, metavar="N")
    s.add_argument("--max-probes", type=int, default=None, metavar="N",
                   help="at most N probes per person (default: all)")
    s.set_defaults(handler=_cmd_split)

    c = actions.add_parser("split-cfp", help="build an open-set CFP watch-list split (symlinks)")
    c.add_argument("--data", type=Path, default=data, metavar="DIR",
                   help=f"folder holding cfp/ (default: {DATA_HELP})")
    c.add_argument("--out", type=Path, required=True, metavar="DIR")
    c.add_argument("--half", choices=(*watchlist.CFP_HALVES, "all"), default="test",
                   help="dev: choose settings on it; test: report on it (disjoint people); "
                   "all: everyone (threshold calibration)")
    c.add_argument("--seed", type=int, default=0, metavar="N")
    c.add_argument("--listed", type=int, default=100, metavar="N",
                   help="people of the half on the watch list (the rest are non-listed)")
    c.set_defaults(handler=_cmd_split_cfp)

    walkpast_cli.register(actions, data)
    crowd_cli.register(actions)
