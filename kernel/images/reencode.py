"""What is kept of an uploaded photo (issue 12, finding 10; R24): never the uploaded bytes,
always a fresh baseline JPEG of its upright pixels.

Re-encoding drops everything a file can carry besides its pixels: EXIF (GPS position, camera
serial, the time taken), XMP, ICC profiles, comments, thumbnails, and any bytes appended after
the image (a polyglot's HTML or script). The orientation tag is applied first, so the stored
photo is upright without it. One format for every stored photo: JPEG (PNG and WebP uploads
too), so what is served is always ``image/jpeg``.
"""

from __future__ import annotations

import io

from PIL import Image as PILImage

from kernel.images.upload_decode import decode_upload

JPEG_QUALITY = 90
"""The candidate crops' quality (``kernel.pipeline.crops``). Measured on the demo's 4 face
photos (JPEGs of 184-595 KB, 0.7-3.3 MP): 0.79-0.99 × the uploaded size at 41.9-42.9 dB PSNR
against the upload's pixels; 85 saved 10-20 % more for 1-3 dB less, 95 cost 1.07-1.36 × for
1.6-2.2 dB more."""

MAX_PIXELS = 89_478_485
"""Pillow's own decompression-bomb threshold (``Image.MAX_IMAGE_PIXELS``): the engine's
``max_upload_pixels`` (40 MP by default) is checked before this; this bound only keeps the
re-encoder safe on its own."""


def reencode_upload(data: bytes, max_pixels: int = MAX_PIXELS,
                    quality: int = JPEG_QUALITY) -> bytes:
    """The JPEG to store for an uploaded photo: upright, RGB, no metadata, nothing after the
    image. Raises :class:`~kernel.images.upload_decode.UnusableImage`. CPU work: run it in
    an executor."""
    return jpeg_of(decode_upload(data, max_pixels), quality)


def jpeg_of(image: PILImage.Image, quality: int = JPEG_QUALITY) -> bytes:
    """A baseline JPEG of ``image`` with no metadata (no EXIF, ICC or comment is passed to
    the encoder, and the image's ``info`` is not consulted)."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=b"", icc_profile=None, comment=b"")
    return out.getvalue()
