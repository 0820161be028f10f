"""Face-engine seam: detect → align → quality gate, then embed (R2)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol, runtime_checkable

import msgspec
import numpy as np
import numpy.typing as npt

from kernel.frames import Image

Embeddings = npt.NDArray[np.float32]
"""An (n, dim) float32 matrix of L2-normalised templates; cosine similarity is a dot product."""


class Purpose(StrEnum):
    """Which quality settings apply: enrolment is stricter than live matching (R10)."""

    LIVE = "live"
    ENROL = "enrol"


class Rejection(StrEnum):
    """Why an image or face is unusable. Each is shown to the user as it is named (R10)."""

    NOT_AN_IMAGE = "not_an_image"
    TOO_LARGE = "too_large"
    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    TOO_SMALL = "too_small"
    BLURRED = "blurred"
    EXTREME_POSE = "extreme_pose"
    LOW_SCORE = "low_detector_score"


HARD_REJECTIONS: frozenset[Rejection] = frozenset({
    Rejection.NOT_AN_IMAGE, Rejection.TOO_LARGE, Rejection.NO_FACE, Rejection.SEVERAL_FACES})
"""Refusals that can never be accepted: there is no one face to make a template of (R10)."""

SOFT_REJECTIONS: frozenset[Rejection] = frozenset({
    Rejection.TOO_SMALL, Rejection.BLURRED, Rejection.EXTREME_POSE, Rejection.LOW_SCORE})
"""Refusals of a face that can still be matched, less often: the enroller may accept one with
a recorded, audited reason (the engine then reports the measured cost, see
``adapters.engine.enrolment.COSTS``)."""


class FaceFound(StrEnum):
    """How an enrolment photo's face was found: in the photo as uploaded, or only after a
    border was added around it (a tightly framed photo gives the detector no context)."""

    DIRECT = "direct"
    PADDED = "padded"


class Quality(msgspec.Struct, frozen=True):
    """The measurements behind a quality decision, and the reasons it failed (empty = passed)."""

    face_px: float
    sharpness: float
    yaw: float
    pitch: float
    score: float
    reasons: tuple[Rejection, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.reasons


class Detection(msgspec.Struct, frozen=True):
    """One face found in one image, held in memory only (R3).

    ``box`` is (x1, y1, x2, y2) in image pixels; ``landmarks`` a (5, 2) array of (x, y): the
    eye on the image's left (the person's right eye), the eye on the image's right, the nose
    tip, then the image-left and image-right mouth corners;
    ``chip`` is the aligned crop the embedder takes when ``complete``. A live detection may
    leave costly views of its chip uncut (``complete`` False: ``chip`` then holds what the
    quality gate looked at): most live faces are tracked, never embedded, so the engine cuts
    the rest only in :meth:`FaceEngine.embed_faces`.
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: npt.NDArray[np.float32]
    chip: Image
    quality: Quality
    complete: bool = True


class Enrolment(msgspec.Struct, frozen=True):
    """The outcome of enrolling one uploaded photo into a watch list (R10).

    ``rejection`` is ``None`` when the photo passed: ``embedding`` (dim,), ``chip`` (the
    aligned face), ``quality`` and ``found`` are set. A hard refusal (:data:`HARD_REJECTIONS`)
    sets only ``rejection`` and ``message`` (a sentence for the user). A soft refusal
    (:data:`SOFT_REJECTIONS`) also carries the face's ``embedding``, ``chip``, ``quality``
    (every gate it missed is in ``quality.reasons``) and ``cost``, the measured expected cost
    of enrolling it anyway, so that the caller can enrol it when the enroller accepts it with
    a reason. ``embedding`` is never a template that passed when ``rejection`` is set.
    """

    rejection: Rejection | None
    message: str
    embedding: npt.NDArray[np.float32] | None = None
    chip: Image | None = None
    quality: Quality | None = None
    found: FaceFound | None = None
    cost: str = ""

    @property
    def acceptable(self) -> bool:
        """A soft refusal with a template: may be enrolled with a recorded reason."""
        return (self.rejection in SOFT_REJECTIONS and self.embedding is not None
                and self.quality is not None)


@runtime_checkable
class FaceEngine(Protocol):
    """Finds faces and turns them into templates.

    Its methods run their CPU work in ``context.executor`` and return when it is done; the
    event loop never waits on inference. ``embed`` returns L2-normalised rows so that every
    index can compare by dot product. ``model_id`` changes whenever templates stop being
    comparable (another model or alignment), so stored templates can be re-made.
    """

    model_id: str
    dim: int

    async def detect(
        self, images: Sequence[Image], purpose: Purpose = Purpose.LIVE
    ) -> list[list[Detection]]:
        """Detect, align and quality-check the faces of each image (one list per image)."""
        ...

    async def embed(self, chips: Sequence[Image]) -> Embeddings:
        """Templates of aligned chips, as an (n, dim) L2-normalised float32 matrix.

        Raises ``ValueError`` for the chip of a detection that is not ``complete``."""
        ...

    async def embed_faces(self, faces: Sequence[tuple[Image, Detection]]) -> Embeddings:
        """Templates of faces ``detect`` found, each with the image it was found in: the
        same rows as ``embed`` of their complete chips, cutting any view a live detection
        left uncut (the live pipeline's path)."""
        ...

    async def enrol(self, data: bytes) -> Enrolment:
        """Decode an uploaded photo and check it with the strict enrolment settings: it must be
        an image within the size limits holding exactly one usable face (R10)."""
        ...

    async def close(self) -> None:
        """Release sessions and threads."""
        ...
