"""What an evaluation runs: a face pipeline seen as three operations on in-memory images.

``EnginePipeline`` drives the real :class:`~adapters.engine.onnx.OnnxEngine` (its enrolment path,
its live detection and quality gate, its embedder); :mod:`evaluation.baseline`
drives the ``face_recognition`` library the same way, so both answer the same questions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import cv2
import msgspec
import numpy as np
import numpy.typing as npt

from adapters.engine.alignment import AlignmentConfig
from adapters.engine.onnx import OnnxEngine, OnnxEngineConfig
from kernel.clock import SystemClock
from kernel.executor import BoundedExecutor
from kernel.frames import Image
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.engine import Detection, Purpose

Vector = npt.NDArray[np.float32]
Metric = Literal["cosine", "euclidean"]

NO_FACE = "no_face"


class Template(msgspec.Struct, frozen=True):
    """A template, or why there is none (``reason``), and how it was found (``how``)."""

    vector: Vector | None
    reason: str = ""
    how: str = "direct"


class Pipeline(Protocol):
    """A face pipeline under evaluation. Templates stay in memory (R3)."""

    name: str
    metric: Metric

    def verification_template(self, image: Image) -> Template:
        """The template of the face nearest the centre of a face-centred crop (LFW); tries
        hard (padding, a lower detector score) rather than give up."""
        ...

    def enrol(self, data: bytes) -> Template:
        """An enrolment photo through the pipeline's own enrolment path; ``reason`` = why not."""
        ...

    def probe(self, image: Image) -> Template:
        """The template of the largest face of a live probe, if that face is usable."""
        ...

    def similarity(
        self, query: Vector, gallery: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float64]:
        """Scores of ``query`` against each gallery row; higher means more alike."""
        ...


