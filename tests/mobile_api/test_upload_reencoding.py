"""Issue 12, finding 10 (R10, R24): what is kept of an upload is a re-encoded JPEG.

Stored (decrypted through the domain) and served (over HTTP), an enrolled photo carries no
EXIF (GPS, serial), ICC profile, comment or trailing bytes; a PNG or WebP upload is a JPEG;
an orientation tag is applied; hostile files get a clear 4xx, never a 500. A photo stored
before this change is served as what it is, with ``nosniff``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

import numpy as np
import pytest
from PIL import Image as PILImage

from kernel.domain.records import PhotoRecord
from tests.mobile_api import upload_images as u
from tests.mobile_api.conftest import LiveApi

FIELDS = {"reference": "R-10", "category": "wanted", "source": "PNC", "reason": "warrant"}
METADATA_MARKERS = {0xE1: "APP1 (EXIF, XMP)", 0xE2: "APP2 (ICC)", 0xED: "APP13 (Photoshop)",
                    0xFE: "COM (comment)"}


def _draft(api: LiveApi) -> str:
    now = api.clock.now()
    with api.client("commander") as c:
        r = c.post("/api/deployments", json={
            "name": "Re-encoding", "authorising_officer": "Supt B", "location": "Square",
            "starts_at": (now + timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(hours=5)).isoformat(), "objectives": "o",
            "case_reference": "CR-10", "command_team": ["commander"]})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


def _enrol(api: LiveApi, data: bytes, name: str, media: str) -> tuple[str, bytes, bytes]:
    """Upload one photo as the technical user: (entry id, stored bytes, served bytes), after
    checking the served response's type and headers."""
    dep = _draft(api)
    with api.client("technical") as c:
        r = c.post(f"/api/deployments/{dep}/watchlist", data=FIELDS,
                   files={"photos": (name, data, media)})
        assert r.status_code == 201, r.text
        entry = str(r.json()["entry_id"])
        served = c.get(f"/api/watchlist/entries/{entry}/photos/1")
        assert served.status_code == 200, served.text
        assert served.headers["content-type"] == "image/jpeg"
        assert served.headers["x-content-type-options"] == "nosniff"
    (stored,) = api.call(api.gov.watchlists.photos(entry))
    return entry, stored, served.content


def _assert_clean_jpeg(data: bytes) -> PILImage.Image:
    """A baseline JPEG with nothing but its pixels: no metadata segment, nothing after EOI."""
    markers = u.segments(data)
    assert not {m: METADATA_MARKERS[m] for m in markers if m in METADATA_MARKERS}
    assert data.endswith(b"\xff\xd9") and u.POLYGLOT_TAIL not in data
    for needle in (b"Exif", b"GPS", b"SN-998877", b"SecretCam", u.SECRET_COMMENT, b"<html",
                   b"http://ns.adobe.com/xap"):
        assert needle not in data, needle
    img = PILImage.open(io.BytesIO(data))
    assert img.format == "JPEG" and img.mode == "RGB"
    assert not img.getexif() and not {"exif", "icc_profile", "comment", "xmp"} & set(img.info)
    return img


def test_issue12_finding10_exif_gps_icc_comment_and_trailing_html_are_gone(
        live_api: LiveApi) -> None:
    """A JPEG with GPS EXIF, an ICC profile, a comment and HTML after its end (a polyglot)
    is enrolled; stored and served is one clean JPEG, the same bytes both ways."""
    data = u.jpeg_with_everything()
    original = PILImage.open(io.BytesIO(data))
    assert original.getexif().get_ifd(0x8825) and "icc_profile" in original.info  # the input
    _, stored, served = _enrol(live_api, data, "custody.jpg", "image/jpeg")
    assert stored == served
    img = _assert_clean_jpeg(stored)
    assert img.size == original.size


@pytest.mark.parametrize("make,name,media", [
    (u.png_with_metadata, "photo.png", "image/png"),
    (u.webp_with_metadata, "photo.webp", "image/webp"),
])
def test_issue12_finding10_png_and_webp_uploads_are_stored_and_served_as_jpeg(
        live_api: LiveApi, make: Callable[[], bytes], name: str, media: str) -> None:
    _, stored, served = _enrol(live_api, make(), name, media)
    assert stored == served
    _assert_clean_jpeg(stored)


