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


def test_torso_box_inside_the_frame() -> None:
    """R6: 3 face widths wide, 0.5 face heights above to 3.5 below the face."""
    assert upper_torso_box((400, 100, 500, 220), 1280, 720) == (300, 40, 600, 640)


def test_torso_box_clamps_at_the_edges() -> None:
    """R6: a face near a corner gives a box cut at the frame edges, never outside."""
    assert upper_torso_box((5, 10, 85, 110), 640, 360) == (0, 0, 165, 360)
    x1, y1, x2, y2 = upper_torso_box((600, 300, 640, 350), 640, 360)
    assert (x2, y2) == (640, 360) and 0 <= x1 < 600 and 0 <= y1 < 300
    assert upper_torso_box((0, 0, 0, 0), 640, 360) == (0, 0, 0, 0)
