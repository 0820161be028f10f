"""Measure what each enrolment gate costs: the source of ``adapters.engine.enrolment.COSTS``.

    python bench/measure_enrol_gates.py extract lfw150 [--models var/models]
    python bench/measure_enrol_gates.py extract cfp
    python bench/measure_enrol_gates.py report [--out bench/results/enrol_gates.json]

Open-set watch lists on ``../shared/data`` with **no enrolment gate at all** (every photo with
a face is enrolled, found directly or after the padded retry), then, for each soft gate
(size, blur, pose, detector score) and a band of its measurement, the TPIR at FPIR ≤ 0.1 %
of the mated probes whose *enrolment photo* lies in the band, beside the TPIR of the rest.
Refusing a photo in the band makes its person's TPIR 0; accepting it makes it the band's
TPIR. The "saves" side is the false alerts the band's templates attract: the share of
non-listed faces over the threshold whose best match is an entry of the band.

Sets (these are used for nothing else in this change, nothing is tuned on them except the
gate defaults this measures):

- ``lfw150``: the people of ``identities_ge2.txt`` listed with their first photo, probed with
  up to 3 others; the one-image people (``identities_single.txt``) are the non-listed faces.
- ``cfp``: people 001–300 listed with ``frontal/01.jpg``, probed with ``frontal/02–04`` and
  ``profile/01–02``; people 301–500 (``frontal/01–05``, ``profile/01–02``) are non-listed.

Besides the natural bands (few LFW faces are small), a synthetic pass re-enrols every listed
person with the enrolment photo scaled down so the face is 25, 40 or 60 px wide, or blurred, and
measures TPIR with those galleries: the direct cost of a small or blurred enrolment photo.

``extract`` caches measurements and templates under ``var/enrol_gates/`` (never committed);
``report`` prints the tables and writes them as JSON.
"""

from __future__ import annotations

import argparse
import io
import logging
import math
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import msgspec
import numpy as np
import numpy.typing as npt
from PIL import Image as PILImage

from adapters.engine.enrolment import find_subject
from adapters.engine.onnx import OnnxEngine, OnnxEngineConfig
from adapters.engine.quality import check_upload
from kernel.clock import SystemClock
from kernel.executor import BoundedExecutor
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.engine import Purpose

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CACHE = REPO / "var" / "enrol_gates"
SIZES = (25.0, 40.0, 60.0)
BLURS = (0.01, 0.015, 0.02)
"""Gaussian σ as a fraction of the face width. Measured median sharpness: 0.01 → 0.044
(LFW) / 0.065 (CFP), 0.015 → 0.026 / 0.030 (inside the 0.02–0.035 band), 0.02 → 0.016 /
0.017 (under it)."""


class Measured(msgspec.Struct):
    """One enrolment photo (``variant`` "" = as it is), measured with no gate."""

    person: str
    variant: str
    found: str  # "direct", "padded", or "none"
    face_px: float = 0.0
    sharpness: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0
    score: float = 0.0
    template: list[float] = []


class Probe(msgspec.Struct):
    person: str  # "" for a non-listed face
    template: list[float] = []  # empty: no usable face (a miss)


class Extracted(msgspec.Struct):
    enrol: list[Measured]
    probes: list[Probe]
    nonlisted: list[Probe]


def make_engine(models: Path) -> OnnxEngine:
    # Every gate off (thresholds at their loosest): the gates are what is measured.
    cfg = OnnxEngineConfig(models_dir=str(models.resolve()))
    ctx = AdapterContext(name="engine", data_dir=models.resolve().parent,
                         executor=BoundedExecutor(1, 1), clock=SystemClock(),
                         log=logging.getLogger("measure"))
    return OnnxEngine(cfg, ctx)


def encode(image: npt.NDArray[np.uint8]) -> bytes:
    buf = io.BytesIO()
    PILImage.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def measure(engine: OnnxEngine, data: bytes, person: str, variant: str) -> Measured:
    image = check_upload(data, 10**9, 10**9)
    if not isinstance(image, np.ndarray):
        return Measured(person, variant, "none")
    subject = find_subject(engine, image)
    if subject.face is None:
        return Measured(person, variant, "none")
    q = subject.face.quality
    emb = engine.embed_sync([subject.face.chip])[0]
    return Measured(person, variant, str(subject.found), q.face_px, q.sharpness, q.yaw, q.pitch,
                    q.score, [float(v) for v in emb])


def probe(engine: OnnxEngine, path: Path, person: str) -> Probe:
    with PILImage.open(path) as img:
        image = np.ascontiguousarray(np.asarray(img.convert("RGB")))
    faces = engine.detect_sync(image, Purpose.LIVE)
    if not faces:
        return Probe(person)
    face = max(faces, key=lambda f: f.box[2] - f.box[0])
    if not face.quality.passed:
        return Probe(person)
    return Probe(person, [float(v) for v in engine.embed_faces_sync([(image, face)])[0]])


