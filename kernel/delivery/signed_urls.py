"""Short-lived signed URLs for alert images (R6, R24).

An MQTT notice carries links, never images: ``/api/alerts/{id}/images/{kind}?exp=…&sig=…``.
The signature is HMAC-SHA256 over the path and the expiry with a server secret, so a link
copied off the broker is useless after ``exp`` and cannot be bent to another alert or image.
The API still requires an authenticated officer session; the signature only narrows what a
session may fetch through that link, and for how long.

The secret lives in ``<data_dir>/keys/url_secret`` (0600), made on first use by
:func:`load_or_create_secret`; the MQTT sink signs, the API verifies, both read the same file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from datetime import datetime
from pathlib import Path

SECRET_FILE = "url_secret"
SECRET_BYTES = 32


def _mac(path: str, exp: int, secret: bytes) -> str:
    # The newline cannot occur in a URL path, so "path\nexp" is unambiguous.
    digest = hmac.new(secret, f"{path}\n{exp}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def sign(path: str, ttl: float, secret: bytes, now: datetime) -> str:
    """``path`` with ``?exp=<unix seconds>&sig=<base64url HMAC>`` appended.

    ``path`` is the URL path only (no host, no query), e.g. ``/api/alerts/a1/images/torso``;
    ``now`` comes from the caller's clock. ``ttl`` is in seconds and must be positive.
    """
    if ttl <= 0:
        raise ValueError("ttl must be positive")
    if not path.startswith("/") or "?" in path or "\n" in path:
        raise ValueError("path must be an absolute URL path without a query")
    exp = int(now.timestamp() + ttl)
    return f"{path}?exp={exp}&sig={_mac(path, exp, secret)}"


def verify(path: str, exp: int | str, sig: str, secret: bytes, now: datetime) -> bool:
    """True when ``sig`` is the signature of ``path`` and ``exp``, and ``exp`` is still ahead.

    ``exp`` may be the raw query-string value; anything that is not an integer is refused.
    The comparison is constant-time.
    """
    try:
        exp_int = int(exp)
    except (TypeError, ValueError):
        return False
    if now.timestamp() >= exp_int:
        return False
    return hmac.compare_digest(_mac(path, exp_int, secret).encode(), sig.encode())


def load_or_create_secret(keys_dir: Path) -> bytes:
    """The URL-signing secret in ``keys_dir/url_secret``, created (0600) when absent.

    Blocking file I/O: call it at start-up or through ``asyncio.to_thread``.
    """
    path = keys_dir / SECRET_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = secrets.token_bytes(SECRET_BYTES)
        # O_EXCL: two processes starting at once must not end up with different secrets.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    if len(data) < 16:
        raise ValueError(f"{path} is too short to be a URL-signing secret")
    return data
