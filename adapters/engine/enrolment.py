"""Enrolment of one uploaded photo (R10): find its subject, padding and retrying before
refusing, then gate it, hard or soft.

A person refused at enrolment can never be found, so a refusal is kept for what cannot be
matched at all (:data:`~kernel.protocols.engine.HARD_REJECTIONS`: not an image, too large, no
face, several faces with no clear subject). A face that is small, turned, blurred or has a low
detector score is *soft*-refused: the engine says which gates it missed, what they measured and
what enrolling it is expected to cost (:data:`COSTS`, measured), and returns its template so the
domain can enrol it if the enroller accepts it with a reason (audited).

Pad and retry: CenterFace needs context around a face; a tightly framed photo (a custody photo
often is) yields no face, or one cut at the edge with a low score. Measured on CFP (issue 10):
8 of 16 enrolment refusals were *no face* on tight crops, where the ``face_recognition``
library's padded retry finds the face. So when the direct attempt finds no face, or only a face
touching the image edge, the photo gets a black border :data:`PAD_FRACTION` of its larger side
wide (as the LFW evaluation does) and is detected again. The outcome says how the face was
found (:class:`~kernel.protocols.engine.FaceFound`).

All of it is synchronous CPU work: the engine runs it in its executor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import cv2
import msgspec
import numpy as np
import numpy.typing as npt

from adapters.engine.quality import check_upload, single_face
from kernel.frames import Image
from kernel.protocols.engine import (
    Detection,
    Embeddings,
    Enrolment,
    FaceFound,
    Purpose,
    Rejection,
)

MESSAGES: dict[Rejection, str] = {
    Rejection.NOT_AN_IMAGE: "The file is not a readable JPEG, PNG or WebP image.",
    Rejection.TOO_LARGE: "The file is larger than the upload limit (bytes or pixels).",
    Rejection.NO_FACE: "No face was found in the photo.",
    Rejection.SEVERAL_FACES: "More than one face is in the photo; crop it to one person.",
    Rejection.TOO_SMALL: "The face is too small; use a photo where the face is larger.",
    Rejection.BLURRED: "The face is blurred; use a sharper photo.",
    Rejection.EXTREME_POSE: "The face is turned too far from the camera; use a frontal photo.",
    Rejection.LOW_SCORE: "The face is not clear enough for the detector to be sure of it.",
}
"""One sentence per rejection, shown to the person enrolling the photo (R10)."""

class MeasuredBand(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the enrolment cost table: people enrolled with a photo in ``band`` of a
    gate's measurement (``synthetic``: every enrolment photo degraded to it) and the TPIR at
    FPIR ≤ 0.1 % of their probes, beside that of the same people unchanged (synthetic) or of
    everyone else (natural)."""

    gate: Rejection
    band: str
    dataset: str
    synthetic: bool
    people: int
    probes: int
    tpir: float
    tpir_without: float