def variants(engine: OnnxEngine, data: bytes, person: str, face_px: float
             ) -> Iterator[Measured]:
    image = check_upload(data, 10**9, 10**9)
    assert isinstance(image, np.ndarray)
    for size in SIZES:
        if face_px > size * 1.2:
            f = size / face_px
            small = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
            yield measure(engine, encode(small), person, f"px{int(size)}")
    for frac in BLURS:
        sigma = frac * face_px
        blurred = cv2.GaussianBlur(image, (0, 0), sigma)
        yield measure(engine, encode(blurred), person, f"blur{frac}")


def plan(name: str) -> tuple[list[tuple[str, Path]], list[tuple[str, Path]], list[Path]]:
    if name == "lfw150":
        root = DATA / "lfw150" / "by_identity"
        listed = [line.split("\t")[0] for line in
                  (DATA / "lfw150" / "identities_ge2.txt").read_text().splitlines() if line]
        single = [line.split("\t")[0] for line in
                  (DATA / "lfw150" / "identities_single.txt").read_text().splitlines() if line]
        enrol, probes = [], []
        for who in listed:
            files = sorted((root / who).glob("*.jpg"))
            enrol.append((who, files[0]))
            probes += [(who, f) for f in files[1:4]]
        others = [f for who in single for f in sorted((root / who).glob("*.jpg"))]
        return enrol, probes, others
    root = DATA / "cfp" / "Data" / "Images"
    enrol, probes, others = [], [], []
    for n in range(1, 501):
        d = root / f"{n:03d}"
        if n <= 300:
            enrol.append((f"{n:03d}", d / "frontal" / "01.jpg"))
            probes += [(f"{n:03d}", d / "frontal" / f"{k:02d}.jpg") for k in (2, 3, 4)]
            probes += [(f"{n:03d}", d / "profile" / f"{k:02d}.jpg") for k in (1, 2)]
        else:
            others += [d / "frontal" / f"{k:02d}.jpg" for k in range(1, 6)]
            others += [d / "profile" / f"{k:02d}.jpg" for k in (1, 2)]
    return enrol, probes, others


def extract(name: str, models: Path) -> None:
    engine = make_engine(models)
    enrol_plan, probe_plan, other_plan = plan(name)
    t0 = time.perf_counter()
    enrol: list[Measured] = []
    for i, (who, path) in enumerate(enrol_plan):
        data = path.read_bytes()
        m = measure(engine, data, who, "")
        enrol.append(m)
        if m.found != "none":
            enrol += list(variants(engine, data, who, m.face_px))
        if i % 200 == 0:
            print(f"{name} enrol {i}/{len(enrol_plan)} {time.perf_counter() - t0:.0f}s",
                  flush=True)
    probes = [probe(engine, p, who) for who, p in probe_plan]
    print(f"{name} probes done {time.perf_counter() - t0:.0f}s", flush=True)
    others = [probe(engine, p, "") for p in other_plan]
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / f"{name}.json").write_bytes(msgspec.json.encode(Extracted(enrol, probes, others)))
    print(f"{name} done in {time.perf_counter() - t0:.0f}s", flush=True)


# -- analysis -------------------------------------------------------------------------------
Gallery = dict[str, npt.NDArray[np.float32]]


def threshold_at(nonlisted: npt.NDArray[np.float32], gallery: Gallery, fpir: float) -> float:
    """The lowest threshold at which at most ``fpir`` of the non-listed faces alert."""
    g = np.stack(list(gallery.values()))
    best = np.sort((nonlisted @ g.T).max(axis=1))[::-1]
    k = math.floor(fpir * len(best))  # this many may alert
    return float(best[k]) + 1e-6


def hits(probes: list[Probe], gallery: Gallery, threshold: float) -> dict[str, list[bool]]:
    """Per listed person: for each of their probes, found (rank 1 and over threshold)?"""
    names = list(gallery)
    g = np.stack([gallery[n] for n in names])
    out: dict[str, list[bool]] = {}
    for p in probes:
        ok = False
        if p.template and p.person in gallery:
            s = g @ np.asarray(p.template, np.float32)
            top = int(np.argmax(s))
            ok = bool(names[top] == p.person and s[top] >= threshold)
        out.setdefault(p.person, []).append(ok)
    return out


def alerts_by(nonlisted: npt.NDArray[np.float32], gallery: Gallery, threshold: float
              ) -> list[str]:
    names = list(gallery)
    s = nonlisted @ np.stack([gallery[n] for n in names]).T
    top = s.argmax(axis=1)
    return [names[int(t)] for t, v in zip(top, s.max(axis=1), strict=True) if v >= threshold]


BANDS: dict[str, list[tuple[str, float, float]]] = {
    # gate: (band name, low, high) on |measurement| (face_px, sharpness, |yaw|, |pitch|, score)
    "face_px": [("< 40 px", 0, 40), ("40–60 px", 40, 60), ("60–80 px", 60, 80),
                ("≥ 80 px", 80, 1e9)],
    "sharpness": [("< 0.02", 0, 0.02), ("0.02–0.035", 0.02, 0.035), ("≥ 0.035", 0.035, 1e9)],
    "yaw": [("≤ 35°", 0, 35), ("35–50°", 35, 50), ("> 50°", 50, 1e9)],
    "pitch": [("≤ 20°", 0, 20), ("20–30°", 20, 30), ("> 30°", 30, 1e9)],
    "score": [("< 0.6", 0, 0.6), ("≥ 0.6", 0.6, 1.1)],
}


