"""Logging: JSON lines on request, and no array or byte data ever reaches a log (R3)."""

from __future__ import annotations

import io
import json
import logging

import numpy as np
import pytest

from kernel import logs


@pytest.fixture
def captured() -> io.StringIO:
    logs.setup("debug", "json")
    stream = io.StringIO()
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_pinchpoint", False))
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    return stream


def test_json_lines(captured: io.StringIO) -> None:
    logging.getLogger("pinchpoint.test").info("camera %s up", "gate-1", extra={"fps": 25})
    entry = json.loads(captured.getvalue().strip())
    assert entry["message"] == "camera gate-1 up"
    assert entry["fps"] == 25
    assert entry["level"] == "info"


def test_r3_face_data_is_never_logged(captured: io.StringIO) -> None:
    """R3: a template or crop passed to a logger by mistake is blanked before formatting."""
    template = np.arange(128, dtype=np.float32) / 7
    crop = np.full((4, 4, 3), 201, np.uint8)
    log = logging.getLogger("pinchpoint.test")
    log.warning("template %s crop %r", template, crop)
    log.warning("bytes %s", template.tobytes(), extra={"chip": crop})
    text = captured.getvalue()
    assert "0.14285" not in text and "201" not in text
    assert text.count(logs.REDACTED) == 4


async def test_r3_r24_debug_logging_writes_no_sql_parameters_or_photo_metadata(
        captured: io.StringIO) -> None:
    """issue 12, finding 12: at ``debug`` the database driver logged every call with its
    parameters (Argon2 hashes, ciphertext) and Pillow every EXIF tag of an uploaded photo.
    No log level lets either through."""
    import aiosqlite
    from PIL import Image

    async with aiosqlite.connect(":memory:") as db:
        await db.execute("CREATE TABLE t (v BLOB, h TEXT)")
        await db.execute("INSERT INTO t VALUES (?, ?)",
                         (b"CIPHERTEXT-7f3a", "$argon2id$v=19$SECRET-HASH"))
        await db.commit()
    exif = Image.Exif()
    exif[0x013B] = "EXIF-ARTIST-SECRET"  # Artist
    photo = io.BytesIO()
    Image.new("RGB", (8, 8)).save(photo, "JPEG", exif=exif)
    with Image.open(io.BytesIO(photo.getvalue())) as img:
        img.getexif()
        img.load()
    text = captured.getvalue()
    for secret in ("CIPHERTEXT", "SECRET-HASH", "EXIF-ARTIST-SECRET"):
        assert secret not in text, secret
