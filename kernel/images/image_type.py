"""The true type of a stored image, told from its first bytes, for serving it.

Photos enrolled since uploads are re-encoded (:mod:`kernel.images.reencode`) are all JPEG.
Photos stored before that are the uploaded bytes: they are served as what they are (a PNG as
``image/png``), never relabelled, and with ``X-Content-Type-Options: nosniff`` a browser does
not guess otherwise. Anything unrecognised is ``application/octet-stream``, which no browser
renders inline.
"""

from __future__ import annotations

import msgspec


class ImageType(msgspec.Struct, frozen=True):
    """A media type and the file extension that goes with it."""

    media_type: str
    extension: str


JPEG = ImageType("image/jpeg", "jpg")
PNG = ImageType("image/png", "png")
WEBP = ImageType("image/webp", "webp")
UNKNOWN = ImageType("application/octet-stream", "bin")


def sniff(data: bytes) -> ImageType:
    """JPEG, PNG or WebP by their signatures; :data:`UNKNOWN` otherwise."""
    if data[:3] == b"\xff\xd8\xff":
        return JPEG
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return UNKNOWN
