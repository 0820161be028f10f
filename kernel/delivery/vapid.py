"""The server's VAPID key pair (RFC 8292) for Web Push: made once, kept under the data directory.

``<data_dir>/keys/vapid_private.pem`` (PKCS#8, 0600) holds the P-256 private key; the public
key, as the base64url uncompressed point that the PWA passes to
``pushManager.subscribe({applicationServerKey})``, is written beside it in
``vapid_public.txt`` (0600) so the API can serve it without touching the private key. Changing
the key invalidates every existing subscription, so it is never replaced unless forced.

This module owns both file names: the Web Push sink writes them (:func:`load_or_create`), the
API reads the public one (:func:`read_public`); nobody else spells them. Uses only
``cryptography``; the CLI (``pinchpoint vapid init``) and the Web Push sink share it.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

PRIVATE_FILE = "vapid_private.pem"
PUBLIC_FILE = "vapid_public.txt"
KEYS_DIR = "keys"
"""The key directory under the data directory unless a sink's ``keys_dir`` says otherwise."""


@dataclass(frozen=True)
class VapidKeys:
    """The loaded key pair. ``public_key_b64url`` is the PWA's ``applicationServerKey``."""

    private_key: ec.EllipticCurvePrivateKey
    public_key_b64url: str
    private_path: Path


def public_key_b64url(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> str:
    """The uncompressed P-256 point (65 bytes), base64url without padding."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.X962,
                              serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def keys_dir(data_dir: Path, configured: str | None = None) -> Path:
    """Where the key pair lives: a sink's ``keys_dir`` (relative to ``data_dir``), else
    ``<data_dir>/keys``. The sink and the API both ask here."""
    path = Path(configured or KEYS_DIR)
    return path if path.is_absolute() else data_dir / path


def read_public(keys_dir: Path) -> str | None:
    """The public key (base64url) the Web Push sink wrote under ``keys_dir``, or None when
    there is none (no Web Push sink configured yet). Blocking file I/O."""
    try:
        return (keys_dir / PUBLIC_FILE).read_text().strip() or None
    except OSError:
        return None


def _write_public(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    path.chmod(0o600)


def _write_private(path: Path, pem: bytes, force: bool) -> bool:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        return False  # another process made it first: use that one
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    path.chmod(0o600)  # O_TRUNC on an existing file keeps its old mode
    return True


def load_or_create(keys_dir: Path, force: bool = False) -> VapidKeys:
    """Load the VAPID key pair from ``keys_dir``, creating it (0600) when absent.

    ``force`` replaces an existing key (every device must then subscribe again). Blocking
    file I/O and key generation: call at start-up or through ``asyncio.to_thread``.
    """
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    private_path = keys_dir / PRIVATE_FILE
    if force or not private_path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        _write_private(private_path, pem, force)
    loaded = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey) or loaded.curve.name != "secp256r1":
        raise ValueError(f"{private_path} is not a P-256 private key")
    public = public_key_b64url(loaded)
    public_path = keys_dir / PUBLIC_FILE
    if not public_path.exists() or public_path.read_text().strip() != public:
        _write_public(public_path, public + "\n")
    return VapidKeys(private_key=loaded, public_key_b64url=public, private_path=private_path)
