"""Fuzz the upload path's image checks (issue 12, fault suite; R10, R23):
:func:`adapters.engine.quality.check_upload` on random bytes and on real JPEG, PNG and WebP
files of every pixel mode, truncated, bit-flipped, spliced or padded, always answers an RGB
image or a :class:`Rejection`, never raises, and never decodes more pixels than allowed."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from adapters.engine.quality import Rejection, check_upload
from tests.faults.fuzz_budget import fuzz

pytestmark = pytest.mark.faults

MAX_BYTES, MAX_PIXELS = 200_000, 64 * 64

MODES = ["RGB", "L", "LA", "RGBA", "P", "1", "I;16", "I", "CMYK", "F"]
FORMATS = ["JPEG", "PNG", "WEBP"]


def to_mode(img: Image.Image, mode: str) -> Image.Image:
    if mode in ("I", "I;16", "F"):
        wide = img.convert("L").convert("I")
        return wide if mode == "I" else wide.convert(mode)
    return img.convert(mode)


@st.composite
def images(draw: st.DrawFn) -> bytes:
    """A real encoded image (some modes a format cannot hold are converted or skipped)."""
    fmt = draw(st.sampled_from(FORMATS))
    mode = draw(st.sampled_from(MODES))
    w, h = draw(st.integers(1, 80)), draw(st.integers(1, 80))
    seed = draw(st.integers(0, 2**32 - 1))
    pixels = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    img = to_mode(Image.fromarray(pixels, "RGB"), mode)
    if fmt == "PNG" and img.mode == "I":
        img = img.convert("I;16")  # Pillow 12 deprecates 32-bit PNGs; 16-bit is the real case
    out = io.BytesIO()
    try:
        img.save(out, fmt)
    except (OSError, ValueError, KeyError):
        img.convert("RGB").save(out, fmt)
    return out.getvalue()


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(images()))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "pad", "splice"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if op == "truncate":
            del data[at:]
        elif op == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "pad":
            data += draw(st.binary(max_size=64))
        else:
            data[at:at + 4] = draw(st.sampled_from([b"\xff\xd9", b"\xff\xd8\xff", b"IEND",
                                                    b"\xff" * 4, b"\0\0\0\0"]))
    return bytes(data)


def check(data: bytes) -> None:
    result = check_upload(data, MAX_BYTES, MAX_PIXELS)
    if isinstance(result, Rejection):
        return
    assert result.dtype == np.uint8 and result.ndim == 3 and result.shape[2] == 3
    assert result.shape[0] * result.shape[1] <= MAX_PIXELS


@fuzz(examples=150)
@given(data=st.one_of(damaged(), images()))
def test_faults_upload_damaged_images_are_refused_or_decoded_never_raised(data: bytes) -> None:
    check(data)


@fuzz(examples=60)
@given(data=st.binary(max_size=512) | st.sampled_from(FORMATS).flatmap(
    lambda f: st.binary(max_size=256).map(lambda b, f=f: {
        "JPEG": b"\xff\xd8\xff\xe0", "PNG": b"\x89PNG\r\n\x1a\n", "WEBP": b"RIFF\0\0\0\0WEBP",
    }[f] + b)))
def test_faults_upload_random_bytes_behind_a_real_magic_number_are_refused(data: bytes) -> None:
    assert isinstance(check_upload(data, MAX_BYTES, MAX_PIXELS), Rejection)