def test_issue12_finding10_rotated_orientation_photo_is_stored_upright(
        live_api: LiveApi) -> None:
    """Stored sideways with orientation 6: kept upright (the face photo's own size and
    pixels), with no orientation tag left to apply twice."""
    upright = u.face()
    sideways = PILImage.open(io.BytesIO(u.rotated()))
    assert sideways.size == upright.size[::-1]  # the input really is sideways
    _, stored, served = _enrol(live_api, u.rotated(), "sideways.jpg", "image/jpeg")
    assert stored == served
    img = _assert_clean_jpeg(served)
    assert img.size == upright.size
    diff = np.abs(np.asarray(img, np.float64) - np.asarray(upright, np.float64)).mean()
    assert diff < 4.0, diff  # JPEG loss only; a wrong turn differs by tens of levels


@pytest.mark.parametrize("make", [u.cmyk_jpeg, u.sixteen_bit_png, u.palette_png,
                                  u.animated_webp])
def test_issue12_finding10_cmyk_16bit_palette_and_animated_become_one_rgb_jpeg(
        live_api: LiveApi, make: Callable[[], bytes]) -> None:
    _, stored, _ = _enrol(live_api, make(), "odd.img", "application/octet-stream")
    img = _assert_clean_jpeg(stored)
    assert img.size == u.face().size and getattr(img, "n_frames", 1) == 1


@pytest.mark.parametrize("make,rejection", [
    (u.truncated, "not_an_image"),
    (u.html_with_jpeg_magic, "not_an_image"),
    (u.png_bomb, "too_large"),
    (lambda: b"", "not_an_image"),
    (lambda: u.POLYGLOT_TAIL, "not_an_image"),
])
def test_issue12_finding10_hostile_files_are_a_clear_422_never_500(
        live_api: LiveApi, make: Callable[[], bytes], rejection: str) -> None:
    dep = _draft(live_api)
    with live_api.client("technical") as c:
        r = c.post(f"/api/deployments/{dep}/watchlist", data=FIELDS,
                   files={"photos": ("hostile.jpg", make(), "image/jpeg")})
        assert r.status_code == 422, r.text
        (result,) = r.json()["results"]
        assert result["rejection"] == rejection and result["message"].startswith("hostile.jpg")
        assert c.get(f"/api/deployments/{dep}/watchlist").json() == []


async def _legacy_photo(api: LiveApi, entry_id: str, data: bytes) -> int:
    """Store ``data`` as the entry's photo the way uploads were stored before re-encoding
    (the uploaded bytes, sealed): the domain is bypassed on purpose."""
    rec = await api.gov.watchlists.entry(entry_id)
    blob = await api.gov.ctx.keys.seal(rec.deployment_id, "photo", data)
    async with api.gov.store.transaction() as tx:
        await tx.blobs.insert(blob)
        await tx.watchlists.insert_photo(PhotoRecord(
            key=0, entry_id=entry_id, deployment_id=rec.deployment_id, photo_blob=blob.id,
            template_blob=None, model_id="legacy", quality={}, created_at=api.clock.now()))
        return len(await tx.watchlists.photos(rec.deployment_id, entry_id))


def test_issue12_finding10_photos_stored_before_are_served_as_their_true_type(
        live_api: LiveApi) -> None:
    """A PNG stored raw by an older version is served as ``image/png`` (never relabelled
    JPEG); bytes that are no image type at all as ``application/octet-stream``; both
    ``nosniff``."""
    entry, _, _ = _enrol(live_api, u.jpeg_with_everything(), "a.jpg", "image/jpeg")
    png = u.encoded("PNG")
    at_png = live_api.call(_legacy_photo(live_api, entry, png))
    at_html = live_api.call(_legacy_photo(live_api, entry, u.POLYGLOT_TAIL))
    with live_api.client("technical") as c:
        r = c.get(f"/api/watchlist/entries/{entry}/photos/{at_png}")
        assert r.status_code == 200 and r.content == png
        assert r.headers["content-type"] == "image/png"
        assert r.headers["x-content-type-options"] == "nosniff"
        r = c.get(f"/api/watchlist/entries/{entry}/photos/{at_html}")
        assert r.headers["content-type"] == "application/octet-stream"
        assert r.headers["x-content-type-options"] == "nosniff"


def test_issue12_finding10_r6_alert_watchlist_image_is_the_clean_jpeg(
        live_api: LiveApi) -> None:
    """The officer's view of a confirmed alert (R6): the entry's photo (seeded from a photo
    with real EXIF, XMP, ICC and Photoshop data) comes back clean, typed, ``nosniff``."""
    with live_api.client("officer") as c:
        r = c.get(f"/api/alerts/{live_api.seed.confirmed}/images/watchlist")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "image/jpeg"
        assert r.headers["x-content-type-options"] == "nosniff"
        _assert_clean_jpeg(r.content)
        r = c.get(f"/api/alerts/{live_api.seed.confirmed}/images/face")
        assert r.headers["content-type"] == "image/jpeg"