COST_TABLE: tuple[MeasuredBand, ...] = (
    MeasuredBand(gate=Rejection.TOO_SMALL, band="face 25 px", dataset="cfp", synthetic=True,
                 people=300, probes=1500, tpir=0.083, tpir_without=0.317),
    MeasuredBand(gate=Rejection.TOO_SMALL, band="face 25 px", dataset="lfw150", synthetic=True,
                 people=1551, probes=2734, tpir=0.122, tpir_without=0.396),
    MeasuredBand(gate=Rejection.TOO_SMALL, band="face 40 px", dataset="cfp", synthetic=True,
                 people=300, probes=1500, tpir=0.263, tpir_without=0.317),
    MeasuredBand(gate=Rejection.TOO_SMALL, band="face 40 px", dataset="lfw150", synthetic=True,
                 people=1551, probes=2734, tpir=0.342, tpir_without=0.396),
    MeasuredBand(gate=Rejection.BLURRED, band="sharpness < 0.02", dataset="lfw150",
                 synthetic=False, people=8, probes=16, tpir=0.0, tpir_without=0.398),
    MeasuredBand(gate=Rejection.BLURRED, band="sharpness 0.02-0.035", dataset="lfw150",
                 synthetic=False, people=62, probes=111, tpir=0.261, tpir_without=0.401),
    MeasuredBand(gate=Rejection.BLURRED, band="sharpness ~0.030", dataset="cfp",
                 synthetic=True, people=300, probes=1500, tpir=0.129, tpir_without=0.317),
    MeasuredBand(gate=Rejection.BLURRED, band="sharpness ~0.026", dataset="lfw150",
                 synthetic=True, people=1551, probes=2734, tpir=0.345, tpir_without=0.396),
    MeasuredBand(gate=Rejection.BLURRED, band="sharpness ~0.017", dataset="cfp",
                 synthetic=True, people=300, probes=1500, tpir=0.073, tpir_without=0.317),
    MeasuredBand(gate=Rejection.BLURRED, band="sharpness ~0.016", dataset="lfw150",
                 synthetic=True, people=1551, probes=2734, tpir=0.194, tpir_without=0.396),
    MeasuredBand(gate=Rejection.EXTREME_POSE, band="|yaw| 35-50 deg", dataset="lfw150",
                 synthetic=False, people=77, probes=137, tpir=0.336, tpir_without=0.399),
    MeasuredBand(gate=Rejection.EXTREME_POSE, band="|yaw| > 50 deg", dataset="lfw150",
                 synthetic=False, people=14, probes=26, tpir=0.192, tpir_without=0.398),
    MeasuredBand(gate=Rejection.LOW_SCORE, band="score < 0.6", dataset="lfw150",
                 synthetic=False, people=1, probes=1, tpir=0.0, tpir_without=0.396),
    MeasuredBand(gate=Rejection.LOW_SCORE, band="score < 0.6", dataset="cfp",
                 synthetic=False, people=1, probes=5, tpir=0.6, tpir_without=0.316),
)
"""What enrolling below each gate cost, measured by ``bench/measure_enrol_gates.py`` (its
docstring has the protocol; it writes the full output, not committed, to
``bench/results/enrol_gates.json``) on open-set watch lists with no enrolment gate:
the ``lfw150`` set (1,559 listed, 2,745 probes, 2,695 non-listed faces, threshold
0.9579) and the ``cfp`` set (300 listed with a frontal photo, 1,500 frontal and
profile probes, 1,024 non-listed faces, threshold 0.9579), engine defaults (CenterFace,
``eyes_mouth`` alignment, dlib ResNet, no mirror). These sets were used for this table and
the enrolment defaults only. Refusing a photo makes its person's TPIR 0, so every row is what
a refusal throws away; what the degraded templates cost in false alerts at the unchanged
threshold was 0-5 per 1,000-2,700 non-listed faces against 1-2 with the originals
(``false_alerts_at_original`` in the JSON), and a refitted threshold moved by < 0.004."""

COSTS: dict[Rejection, str] = {
    Rejection.TOO_SMALL: (
        "Measured cost: people enrolled with a 25 px face were found in 8-12 % of their later "
        "photos (TPIR at FPIR 0.1 %) instead of 32-40 %. Refused, they are never found."),
    Rejection.BLURRED: (
        "Measured cost: people enrolled with a photo this blurred (sharpness 0.02-0.035) were "
        "found in 13-35 % of their later photos (TPIR at FPIR 0.1 %) instead of 32-40 %, and in "
        "0-19 % under 0.02. Refused, they are never found."),
    Rejection.EXTREME_POSE: (
        "Measured cost: people enrolled turned more than 50° were found in 19 % of their later "
        "photos (TPIR at FPIR 0.1 %) instead of 40 %. Refused, they are never found."),
    Rejection.LOW_SCORE: (
        "Measured cost: too few such photos in the evaluation sets to say (one in each); a "
        "face the detector doubts may not be a face at all. Refused, the person is never "
        "found."),
}
"""The expected cost of enrolling a soft-refused photo anyway, one sentence per gate, from
:data:`COST_TABLE` (shown to the enroller beside the refusal)."""


PAD_FRACTION = 0.25
"""Border width as a fraction of the photo's larger side, as the LFW evaluation pads."""

EDGE_MARGIN = 0.02
"""A face box within this fraction of the larger side of an edge counts as cut by it."""

