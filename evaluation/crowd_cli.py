"""``pinchpoint eval crowd`` (registered by :mod:`evaluation.cli`). Errors in the inputs are
one line and exit code 2."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from kernel.cli.common import add_config_option, load_config


def _cmd_crowd(args: argparse.Namespace) -> int:
    from evaluation import crowd, crowd_report
    from evaluation.walkpast_cli import play
    from evaluation.walkpast_truth import gallery_photos

    truth = crowd.crowd_truth(args.clip)
    photos = gallery_photos(args.gallery)
    base = load_config(args)
    results = play(args, truth, photos, base)
    if results is None:
        return 2
    rep = crowd.report(args.clip, args.gallery, str(base.source or ""), truth, results)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "crowd_metrics.json").write_bytes(msgspec.json.format(msgspec.json.encode(rep)))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    (out / "crowd_report.md").write_text(crowd_report.markdown(rep, stamp), encoding="utf-8")
    print("\n".join(crowd_report.summary_lines(rep)))
    print(f"\nreport: {out / 'crowd_report.md'}")
    return 0


def register(actions: Any) -> None:
    """Add ``crowd`` to ``pinchpoint eval``."""
    c = actions.add_parser("crowd",
                           help="play a clip of people on no list through the live pipeline; "
                           "count the false alerts at every threshold")
    c.add_argument("clip", type=Path, metavar="CLIP")
    c.add_argument("gallery", type=Path, metavar="GALLERY_DIR",
                   help="the watch list: <identity>/<photos> (nobody in the clip may be on it)")
    add_config_option(c)
    c.add_argument("--baseline", action="store_true",
                   help="also run the face_recognition library on the same frames")
    c.add_argument("--out", type=Path, default=Path("var/eval/crowd"), metavar="DIR")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(handler=_cmd_crowd)
