"""Benchmark the face engine against the ``face_recognition`` library on the same images.

    python bench/bench_engine.py [--out bench/results/engine.json] [--repeats N]

Measured, in one run, medians over repeats:

- per-face embedding cost: Pinchpoint's ``embed_sync`` on aligned chips, batch 1 and batch 8,
  as shipped (no mirrored chip: one inference per face) and with the mirrored-chip descriptor
  added (two inferences per face);
  against ``face_recognition.face_encodings`` given the face boxes (dlib's 5-point predictor,
  chip and ResNet: the library's whole embedding path);
- per-frame cost on 640×360 and 1280×720 frames holding several faces: ``detect_sync`` (detect,
  align, quality gate) + ``embed_sync`` of the usable faces, against ``face_locations`` (HOG,
  the library's default upsample 1, and upsample 0) + ``face_encodings``.

Frames are composed from the public-domain photos in ``demo/faces`` (faces cut
out and pasted at several sizes on a synthetic background), so the bench runs on any machine
with the model store built (``pinchpoint models build``) and the ``baseline`` extra installed.
Never run in CI (timings).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from adapters.engine.onnx import OnnxEngine  # noqa: E402
from evaluation.pipeline import make_engine, read_rgb  # noqa: E402
from kernel.frames import Image  # noqa: E402
from kernel.protocols.engine import Purpose  # noqa: E402

FACES = REPO / "demo" / "faces"
FRAMES = {
    "640x360": ((640, 360), (56, 80, 110)),
    "1280x720": ((1280, 720), (60, 84, 110, 150, 200)),
}
"""Frame size and the face widths (pixels) pasted into it."""


def _median_ms(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _face_cutouts(engine: OnnxEngine) -> list[tuple[Image, float]]:
    """Each demo photo's face with a margin, and the face's width inside the cut-out."""
    out = []
    for path in sorted(FACES.glob("*.jpg")):
        image = read_rgb(path)
        faces = engine.detect_sync(image, Purpose.ENROL)
        if not faces:
            continue
        x1, y1, x2, y2 = max(faces, key=lambda f: f.box[2] - f.box[0]).box
        w, h = x2 - x1, y2 - y1
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        half = 0.9 * max(w, h)
        box = [int(max(0, cx - half)), int(max(0, cy - half)),
               int(min(image.shape[1], cx + half)), int(min(image.shape[0], cy + half))]
        crop = np.ascontiguousarray(image[box[1]:box[3], box[0]:box[2]])
        out.append((crop, float(w)))
    if not out:
        raise SystemExit(f"no faces found in {FACES}")
    return out


def compose_frame(size: tuple[int, int], widths: tuple[int, ...],
                  cutouts: list[tuple[Image, float]], seed: int = 0) -> Image:
    """A synthetic street-ish background with faces of the given widths pasted side by side."""
    fw, fh = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:fh, 0:fw]
    base = np.stack([80 + 60 * xx / fw, 90 + 40 * yy / fh, 100 + 30 * (xx + yy) / (fw + fh)], -1)
    frame = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    slot = fw // len(widths)
    for i, width in enumerate(widths):
        crop, face_w = cutouts[i % len(cutouts)]
        scale = width / face_w
        new = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)),
                                max(1, round(crop.shape[0] * scale))),
                         interpolation=cv2.INTER_AREA)
        new = new[: fh, : slot]
        x = i * slot + (slot - new.shape[1]) // 2
        y = (fh - new.shape[0]) // 2
        frame[y:y + new.shape[0], x:x + new.shape[1]] = new
    return np.ascontiguousarray(frame)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "engine.json")
    parser.add_argument("--models-dir", type=Path, default=REPO / "var" / "models")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    repeats: int = args.repeats

    import face_recognition  # the baseline: a bench-only extra

    engine = make_engine(args.models_dir)
    mirrored = make_engine(args.models_dir, mirror=True)
    cutouts = _face_cutouts(engine)
    rows: list[dict[str, Any]] = []

    def row(what: str, ours: float, base: float, note: str = "") -> None:
        rows.append({"what": what, "pinchpoint_ms": round(ours, 2),
                     "face_recognition_ms": round(base, 2),
                     "ratio": round(base / ours, 1) if ours > 0 else None, "note": note})

    # -- per-face embedding: the same faces, from the 1280×720 frame -----------------------
    size, widths = FRAMES["1280x720"]
    frame = compose_frame(size, widths, cutouts)
    faces = engine.detect_sync(frame, Purpose.ENROL)  # chips cut in full
    chips = [f.chip for f in faces]
    boxes = [(int(f.box[1]), int(f.box[2]), int(f.box[3]), int(f.box[0])) for f in faces]
    n = len(chips)
    chips8 = (chips * 8)[:8]
    boxes8 = (boxes * 8)[:8]
    base1 = _median_ms(lambda: face_recognition.face_encodings(frame, boxes[:1]), repeats)
    reps8 = max(3, repeats // 3)
    base8 = _median_ms(lambda: face_recognition.face_encodings(frame, boxes8), reps8) / 8
    shipped = f"mirror {'on' if engine.config.embedder.mirror else 'off'} (shipped)"
    for eng, label in ((engine, shipped), (mirrored, "mirror on")):
        ours1 = _median_ms(functools.partial(eng.embed_sync, chips[:1]), repeats)
        ours8 = _median_ms(functools.partial(eng.embed_sync, chips8), repeats) / 8
        row(f"embedding per face, batch 1, {label}", ours1, base1)
        row(f"embedding per face, batch 8, {label}", ours8, base8)

    # -- per-frame: detect + align + quality + embed vs face_locations + face_encodings ----
    frame_faces: dict[str, int] = {}
    for name, (size, widths) in FRAMES.items():
        frame = compose_frame(size, widths, cutouts)

        def ours(f: Image = frame) -> int:
            found = engine.detect_sync(f, Purpose.LIVE)
            engine.embed_faces_sync([(f, d) for d in found if d.quality.passed])
            return len(found)

        def baseline(f: Image = frame, up: int = 1) -> int:
            locs = face_recognition.face_locations(f, number_of_times_to_upsample=up)
            face_recognition.face_encodings(f, locs)
            return len(locs)

        found_ours = ours()
        found_base = {up: baseline(up=up) for up in (1, 0)}
        frame_faces[name] = len(widths)
        ours_ms = _median_ms(ours, repeats)
        for up in (1, 0):
            reps = max(3, repeats // 3)
            base_ms = _median_ms(functools.partial(baseline, frame, up), reps)
            row(f"frame {name}, {len(widths)} faces, HOG upsample {up}", ours_ms, base_ms,
                f"faces found: ours {found_ours}, face_recognition {found_base[up]}")

    machine: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
    }
    result: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "engine": {"threads": engine.config.threads, "faces_in_embedding_frame": n},
        "rows": rows,
    }
    emb = engine.config.embedder
    lines = [
        f"Engine: {engine.config.alignment.method} alignment, mirror "
        f"{'on' if emb.mirror else 'off'}, onnxruntime threads {engine.config.threads}; "
        "baseline: the `face_recognition` library (dlib HOG + dlib ResNet) on the same images.",
        "",
        "| measurement | Pinchpoint ms | face_recognition ms | speed-up | note |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['what']} | {r['pinchpoint_ms']:.2f} | "
                     f"{r['face_recognition_ms']:.2f} | {r['ratio']}× | {r['note']} |")
    result["markdown"] = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    m = machine
    print(f"Engine bench — {result['date']} — {m['nproc']} × {m['cpu']}, "
          f"Python {m['python']}\n")
    print(result["markdown"])
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
