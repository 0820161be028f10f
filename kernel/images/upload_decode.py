"""Decoding an uploaded photo safely (R10): the one decoder the engine's checks and the
re-encoding of what is stored share.

Only JPEG, PNG and WebP are opened. The pixel count in the header is checked before any pixel
is decoded, so a decompression bomb costs a header read. A truncated or corrupt file is refused
even if a library in the process (the ``face_recognition`` baseline does) set Pillow's global
``LOAD_TRUNCATED_IMAGES``. EXIF orientation is applied, transparency is composited on white,
16-bit greyscale is scaled to 8 bits, and every other mode (palette, CMYK, greyscale) becomes
RGB. An animated image gives its first frame. Synchronous CPU work: run it in an executor.
"""

from __future__ import annotations

import io
import threading
import warnings

import numpy as np
from PIL import Image as PILImage
from PIL import ImageFile, ImageOps, UnidentifiedImageError

UPLOAD_FORMATS = ("JPEG", "PNG", "WEBP")


class UnusableImage(Exception):
    """The bytes are not a decodable JPEG, PNG or WebP (``too_large``: over the pixel limit
    or a decompression bomb)."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def decode_upload(data: bytes, max_pixels: int) -> PILImage.Image:
    """The upright RGB image of an uploaded photo, with no metadata; raises
    :class:`UnusableImage`."""
    try:
        with _STRICT, warnings.catch_warnings():
            # Pillow only warns between its bomb limit and twice it: a refusal here
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data), formats=UPLOAD_FORMATS) as img:
                width, height = img.size
                if width < 1 or height < 1:
                    raise UnusableImage("the image has no pixels")
                if width * height > max_pixels:
                    raise UnusableImage(f"{width} × {height} pixels is over the limit of "
                                        f"{max_pixels}", too_large=True)
                _load_strictly(img)
                upright = ImageOps.exif_transpose(img)
                rgb = to_rgb(upright)
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise UnusableImage("a decompression bomb", too_large=True) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UnusableImage("not a readable JPEG, PNG or WebP image") from exc
    # a fresh image: convert() and exif_transpose() copy ``info`` (EXIF, XMP, ICC, comments)
    array = np.asarray(rgb, dtype=np.uint8)
    if array.ndim != 3 or array.shape[2] != 3:
        raise UnusableImage("not an RGB image after conversion")
    return PILImage.fromarray(np.ascontiguousarray(array), "RGB")


_STRICT = threading.Lock()
"""Held for a whole decode: Pillow's ``LOAD_TRUNCATED_IMAGES`` and the warning filters are
process-wide. Enrolment photos are rare; the live pipeline never decodes through here."""


def _load_strictly(img: PILImage.Image) -> None:
    """Decode every pixel, refusing a truncated file whatever Pillow's global
    ``LOAD_TRUNCATED_IMAGES`` says (call it holding :data:`_STRICT`)."""
    lenient = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        img.load()
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient


def to_rgb(img: PILImage.Image) -> PILImage.Image:
    """RGB of any mode a JPEG, PNG or WebP opens in: alpha composited on white, 16-bit
    greyscale scaled (not clipped) to 8 bits."""
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    if has_alpha:
        rgba = img.convert("RGBA")
        white = PILImage.new("RGBA", rgba.size, (255, 255, 255, 255))
        return PILImage.alpha_composite(white, rgba).convert("RGB")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = max(float(arr.max()), 1.0)
        eight = (arr * (255.0 / (65535.0 if top > 255 else 255.0))).clip(0, 255)
        return PILImage.fromarray(eight.astype(np.uint8), mode="L").convert("RGB")
    return img.convert("RGB")
