"""Signed image URLs carried by MQTT notices (R6, R24)."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from kernel.delivery import signed_urls

SECRET = b"k" * 32
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
PATH = "/api/alerts/alert-0001/images/torso"


def parts(url: str) -> tuple[str, str, str]:
    u = urlsplit(url)
    q = {k: v[0] for k, v in parse_qs(u.query).items()}
    return u.path, q["exp"], q["sig"]


def test_valid_link_verifies_until_it_expires() -> None:  # R24
    path, exp, sig = parts(signed_urls.sign(PATH, 300, SECRET, NOW))
    assert path == PATH and int(exp) == int(NOW.timestamp()) + 300
    assert signed_urls.verify(path, exp, sig, SECRET, NOW)
    assert signed_urls.verify(path, int(exp), sig, SECRET, NOW + timedelta(seconds=299))
    assert not signed_urls.verify(path, exp, sig, SECRET, NOW + timedelta(seconds=300))


def test_tampering_is_refused() -> None:  # R24
    path, exp, sig = parts(signed_urls.sign(PATH, 300, SECRET, NOW))
    other_image = "/api/alerts/alert-0001/images/watchlist"
    other_alert = "/api/alerts/alert-0002/images/torso"
    assert not signed_urls.verify(other_image, exp, sig, SECRET, NOW)
    assert not signed_urls.verify(other_alert, exp, sig, SECRET, NOW)
    assert not signed_urls.verify(path, int(exp) + 3600, sig, SECRET, NOW)  # longer life
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    assert not signed_urls.verify(path, exp, flipped, SECRET, NOW)
    assert not signed_urls.verify(path, exp, sig[:-1], SECRET, NOW)
    assert not signed_urls.verify(path, exp, sig, b"another-secret-of-32-bytes-long!", NOW)
    assert not signed_urls.verify(path, "soon", sig, SECRET, NOW)
    assert not signed_urls.verify(path, exp, "", SECRET, NOW)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        signed_urls.sign(PATH, 0, SECRET, NOW)
    with pytest.raises(ValueError):
        signed_urls.sign("api/alerts/x", 10, SECRET, NOW)
    with pytest.raises(ValueError):
        signed_urls.sign(PATH + "?a=1", 10, SECRET, NOW)


def test_secret_is_made_once_private(tmp_path: Path) -> None:  # R23
    first = signed_urls.load_or_create_secret(tmp_path / "keys")
    assert len(first) == signed_urls.SECRET_BYTES
    file = tmp_path / "keys" / signed_urls.SECRET_FILE
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert signed_urls.load_or_create_secret(tmp_path / "keys") == first