def value(m: Measured, gate: str) -> float:
    return abs(float(getattr(m, gate)))


def rate(found: list[bool]) -> str:
    return f"{100 * sum(found) / len(found):.1f} % of {len(found)}" if found else "–"


def report(out: Path) -> None:
    result: dict[str, object] = {}
    for name in ("lfw150", "cfp"):
        path = CACHE / f"{name}.json"
        if not path.is_file():
            continue
        ex = msgspec.json.decode(path.read_bytes(), type=Extracted)
        base = {m.person: m for m in ex.enrol if m.variant == "" and m.found != "none"}
        gallery = {p: np.asarray(m.template, np.float32) for p, m in base.items()}
        nonlisted = np.asarray([p.template for p in ex.nonlisted if p.template], np.float32)
        listed = {m.person for m in ex.enrol if m.variant == ""}
        thr = threshold_at(nonlisted, gallery, 0.001)
        per = hits(ex.probes, gallery, thr)
        alerts = alerts_by(nonlisted, gallery, thr)
        found_by = {k: sum(1 for m in ex.enrol if m.variant == "" and m.found == k)
                    for k in ("direct", "padded", "none")}
        print(f"\n== {name}: {len(listed)} listed ({found_by}), {len(ex.probes)} probes, "
              f"{len(nonlisted)} non-listed faces; threshold {thr:.4f} at FPIR ≤ 0.1 %; "
              f"TPIR {rate([x for v in per.values() for x in v])}")
        sets: dict[str, object] = {"threshold": thr, "found_by": found_by,
                                   "listed": len(listed), "probes": len(ex.probes),
                                   "nonlisted": len(nonlisted)}
        bands_out: dict[str, object] = {}
        for gate, bands in BANDS.items():
            for label, lo, hi in bands:
                inside = {p for p, m in base.items() if lo <= value(m, gate) < hi}
                hit_in = [x for p in inside for x in per.get(p, [])]
                hit_out = [x for p in base if p not in inside for x in per.get(p, [])]
                a_in = sum(1 for a in alerts if a in inside)
                print(f"  {gate:9s} {label:12s} entries {len(inside):4d}  TPIR in band "
                      f"{rate(hit_in):18s} rest {rate(hit_out):18s} false alerts {a_in}"
                      f"/{len(alerts)}")
                bands_out[f"{gate} {label}"] = {
                    "entries": len(inside), "probes_in": len(hit_in),
                    "tpir_in": sum(hit_in) / len(hit_in) if hit_in else None,
                    "probes_rest": len(hit_out),
                    "tpir_rest": sum(hit_out) / len(hit_out) if hit_out else None,
                    "false_alerts_in": a_in, "false_alerts": len(alerts)}
        sets["bands"] = bands_out
        synth: dict[str, object] = {}
        variants_seen = sorted({m.variant for m in ex.enrol if m.variant})
        for v in variants_seen:
            alt = {m.person: m for m in ex.enrol if m.variant == v}
            # The people with this variant: their gallery row replaced, everyone else as is.
            g2 = dict(gallery)
            lost = 0
            for p, m in alt.items():
                if m.found == "none":
                    del g2[p]
                    lost += 1
                else:
                    g2[p] = np.asarray(m.template, np.float32)
            thr2 = threshold_at(nonlisted, g2, 0.001)
            per2 = hits(ex.probes, g2, thr2)
            before = [x for p in alt for x in per.get(p, [])]
            after = [x for p in alt for x in per2.get(p, [])]
            sharp = np.median([m.sharpness for m in alt.values() if m.found != "none"])
            fa = len(alerts_by(nonlisted, g2, thr))
            print(f"  synthetic {v:9s} {len(alt):4d} people (no face {lost}), median sharpness "
                  f"{sharp:.3f}: TPIR {rate(before)} → {rate(after)} (refit threshold "
                  f"{thr2:.4f}; at the original one {fa} false alerts vs {len(alerts)})")
            synth[v] = {"people": len(alt), "no_face": lost, "median_sharpness": float(sharp),
                        "tpir_before": float(sum(before) / max(len(before), 1)),
                        "tpir_after": float(sum(after) / max(len(after), 1)), "probes": len(after),
                        "threshold": thr2, "false_alerts_at_original": fa}
        sets["synthetic"] = synth
        result[name] = sets
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(msgspec.json.format(msgspec.json.encode(result)))
    print(f"\nwritten {out}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("extract")
    e.add_argument("set", choices=("lfw150", "cfp"))
    e.add_argument("--models", type=Path, default=REPO / "var" / "models")
    r = sub.add_parser("report")
    r.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "enrol_gates.json")
    args = ap.parse_args()
    if args.cmd == "extract":
        extract(args.set, args.models)
    else:
        report(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
