"""``engine.onnx``: CenterFace detection → 5-point alignment → quality gate → ONNX embedding.

Everything a model needs to be swapped is in config: the embedder's file, input size, colour
order, mean/scale, layout and output normalisation, and the alignment template. The shipped
default is dlib's ResNet converted by ``pinchpoint models build``; another ONNX embedder (an
ArcFace a user obtained) is a config change::

    [engine.embedder]
    file = "/models/arcface.onnx"
    sha256 = "…"
    width = 112
    height = 112
    mean = [127.5, 127.5, 127.5]
    scale = 0.0078125
    [engine.alignment]
    width = 112
    height = 112
    template = [[38.29, 51.70], [73.53, 51.50], [56.03, 71.74], [41.55, 92.37], [70.73, 92.20]]
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, ClassVar, Literal

import msgspec
import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from adapters.engine.alignment import ENGINE_DEFAULT as ALIGNMENT_DEFAULT
from adapters.engine.alignment import (
    AlignmentConfig,
    Method,
    align,
    align_view,
    estimate_transform,
    views,
    warp,
)
from adapters.engine.centerface import CenterFace
from adapters.engine.enrolment import enrol_photo
from adapters.engine.jitter import JITTER_SEED, jitter
from adapters.engine.model_store import (
    SHAPE_PREDICTOR_NAME,
    file_sha256,
    read_manifest,
    verify_models,
)
from adapters.engine.quality import QualityConfig, assess
from adapters.engine.second_embedder import SecondEmbedderSettings, fuse, in_slot
from adapters.engine.shape_predictor import ShapePredictor, load_shape_predictor
from kernel.bounds import Bytes, Fraction, Pixels
from kernel.errors import ModelError
from kernel.frames import Image
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.engine import (
    Detection,
    Embeddings,
    Enrolment,
    Purpose,
    Quality,
)


class DetectorSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """CenterFace settings. ``input_width`` is what frames are scaled to before detection:
    480 keeps 8 cameras of 720p at ≥ 5 analysed frames/s each on 2 cores with the same faces
    found per frame as 640 at a pinch point (BENCHMARKS.md); raise it for distant faces.
    Images narrower than it (enrolment crops, LFW) are not upscaled."""

    file: str = "centerface.onnx"
    input_width: Pixels = 480
    input_height: Pixels | None = None
    score_threshold: Fraction = 0.5
    nms_iou: Fraction = 0.3
    min_face_px: Annotated[float, msgspec.Meta(ge=0.0, le=4096.0)] = 20.0


PixelValue = Annotated[float, msgspec.Meta(ge=-1e4, le=1e4)]


class EmbedderSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Any ONNX embedder taking one aligned chip per batch row.

    The model's input is ``(chip[colour] - mean) * scale`` laid out as ``layout``. Its first
    output is the template; ``normalise`` L2-normalises it (needed for cosine search).
    ``mirror`` adds the descriptor of the left-right mirrored chip: a second inference per
    view, off by default beside the second recognizer (below). With dlib's model alone it
    was worth having: open-set TPIR at FPIR ≤ 0.1 % on the dev halves (CFP / LFW) with the
    fused alignment 41.2 % / 49.9 % without it, 41.6 % / 61.4 % with it. ``sha256`` pins a
    file that is not in the models manifest.
    """

    file: str = "dlib_resnet_v1.onnx"
    sha256: str | None = None
    width: Pixels = 150
    height: Pixels = 150
    colour: Literal["rgb", "bgr"] = "rgb"
    layout: Literal["nchw", "nhwc"] = "nchw"
    mean: tuple[PixelValue, PixelValue, PixelValue] = (122.782, 117.001, 104.298)
    scale: Annotated[float, msgspec.Meta(gt=0.0, le=1e3)] = 1.0 / 256.0
    normalise: bool = True
    # Off with the second recognizer (the default): on the dev halves it moved TPIR at FPIR
    # ≤ 0.1 % by ≤ 1 point either way (CFP 55.0 → 55.4 %, LFW 82.8 → 82.4 %, with dlib's chip
    # fused with eyes_mouth and both models mirrored) for 3× the inference (BENCHMARKS.md).
    # With ``second_embedder.weight = 0`` turn it back on (and fuse eyes_mouth): that is the
    # best dlib-alone engine measured.
    mirror: bool = False
    batch: Annotated[int, msgspec.Meta(ge=1, le=256)] = 8
    # Off: measured, not adopted. Dev halves (TPIR at FPIR ≤ 0.1 %, thresholds fitted per
    # run): LFW 61.1 → 63.4 %, CFP 44.8 → 45.4 % (44.2 → 43.6 % at the rounded threshold);
    # the test halves then fell (CFP 38.4 → 36.4 %, LFW 46.8 → 43.8 %): not a gain.
    enrol_jitter: Annotated[int, msgspec.Meta(ge=0, le=64)] = 0
    """Enrolment only: the watch-list template is the mean over the chip and this many
    randomly jittered copies (rotation ±3°, scale 0.97–1, shift ±2 %: dlib's
    ``jitter_image``, seeded so a photo always gives the same template), each embedded as
    usual; 0 embeds the chip alone. Live templates are never jittered."""


class OnnxEngineConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``[engine]`` with ``type = "onnx"``. ``models_dir`` is relative to ``data_dir``."""

    models_dir: str = "models"
    threads: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    spinning: bool = False
    detector: DetectorSettings = DetectorSettings()
    embedder: EmbedderSettings = EmbedderSettings()
    alignment: AlignmentConfig = ALIGNMENT_DEFAULT
    second_embedder: SecondEmbedderSettings = SecondEmbedderSettings()
    quality: QualityConfig = QualityConfig()
    max_upload_bytes: Bytes = 15_000_000
    max_upload_pixels: Annotated[int, msgspec.Meta(ge=1, le=1 << 31)] = 40_000_000


def resolve_model(models_dir: Path, file: str, sha256: str | None) -> tuple[Path, str]:
    """The model's path and checksum, verified: by the manifest for files
    ``pinchpoint models build`` made, else by the configured ``sha256`` if any."""
    path = Path(file) if Path(file).is_absolute() else models_dir / file
    manifest_names: set[str] = set()
    if (models_dir / "models.json").is_file():
        manifest_names = {f.name for f in read_manifest(models_dir).files}
    if path.parent == models_dir and path.name in manifest_names:
        entry = verify_models(models_dir).file(path.name)
        if entry is not None:
            return path, entry.sha256
    if not path.is_file():
        hint = " Run `pinchpoint models build`." if path.parent == models_dir else ""
        raise ModelError(f"model file {path} is missing.{hint}")
    actual = file_sha256(path)
    if sha256 is not None and actual != sha256.lower():
        raise ModelError(f"model file {path} has checksum {actual}, config expects {sha256}")
    return path, actual


def model_input(chips: npt.NDArray[np.uint8], colour: str, mean: npt.NDArray[np.float32],
                scale: float, layout: str) -> npt.NDArray[np.float32]:
    """An embedder's input from RGB uint8 chips (n, h, w, 3): ``(chip[colour] − mean) × scale``
    laid out as ``layout``; both models' settings name these the same way."""
    ordered = chips[..., ::-1] if colour == "bgr" else chips
    x = (ordered.astype(np.float32) - mean) * np.float32(scale)
    if layout == "nchw":
        x = x.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(x, dtype=np.float32)


def _session(path: Path, config: OnnxEngineConfig) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = config.threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry(
        "session.intra_op.allow_spinning", "1" if config.spinning else "0"
    )
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=options,
                                providers=["CPUExecutionProvider"])