class SyncEngine(Protocol):
    """What enrolment needs of an engine: its synchronous detect and embed."""

    def detect_sync(self, image: Image, purpose: Purpose) -> list[Detection]: ...

    def embed_sync(self, chips: Sequence[Image]) -> Embeddings: ...

    def enrol_template_sync(self, chip: Image) -> npt.NDArray[np.float32]: ...


class Subject(msgspec.Struct, frozen=True):
    """The face an enrolment photo is of (``face``), or why there is none (``rejection``:
    ``NO_FACE`` or ``SEVERAL_FACES``), and how it was found."""

    face: Detection | None
    found: FaceFound
    rejection: Rejection | None = None


def pad(image: Image, fraction: float = PAD_FRACTION) -> tuple[Image, int]:
    """``image`` inside a black border ``fraction`` of its larger side wide, and that width."""
    border = max(1, round(fraction * max(image.shape[:2])))
    padded = cv2.copyMakeBorder(image, border, border, border, border, cv2.BORDER_CONSTANT,
                                value=(0, 0, 0))
    return np.ascontiguousarray(padded), border


def at_edge(box: tuple[float, float, float, float], width: int, height: int,
            margin: float = EDGE_MARGIN) -> bool:
    """Does the box touch (or cross) an edge of a ``width`` × ``height`` image?"""
    m = margin * max(width, height)
    x1, y1, x2, y2 = box
    return x1 <= m or y1 <= m or x2 >= width - m or y2 >= height - m


def _subject(faces: list[Detection], min_face_px: float, found: FaceFound) -> Subject:
    refused = single_face(faces, min_face_px=min_face_px)
    if refused is not None:
        return Subject(None, found, refused)
    return Subject(max(faces, key=lambda f: f.box[2] - f.box[0]), found)


def find_subject(engine: SyncEngine, image: Image, *, min_face_px: float = 0.0,
                 pad_fraction: float = PAD_FRACTION) -> Subject:
    """Detect the photo's one subject with the enrolment settings, padding and retrying when
    the direct attempt finds no face or only one cut by the image edge.

    The padded attempt wins whenever it finds a subject: the detector then saw the face with
    context, and its landmarks (and so the chip) come from that view. A box found in the padded
    image is in padded coordinates; only its width (the size gate) is used afterwards.
    """
    h, w = image.shape[:2]
    direct = _subject(engine.detect_sync(image, Purpose.ENROL), min_face_px, FaceFound.DIRECT)
    if direct.rejection is Rejection.SEVERAL_FACES:
        return direct  # padding adds no face; two people stay two people
    if direct.face is not None and not at_edge(direct.face.box, w, h):
        return direct
    padded_image, _ = pad(image, pad_fraction)
    padded = _subject(engine.detect_sync(padded_image, Purpose.ENROL), min_face_px,
                      FaceFound.PADDED)
    if padded.face is not None or direct.face is None:
        return padded  # the padded view's verdict: no face, or several
    return direct


def enrol_photo(engine: SyncEngine, data: bytes, *, max_bytes: int, max_pixels: int,
                min_face_px: float) -> Enrolment:
    """Decode and check one enrolment photo (see the module docstring).

    ``min_face_px`` is the enrolment gate's size floor: faces narrower than it do not count as
    a second person (``single_face``)."""
    image = check_upload(data, max_bytes, max_pixels)
    if isinstance(image, Rejection):
        return Enrolment(image, MESSAGES[image])
    subject = find_subject(engine, image, min_face_px=min_face_px)
    if subject.face is None:
        refused = subject.rejection or Rejection.NO_FACE
        return Enrolment(refused, MESSAGES[refused], found=subject.found)
    face = subject.face
    template = engine.enrol_template_sync(face.chip)
    if not face.quality.passed:
        reasons = face.quality.reasons
        first = reasons[0]
        return Enrolment(first, MESSAGES[first], template, face.chip, face.quality,
                         subject.found, cost=" ".join(COSTS[r] for r in reasons if COSTS[r]))
    return Enrolment(None, "Enrolled.", template, face.chip, face.quality, subject.found)
