"""Candidate evidence: the face crop and the head-to-waist torso crop (R4, R6)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from kernel.pipeline.crops import evidence, face_box_with_margin, upper_torso_box


def test_torso_box_is_head_to_waist_and_clamped() -> None:
    x1, y1, x2, y2 = upper_torso_box((600, 200, 700, 320), 1280, 720)
    assert (x1, x2) == (500, 800)  # three face widths, centred
    assert y1 == 140 and y2 == 720  # half a face above; clamped at the bottom edge
    assert upper_torso_box((0, 0, 50, 60), 100, 100)[:2] == (0, 0)


def test_face_box_margin_clamped() -> None:
    assert face_box_with_margin((10, 10, 110, 110), 100, 100) == (0, 0, 100, 100)


def test_evidence_is_two_jpegs_of_the_right_regions() -> None:
    frame = np.zeros((720, 1280, 3), np.uint8)
    frame[200:320, 600:700] = (200, 50, 50)  # the "face"
    face, torso = evidence(frame, (600.0, 200.0, 700.0, 320.0))
    face_img = Image.open(io.BytesIO(face))
    torso_img = Image.open(io.BytesIO(torso))
    assert face_img.format == torso_img.format == "JPEG"
    assert face_img.size == (170, 204)
    assert torso_img.size == (300, 580)
