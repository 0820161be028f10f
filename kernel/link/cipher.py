"""Sealing what crosses the link: AES-256-GCM under a key per deployment and purpose.

Edges and consoles share one 32-byte *link key* (``PINCHPOINT_LINK_KEY``, else the file
``[node] link_key_file``; 64 hex digits or urlsafe base64, like the master key). From it each
deployment gets its own keys by HKDF-SHA256, one for its watch-list bundles (console → edge)
and one for its candidate evidence (edge → console), so a ciphertext never opens under another
deployment or purpose; the associated data binds it to its message (the candidate's key).
The broker, its disk and anyone reading the stream see only ciphertext.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kernel.domain.crypto import parse_key
from kernel.errors import ConfigError

LINK_KEY_ENV = "PINCHPOINT_LINK_KEY"
_NONCE = 12

Purpose = Literal["watchlist", "evidence"]


class SealBroken(Exception):
    """A sealed message does not open: another link key, another deployment, or tampered."""


def parse_link_key(text: str, where: str) -> bytes:
    """32 bytes from 64 hex digits or urlsafe base64; :class:`ConfigError` naming ``where``."""
    return parse_key(text, where, "link key")


def load_link_key(path: Path | None, environ: Mapping[str, str] | None = None) -> bytes:
    """The link key from the environment, else from ``path``; a :class:`ConfigError` when
    neither gives one (an edge or console cannot run without it)."""
    env = (os.environ if environ is None else environ).get(LINK_KEY_ENV)
    if env:
        return parse_link_key(env, LINK_KEY_ENV)
    if path is None:
        raise ConfigError(f"node role edge/console needs a link key: set {LINK_KEY_ENV} or "
                          "[node] link_key_file (the same on every node)")
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read link key file {path}: {exc.strerror}") from None
    return parse_link_key(text, str(path))


class LinkCipher:
    """Seals and opens link messages; derived keys are cached per (purpose, deployment)."""

    def __init__(self, link_key: bytes) -> None:
        if len(link_key) != 32:
            raise ValueError("the link key is 32 bytes")
        self._root = link_key
        self._keys: dict[tuple[str, str], AESGCM] = {}

    def _aead(self, purpose: Purpose, deployment_id: str) -> AESGCM:
        cached = self._keys.get((purpose, deployment_id))
        if cached is None:
            info = f"pinchpoint/link/v1|{purpose}|{deployment_id}".encode()
            key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                       info=info).derive(self._root)
            cached = self._keys[(purpose, deployment_id)] = AESGCM(key)
        return cached

    def forget(self, deployment_id: str) -> None:
        """Drop the derived keys of a deployment from memory (it ended or was wiped)."""
        for purpose in ("watchlist", "evidence"):
            self._keys.pop((purpose, deployment_id), None)

    def seal(self, purpose: Purpose, deployment_id: str, bound: str, data: bytes) -> bytes:
        """nonce ‖ ciphertext of ``data``, bound to ``bound`` (a message key) as well."""
        nonce = secrets.token_bytes(_NONCE)
        aad = f"{purpose}|{deployment_id}|{bound}".encode()
        return nonce + self._aead(purpose, deployment_id).encrypt(nonce, data, aad)

    def open(self, purpose: Purpose, deployment_id: str, bound: str, sealed: bytes) -> bytes:
        """The data :meth:`seal` sealed; :class:`SealBroken` otherwise."""
        if len(sealed) <= _NONCE:
            raise SealBroken("too short to be sealed")
        aad = f"{purpose}|{deployment_id}|{bound}".encode()
        try:
            return self._aead(purpose, deployment_id).decrypt(sealed[:_NONCE],
                                                              sealed[_NONCE:], aad)
        except InvalidTag:
            raise SealBroken("does not open with this link key (another key, another "
                             "deployment, or altered)") from None