def read_rgb(path: Path) -> Image:
    """An image file as an RGB uint8 array (raises ``ValueError`` when unreadable)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read image {path}")
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def pad_image(image: Image, fraction: float) -> tuple[Image, int]:
    """The image with a black border ``fraction`` of its larger side wide, and that width.

    A face that fills a tight crop has no context around it, which detectors need."""
    border = max(1, round(fraction * max(image.shape[:2])))
    padded = cv2.copyMakeBorder(
        image, border, border, border, border, cv2.BORDER_CONSTANT, value=(0, 0, 0)
    )
    return np.ascontiguousarray(padded), border


def centre_index(
    boxes: Sequence[tuple[float, float, float, float]], width: float, height: float
) -> int:
    """The box whose centre is nearest the image centre, among boxes at least half as wide as
    the widest (LFW crops are centred on their subject; a small bystander must not win)."""
    widths = [b[2] - b[0] for b in boxes]
    floor = 0.5 * max(widths)
    cx, cy = width / 2, height / 2
    candidates = [i for i, w in enumerate(widths) if w >= floor]
    return min(
        candidates,
        key=lambda i: (boxes[i][0] + boxes[i][2] - 2 * cx) ** 2
        + (boxes[i][1] + boxes[i][3] - 2 * cy) ** 2,
    )


def make_engine(
    models_dir: Path,
    *,
    alignment: str | None = None,
    mirror: bool | None = None,
    config: OnnxEngineConfig | None = None,
) -> OnnxEngine:
    """An :class:`OnnxEngine` outside the runtime, with optional alignment/mirror overrides."""
    cfg = config or OnnxEngineConfig()
    cfg = msgspec.structs.replace(cfg, models_dir=str(models_dir.resolve()))
    if alignment is not None:
        # One named method: the view it cuts alone (fusion is set with the config).
        align_cfg: AlignmentConfig = msgspec.convert(
            {**msgspec.structs.asdict(cfg.alignment), "method": alignment, "fuse_with": None},
            AlignmentConfig,
        )
        cfg = msgspec.structs.replace(cfg, alignment=align_cfg)
    if mirror is not None:
        cfg = msgspec.structs.replace(
            cfg, embedder=msgspec.structs.replace(cfg.embedder, mirror=mirror)
        )
    context = AdapterContext(
        name="engine",
        data_dir=models_dir.resolve().parent,
        executor=BoundedExecutor(1, 1),
        clock=SystemClock(),
        log=logging.getLogger("pinchpoint.eval.engine"),
    )
    return OnnxEngine(cfg, context)


class EnginePipeline:
    """The Pinchpoint engine as evaluated: enrolment through ``enrol_sync``, probes through
    ``detect_sync(…, LIVE)`` (largest face, live quality gate) and ``embed_sync``.

    For verification crops with no face at the configured settings, it pads the crop and then
    also lowers the detector's score threshold to ``fallback_score`` (face-models.md: this
    leaves no LFW image without a face).
    """

    metric: Metric = "cosine"

    def __init__(
        self, engine: OnnxEngine, *, pad_fraction: float = 0.25, fallback_score: float = 0.1
    ) -> None:
        self.engine = engine
        cfg = engine.config
        mirror = "mirror" if cfg.embedder.mirror else "no mirror"
        second = cfg.second_embedder
        fused = (f" ⊕ {Path(second.file).stem} (weight {second.weight:g})"
                 if second.enabled else "")
        self.name = (f"Pinchpoint (CenterFace + {'+'.join(cfg.alignment.methods)}, {mirror}"
                     f"{fused})")
        self.pad_fraction = pad_fraction
        self.fallback_score = fallback_score
        self._lenient: OnnxEngine | None = None

    def _lenient_engine(self) -> OnnxEngine:
        if self._lenient is None:
            cfg = self.engine.config
            detector = msgspec.structs.replace(cfg.detector, score_threshold=self.fallback_score)
            self._lenient = OnnxEngine(
                msgspec.structs.replace(cfg, detector=detector), self.engine.context
            )
        return self._lenient

    @staticmethod
    def _embed(engine: OnnxEngine, image: Image, detection: Detection) -> Vector:
        return np.asarray(engine.embed_faces_sync([(image, detection)])[0], np.float32)

    def verification_template(self, image: Image) -> Template:
        attempts: list[tuple[str, OnnxEngine, bool]] = [
            ("direct", self.engine, False),
            ("padded", self.engine, True),
            ("padded+low score", self._lenient_engine(), True),
        ]
        for how, engine, padded in attempts:
            src = pad_image(image, self.pad_fraction)[0] if padded else image
            faces = engine.detect_sync(src, Purpose.LIVE)
            if faces:
                best = faces[centre_index([f.box for f in faces], src.shape[1], src.shape[0])]
                return Template(self._embed(engine, src, best), how=how)
        return Template(None, NO_FACE, how="failed")

    def enrol(self, data: bytes) -> Template:
        result = self.engine.enrol_sync(data)
        if result.rejection is not None or result.embedding is None:
            reason = result.rejection.value if result.rejection is not None else NO_FACE
            return Template(None, reason)
        return Template(np.asarray(result.embedding, np.float32))

    def probe(self, image: Image) -> Template:
        faces = self.engine.detect_sync(image, Purpose.LIVE)
        if not faces:
            return Template(None, NO_FACE)
        face = max(faces, key=lambda f: f.box[2] - f.box[0])
        if not face.quality.passed:
            return Template(None, face.quality.reasons[0].value)
        return Template(self._embed(self.engine, image, face))

    def similarity(
        self, query: Vector, gallery: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float64]:
        return np.asarray(gallery @ query, dtype=np.float64)


class EngineVariants:
    """Several alignment × mirror settings of the engine on verification crops, sharing one
    detection per image: ``pipelines()`` gives one :class:`Pipeline` per setting.

    Each setting's template is computed exactly as ``OnnxEngine.embed_sync`` would under that
    configuration (sum of the raw descriptors of the chip and its mirror image, then L2
    normalisation), so the figures equal separate runs at a fraction of the cost. Only
    ``verification_template`` is shared; the other operations use each setting's own engine.
    """

    def __init__(
        self,
        models_dir: Path,
        alignments: Sequence[str],
        mirrors: Sequence[bool] = (True, False),
        **fallback: float,
    ) -> None:
        self.detecting = EnginePipeline(make_engine(models_dir), **fallback)
        self._raw: dict[str, OnnxEngine] = {}
        for method in alignments:
            engine = make_engine(models_dir, alignment=method, mirror=False)
            embedder = msgspec.structs.replace(engine.config.embedder, normalise=False)
            self._raw[method] = OnnxEngine(
                msgspec.structs.replace(engine.config, embedder=embedder), engine.context
            )
        self.settings = [(a, m) for a in alignments for m in mirrors]
        self._last: Image | None = None
        self._cache: dict[tuple[str, bool], Template] = {}

    def _compute(self, image: Image) -> None:
        from adapters.engine.alignment import align, mirror

        self._last, self._cache = image, {}
        base = self.detecting
        attempts = [("direct", base.engine, False), ("padded", base.engine, True),
                    ("padded+low score", base._lenient_engine(), True)]
        for how, engine, padded in attempts:
            src = pad_image(image, base.pad_fraction)[0] if padded else image
            faces = engine.detector.detect(src)
            if not faces:
                continue
            face = faces[centre_index([f.box for f in faces], src.shape[1], src.shape[0])]
            for method, raw_engine in self._raw.items():
                chip = align(src, face.landmarks, raw_engine.config.alignment, box=face.box,
                             predictor=raw_engine.shape_predictor)
                raw = raw_engine.embed_sync([chip, mirror(chip)]).astype(np.float64)
                for use_mirror in (True, False):
                    vec = raw[0] + raw[1] if use_mirror else raw[0]
                    vec = vec / max(float(np.linalg.norm(vec)), 1e-12)
                    self._cache[(method, use_mirror)] = Template(vec.astype(np.float32), how=how)
            return
        for key in self.settings:
            self._cache[key] = Template(None, NO_FACE, how="failed")

    def template(self, image: Image, setting: tuple[str, bool]) -> Template:
        """The template of ``image`` under one setting (computed once for all settings)."""
        if image is not self._last:
            self._compute(image)
        return self._cache[setting]

    def pipelines(self) -> list[Pipeline]:
        """One pipeline per setting, in ``settings`` order."""
        return [_Variant(self, s) for s in self.settings]


class _Variant:
    metric: Metric = "cosine"

    def __init__(self, owner: EngineVariants, setting: tuple[str, bool]) -> None:
        self.owner = owner
        self.setting = setting
        mirror_text = "mirror" if setting[1] else "no mirror"
        self.name = f"Pinchpoint (CenterFace + {setting[0]}, {mirror_text})"
        self._engine: EnginePipeline | None = None

    def _own(self) -> EnginePipeline:
        if self._engine is None:
            models_dir = Path(self.owner.detecting.engine.config.models_dir)
            self._engine = EnginePipeline(
                make_engine(models_dir, alignment=self.setting[0], mirror=self.setting[1])
            )
        return self._engine

    def verification_template(self, image: Image) -> Template:
        return self.owner.template(image, self.setting)

    def enrol(self, data: bytes) -> Template:
        return self._own().enrol(data)

    def probe(self, image: Image) -> Template:
        return self._own().probe(image)

    def similarity(
        self, query: Vector, gallery: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float64]:
        return np.asarray(gallery @ query, dtype=np.float64)
