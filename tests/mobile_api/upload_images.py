"""Photos a hostile or unlucky enroller uploads, made from a real face photo for the upload
tests (issue 12, finding 10): metadata and trailing bytes, other formats and modes, a
rotated orientation, a decompression bomb, a truncated file."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import numpy as np
from PIL import ExifTags, ImageCms
from PIL import Image as PILImage

FACES = Path(__file__).resolve().parents[2] / "demo" / "faces"
FACE = FACES / "obama2.jpg"
POLYGLOT_TAIL = b"<html><body><script>alert(document.cookie)</script></body></html>"
SECRET_COMMENT = b"taken-by PC 4321 at the custody suite"


def face() -> PILImage.Image:
    """The upright face photo, RGB."""
    with PILImage.open(FACE) as img:
        return img.convert("RGB")


def gps_exif(orientation: int = 1) -> PILImage.Exif:
    """EXIF with a GPS position (Westminster), a camera serial and ``orientation``."""
    exif = PILImage.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "SecretCam"
    exif[ExifTags.Base.BodySerialNumber] = "SN-998877"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 1.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 39.0)
    return exif


def srgb_icc() -> bytes:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return bytes(profile.tobytes())


def jpeg_with_everything() -> bytes:
    """The face as a JPEG with GPS EXIF, an ICC profile, a comment, and HTML appended after
    its end (a JPEG/HTML polyglot)."""
    out = io.BytesIO()
    face().save(out, "JPEG", quality=92, exif=gps_exif(1).tobytes(), icc_profile=srgb_icc(),
                comment=SECRET_COMMENT)
    return out.getvalue() + POLYGLOT_TAIL


def rotated() -> bytes:
    """The face stored sideways (turned 90° anticlockwise) with orientation 6, which says
    "turn 90° clockwise to show": upright once the tag is applied."""
    out = io.BytesIO()
    face().transpose(PILImage.Transpose.ROTATE_90).save(
        out, "JPEG", quality=92, exif=gps_exif(6).tobytes())
    return out.getvalue()


def encoded(fmt: str, image: PILImage.Image | None = None, **params: object) -> bytes:
    out = io.BytesIO()
    (image or face()).save(out, fmt, **params)
    return out.getvalue()


def png_with_metadata() -> bytes:
    from PIL import PngImagePlugin
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SECRET_COMMENT.decode())
    return encoded("PNG", pnginfo=info, exif=gps_exif(1).tobytes())


def webp_with_metadata() -> bytes:
    return encoded("WEBP", quality=90, exif=gps_exif(1).tobytes(), icc_profile=srgb_icc())


def cmyk_jpeg() -> bytes:
    return encoded("JPEG", face().convert("CMYK"), quality=92)


def sixteen_bit_png() -> bytes:
    grey = np.asarray(face().convert("L"), dtype=np.uint16) * 257
    return encoded("PNG", PILImage.fromarray(grey))  # uint16: mode I;16


def palette_png() -> bytes:
    pal = face().convert("P", palette=PILImage.Palette.ADAPTIVE, colors=256)
    return encoded("PNG", pal, transparency=0)


def animated_webp() -> bytes:
    first = face()
    second = PILImage.new("RGB", first.size, (0, 0, 0))
    return encoded("WEBP", first, save_all=True, append_images=[second], duration=100,
                   loop=0, quality=85)


def truncated() -> bytes:
    data = FACE.read_bytes()
    return data[: len(data) // 2]


def html_with_jpeg_magic() -> bytes:
    """HTML that starts like a JPEG: a sniffer's polyglot, not an image."""
    return b"\xff\xd8\xff\xe0" + POLYGLOT_TAIL


def png_bomb(width: int = 8000, height: int = 6000) -> bytes:
    """A greyscale PNG of ``width`` × ``height`` zeros (48 MP, over the engine's 40 MP limit)
    in a few tens of kilobytes: what a decompression bomb looks like."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return len(body).to_bytes(4, "big") + kind + body + crc.to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    packer = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def segments(jpeg: bytes) -> list[int]:
    """The marker of every JPEG segment before the image data (APPn, COM, DQT, …)."""
    assert jpeg[:2] == b"\xff\xd8", "not a JPEG"
    markers, at = [], 2
    while at + 4 <= len(jpeg):
        assert jpeg[at] == 0xFF, f"no marker at {at}"
        marker = jpeg[at + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        at += 2 + int.from_bytes(jpeg[at + 2:at + 4], "big")
    return markers