class OnnxEngine:
    """The default :class:`~kernel.protocols.engine.FaceEngine`."""

    Config: ClassVar[type[OnnxEngineConfig]] = OnnxEngineConfig

    def __init__(self, config: OnnxEngineConfig, context: AdapterContext) -> None:
        self.config = config
        self.context = context
        emb = config.embedder
        if (emb.width, emb.height) != (config.alignment.width, config.alignment.height):
            raise ModelError(
                f"engine.embedder takes {emb.width}×{emb.height} chips but engine.alignment "
                f"cuts {config.alignment.width}×{config.alignment.height}: make them equal"
            )
        models_dir = Path(config.models_dir)
        if not models_dir.is_absolute():
            models_dir = context.data_dir / models_dir
        det_path, _ = resolve_model(models_dir, config.detector.file, None)
        emb_path, emb_sha = resolve_model(models_dir, emb.file, emb.sha256)
        d = config.detector
        self.detector = CenterFace(
            det_path,
            input_width=d.input_width,
            input_height=d.input_height,
            threads=config.threads,
            spinning=config.spinning,
            score_threshold=d.score_threshold,
            nms_iou=d.nms_iou,
            min_face_px=d.min_face_px,
        )
        self._session = _session(emb_path, config)
        self._input = self._session.get_inputs()[0].name
        self._output = self._session.get_outputs()[0].name
        self.dim = int(self._session.get_outputs()[0].shape[-1])
        second = config.second_embedder
        self._second: ort.InferenceSession | None = None
        second_identity: list[object] = []
        if second.enabled:
            cut = second.alignment
            if cut.width > config.alignment.width or cut.height > config.alignment.height:
                raise ModelError(
                    f"engine.second_embedder.alignment cuts {cut.width}×{cut.height} chips, "
                    f"larger than the {config.alignment.width}×{config.alignment.height} "
                    "view slots of engine.alignment")
            if not emb.normalise:
                raise ModelError("engine.second_embedder fuses normalised descriptors: "
                                 "set engine.embedder.normalise = true")
            if emb.enrol_jitter:
                raise ModelError("engine.embedder.enrol_jitter jitters the first model's "
                                 "views only: set it to 0 with a second_embedder")
            second_path, second_sha = resolve_model(models_dir, second.file, second.sha256)
            self._second = _session(second_path, config)
            self._second_input = self._second.get_inputs()[0].name
            self._second_output = self._second.get_outputs()[0].name
            self.dim += int(self._second.get_outputs()[0].shape[-1]) + 1
            self._second_mean = np.asarray(second.mean, np.float32)
            second_identity = [second_sha, second]
        # dlib's landmarker, parsed once here (about a second), only for the method using it.
        self.shape_predictor: ShapePredictor | None = None
        landmarker: list[str] = []
        if "dlib5" in config.alignment.methods:
            sp_path, sp_sha = resolve_model(models_dir, SHAPE_PREDICTOR_NAME, None)
            self.shape_predictor = load_shape_predictor(sp_path, sp_sha)
            landmarker = [sp_sha]
        # Templates are comparable only under the same model, alignment and mirroring (and
        # landmarker, for dlib5; the other methods' identities are unchanged by it).
        identity = msgspec.json.encode(
            [emb_sha, config.alignment, emb.mirror, emb.normalise, *landmarker,
             *second_identity])
        self.model_id = "onnx-" + hashlib.sha256(identity).hexdigest()[:16]
        self._mean = np.asarray(emb.mean, np.float32)
        # The one view a live detection is cut in at once when dlib's chip is used: a cheaper
        # one it is fused with, else the eyes_mouth view (what the live gate's sharpness is
        # calibrated on), which embedding then replaces by dlib's.
        methods = config.alignment.methods
        cheap = [m for m in methods if m != "dlib5"] or ["eyes_mouth"]
        self._live_view: Method | None = cheap[0] if "dlib5" in methods else None

    # -- synchronous CPU work (runs in the executor) -------------------------------------
    def detect_sync(self, image: Image, purpose: Purpose) -> list[Detection]:
        """Detect, align and quality-check the faces of one image.

        Live detections of a ``dlib5`` alignment are cut only the cheap way here (the
        template view, which the quality gate measures); dlib's landmarker and chip, about
        2.5 ms of a face's 2.7 ms of alignment, wait for :meth:`embed_faces_sync`: the tracker
        embeds about one live face in four (bench/bench_pipeline.py, 3.3 faces a frame)."""
        settings = self.config.quality.enrol if purpose is Purpose.ENROL else \
            self.config.quality.live
        alignment = self.config.alignment
        live_view = self._live_view if purpose is Purpose.LIVE else None
        out = []
        for raw in self.detector.detect(image):
            if live_view is not None:
                chip = align_view(image, raw.landmarks, alignment, live_view)
                first = chip
            else:
                chip = align(image, raw.landmarks, alignment, box=raw.box,
                             predictor=self.shape_predictor)
                # Sharpness is measured on the first view: the quality gate's calibration.
                first = views(chip, alignment.width)[0]
                if self._second is not None:
                    chip = np.ascontiguousarray(np.concatenate(
                        [chip, self._second_slot(image, raw.landmarks)], axis=1))
            quality: Quality = assess(raw, first, settings)
            out.append(Detection(raw.box, raw.score, raw.landmarks, chip, quality,
                                 complete=live_view is None))
        return out

    def complete_chip_sync(self, image: Image, detection: Detection) -> Image:
        """The full chip of ``detection`` (found in ``image``), cutting the views it left."""
        if detection.complete:
            return detection.chip
        alignment = self.config.alignment
        cuts = [detection.chip if method == self._live_view else
                align_view(image, detection.landmarks, alignment, method, detection.box,
                           self.shape_predictor)
                for method in alignment.methods]
        if self._second is not None:
            cuts.append(self._second_slot(image, detection.landmarks))
        return np.ascontiguousarray(np.concatenate(cuts, axis=1))

    def _second_slot(self, image: Image, landmarks: npt.ArrayLike) -> Image:
        """The second model's chip, cut from the image (never resampled from the first
        model's), at the top-left of one view slot."""
        cut = self.config.second_embedder.alignment
        chip = warp(image, estimate_transform(landmarks, cut), cut.width, cut.height)
        return in_slot(chip, self.config.alignment.width, self.config.alignment.height)

    def embed_faces_sync(self, faces: Sequence[tuple[Image, Detection]]) -> Embeddings:
        """Templates of detected faces (see :meth:`FaceEngine.embed_faces`)."""
        return self.embed_sync([self.complete_chip_sync(image, d) for image, d in faces])

    def embed_sync(self, chips: Sequence[Image]) -> Embeddings:
        """Templates of aligned chips: (n, dim) float32, L2-normalised when configured.

        A chip holding several views side by side (``alignment.fuse_with``) gives one
        template: the sum of its views' descriptors, each L2-normalised first when
        ``normalise`` is set (so neither view outweighs the other). With a second embedder
        the chip's last slot is its chip and the template is the two models' fusion
        (:mod:`adapters.engine.second_embedder`)."""
        if not chips:
            return np.zeros((0, self.dim), np.float32)
        emb = self.config.embedder
        width = self.config.alignment.width
        count = len(self.config.alignment.methods)
        slots = count + (self._second is not None)
        for chip in chips:
            if chip.shape[1] != slots * width:
                raise ValueError(
                    f"a chip {chip.shape[1]} px wide is not the {slots} view(s) of "
                    f"{width} px this engine cuts: embed a live detection with embed_faces")
        stack = np.stack(chips).astype(np.uint8, copy=False)
        n = len(stack)
        # Every view (and its mirror image) of every chip goes through the network in the
        # same batches: a batch of 8 costs 5.0 ms a face against 6.0 ms one at a time.
        inputs = [stack[:, :, v * width : (v + 1) * width] for v in range(count)]
        if emb.mirror:
            inputs += [view[:, :, ::-1] for view in inputs]
        rows = np.ascontiguousarray(np.concatenate(inputs))
        raw = np.concatenate([
            self._run(rows[start : start + emb.batch])
            for start in range(0, len(rows), emb.batch)
        ]).astype(np.float32)
        per_view = raw.reshape(len(inputs), n, -1)
        if emb.mirror:
            per_view = per_view[:count] + per_view[count:]
        if emb.normalise and count > 1:
            per_view = per_view / np.maximum(
                np.linalg.norm(per_view, axis=2, keepdims=True), 1e-12)
        out = np.ascontiguousarray(per_view.sum(axis=0), dtype=np.float32)
        if emb.normalise:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        if self._second is None:
            return out
        cut = self.config.second_embedder.alignment
        second = stack[:, : cut.height, count * width : count * width + cut.width]
        return fuse(out, self._second_descriptors(second), self.config.second_embedder)

    def _second_descriptors(self, chips: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """The second model's L2-normalised descriptors of its (n, h, w, 3) chips, each the
        sum of the chip's and its mirror image's normalised descriptors when mirroring."""
        assert self._second is not None
        settings = self.config.second_embedder
        rows = [chips, chips[:, :, ::-1]] if settings.mirror else [chips]
        total: npt.NDArray[np.float32] | None = None
        for part in rows:
            x = model_input(part, settings.colour, self._second_mean, settings.scale,
                            settings.layout)
            # The shipped model's batch is fixed at one row.
            got = np.concatenate([
                np.asarray(self._second.run([self._second_output],
                                            {self._second_input: x[i : i + 1]})[0],
                           np.float32).reshape(1, -1)
                for i in range(len(x))])
            got /= np.maximum(np.linalg.norm(got, axis=1, keepdims=True), 1e-12)
            total = got if total is None else total + got
        assert total is not None
        total /= np.maximum(np.linalg.norm(total, axis=1, keepdims=True), 1e-12)
        return total

    def enrol_template_sync(self, chip: Image) -> npt.NDArray[np.float32]:
        """The watch-list template of one enrolment chip (``enrol_jitter``): (dim,)."""
        count = self.config.embedder.enrol_jitter
        if count == 0:
            return np.asarray(self.embed_sync([chip])[0], np.float32)
        width = self.config.alignment.width
        rng = np.random.default_rng(JITTER_SEED)
        copies = [chip] + [jitter(chip, width, rng) for _ in range(count)]
        mean = self.embed_sync(copies).mean(axis=0)
        return np.asarray(mean / max(float(np.linalg.norm(mean)), 1e-12), np.float32)

    def _run(self, chips: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        emb = self.config.embedder
        x = model_input(chips, emb.colour, self._mean, emb.scale, emb.layout)
        result = self._session.run([self._output], {self._input: x})[0]
        return np.asarray(result, np.float32).reshape(len(chips), -1)

    def enrol_sync(self, data: bytes) -> Enrolment:
        """Decode and check an enrolment photo, padding and retrying before refusing; the
        template of its one face, also on a soft refusal (see ``adapters.engine.enrolment``)."""
        return enrol_photo(self, data, max_bytes=self.config.max_upload_bytes,
                           max_pixels=self.config.max_upload_pixels,
                           min_face_px=self.config.quality.enrol.min_face_px)

    # -- the FaceEngine seam ------------------------------------------------------------
    async def detect(
        self, images: Sequence[Image], purpose: Purpose = Purpose.LIVE
    ) -> list[list[Detection]]:
        return await self.context.executor.run(
            lambda: [self.detect_sync(image, purpose) for image in images]
        )

    async def embed(self, chips: Sequence[Image]) -> Embeddings:
        return await self.context.executor.run(self.embed_sync, chips)

    async def embed_faces(self, faces: Sequence[tuple[Image, Detection]]) -> Embeddings:
        # Split over the executor's workers: the pipeline embeds after a batch's detections,
        # so one job would leave the other cores idle while it runs.
        workers = min(self.context.executor.workers, len(faces))
        if workers <= 1:
            return await self.context.executor.run(self.embed_faces_sync, faces)
        step = -(-len(faces) // workers)
        parts = await asyncio.gather(*(
            self.context.executor.run(self.embed_faces_sync, faces[start : start + step])
            for start in range(0, len(faces), step)))
        return np.concatenate(parts)

    async def enrol(self, data: bytes) -> Enrolment:
        return await self.context.executor.run(self.enrol_sync, data)

    async def close(self) -> None:
        """Sessions are freed with the object; nothing to join."""
