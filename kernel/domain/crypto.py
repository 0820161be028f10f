"""Envelope encryption of everything personal that is stored (R24).

Each deployment has its own random 256-bit data key. It is kept only in a file
``<data_dir>/keys/deployments/<deployment_id>.key``, wrapped (AES-GCM) by the master key; the
master key comes from ``PINCHPOINT_MASTER_KEY`` (64 hex digits or urlsafe base64 of 32 bytes)
or from ``<data_dir>/keys/master.key`` (mode 0600, made on first start).

The data key deliberately does not live in the database: destroying the key file is what makes
a deployment's images unreadable everywhere, including in a copy or backup of the database
taken earlier (R16, R24). Backups of ``keys/`` must therefore follow the retention rules too.

Every blob is sealed with AES-256-GCM, a fresh 96-bit random nonce and associated data that
binds the ciphertext to its row (blob id, deployment, kind): a ciphertext moved to another row
or deployment fails to open.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kernel.domain.errors import KeyUnavailable
from kernel.domain.records import BlobRecord
from kernel.errors import ConfigError

MASTER_ENV = "PINCHPOINT_MASTER_KEY"
_NONCE = 12


def _aad(blob_id: str, deployment_id: str, kind: str) -> bytes:
    return f"pinchpoint/blob/v1|{blob_id}|{deployment_id}|{kind}".encode()


def parse_key(text: str, where: str, name: str = "master key") -> bytes:
    """A 32-byte key from 64 hex digits or urlsafe base64; a :class:`ConfigError` naming
    the key (``name``) and ``where`` it came from otherwise."""
    text = text.strip()
    try:
        key = bytes.fromhex(text) if len(text) == 64 else base64.urlsafe_b64decode(
            text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error):
        key = b""
    if len(key) != 32:
        raise ConfigError(f"{name} from {where} must be 32 bytes as 64 hex digits or "
                          "urlsafe base64")
    return key


class KeyRing:
    """The master key and the per-deployment data keys, with an in-memory cache."""

    def __init__(self, data_dir: Path, environ: Mapping[str, str] | None = None) -> None:
        self.dir = data_dir / "keys"
        self._environ = os.environ if environ is None else environ
        self._master: bytes | None = None
        self._keys: dict[str, bytes] = {}

    def key_path(self, deployment_id: str) -> Path:
        if not deployment_id.replace("-", "").isalnum():
            raise KeyUnavailable(f"invalid deployment id {deployment_id!r}")
        return self.dir / "deployments" / f"{deployment_id}.key"

    # blocking helpers, run in a thread ------------------------------------------------------
    def _load_master(self) -> bytes:
        if self._master is not None:
            return self._master
        env = self._environ.get(MASTER_ENV)
        if env:
            self._master = parse_key(env, MASTER_ENV)
            return self._master
        path = self.dir / "master.key"
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            self._master = parse_key(path.read_text(), str(path))
        else:
            key = secrets.token_bytes(32)
            with os.fdopen(fd, "w") as fh:
                fh.write(key.hex() + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            self._master = key
        return self._master

    def _create(self, deployment_id: str) -> None:
        master = self._load_master()
        key = AESGCM.generate_key(bit_length=256)
        nonce = secrets.token_bytes(_NONCE)
        wrapped = AESGCM(master).encrypt(nonce, key, f"pinchpoint/dek/v1|{deployment_id}"
                                         .encode())
        path = self.key_path(deployment_id)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(nonce + wrapped)
            fh.flush()
            os.fsync(fh.fileno())
        self._keys[deployment_id] = key

    def _load(self, deployment_id: str) -> bytes:
        if deployment_id in self._keys:
            return self._keys[deployment_id]
        master = self._load_master()
        path = self.key_path(deployment_id)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise KeyUnavailable(f"the data key of deployment {deployment_id} is destroyed; "
                                 "its data cannot be read") from None
        try:
            key = AESGCM(master).decrypt(raw[:_NONCE], raw[_NONCE:],
                                         f"pinchpoint/dek/v1|{deployment_id}".encode())
        except InvalidTag:
            raise KeyUnavailable(f"the master key does not open the data key of deployment "
                                 f"{deployment_id} (wrong {MASTER_ENV} or master.key?)"
                                 ) from None
        self._keys[deployment_id] = key
        return key

    def _destroy(self, deployment_id: str) -> bool:
        self._keys.pop(deployment_id, None)
        path = self.key_path(deployment_id)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return False
        # overwrite before unlinking: best effort against recovery from the same disk
        with path.open("r+b") as fh:
            fh.write(b"\0" * size)
            fh.flush()
            os.fsync(fh.fileno())
        path.unlink()
        return True

    # async API ------------------------------------------------------------------------------
    async def open(self) -> None:
        """Load (or on first start create) the master key."""
        await asyncio.to_thread(self._load_master)

    async def create(self, deployment_id: str) -> None:
        """Make the data key of a new deployment."""
        await asyncio.to_thread(self._create, deployment_id)

    async def data_key(self, deployment_id: str) -> bytes:
        """The deployment's data key; :class:`KeyUnavailable` once destroyed."""
        if deployment_id in self._keys:
            return self._keys[deployment_id]
        return await asyncio.to_thread(self._load, deployment_id)

    async def destroy(self, deployment_id: str) -> bool:
        """Destroy the deployment's data key for good; True if there was one."""
        return await asyncio.to_thread(self._destroy, deployment_id)

    def has_key(self, deployment_id: str) -> bool:
        return self.key_path(deployment_id).exists()

    async def seal(self, deployment_id: str, kind: str, plaintext: bytes,
                   blob_id: str | None = None) -> BlobRecord:
        """Encrypt ``plaintext`` into a new blob record of ``deployment_id``."""
        key = await self.data_key(deployment_id)
        blob_id = blob_id or secrets.token_hex(16)
        nonce = secrets.token_bytes(_NONCE)
        ct = AESGCM(key).encrypt(nonce, plaintext, _aad(blob_id, deployment_id, kind))
        return BlobRecord(id=blob_id, deployment_id=deployment_id, kind=kind, nonce=nonce,
                          ciphertext=ct)

    async def unseal(self, blob: BlobRecord) -> bytes:
        """Decrypt a blob; :class:`KeyUnavailable` if the key is gone or the blob was moved."""
        key = await self.data_key(blob.deployment_id)
        try:
            return AESGCM(key).decrypt(blob.nonce, blob.ciphertext,
                                       _aad(blob.id, blob.deployment_id, blob.kind))
        except InvalidTag:
            raise KeyUnavailable(f"blob {blob.id} does not open with its deployment's key "
                                 "(tampered or moved)") from None
