"""Sealing what crosses the link: AES-256-GCM under a key per deployment and purpose.

Edges and consoles share one 32-byte *link key* (``PINCHPOINT_LINK_KEY``, else the file
``[node] link_key_file``; 64 hex digits or urlsafe base64, like the master key). From it each
deployment gets its own key by HKDF-SHA256 for carrying its *list secret* (``listkey``).

A deployment's watch-list bundles (console → edge) and its candidate evidence (edge →
console) are sealed under keys derived from its **list secret**, not from the link key, one
per purpose, so a ciphertext never opens under another deployment or purpose; the associated
data binds it to its message (the candidate's key). The console derives the secret from the
deployment's data key (:func:`list_secret`; the key a wipe destroys, R16, R24), hands it to
the edges sealed under the link key through the broker's *memory* (never its disk), and
every holder drops it when the deployment ends or is wiped (:meth:`LinkCipher.forget`). So a
copy of the broker's disk, taken at any time and read with the link key, never opens a list
nor a candidate waiting there: they need the secret, which was never on it, and after a wipe
nobody can derive it again. The broker, its disk and anyone reading the stream see only ciphertext.
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

Purpose = Literal["watchlist", "evidence", "listkey"]


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


def _derive(secret: bytes, info: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=info.encode()).derive(secret)


def list_secret(data_key: bytes, deployment_id: str) -> bytes:
    """A deployment's list secret, from its data key: the same after a console's restart (so
    the bundles it published are adopted), underivable once a wipe destroyed the data key."""
    return _derive(data_key, f"pinchpoint/link/v2|list-secret|{deployment_id}")


class LinkCipher:
    """Seals and opens link messages; derived keys are cached per (purpose, deployment).

    ``watchlist`` and ``evidence`` seals need the deployment's list secret, given by
    :meth:`hold` (or, to open one message, :meth:`open_under`); ``listkey`` derives from the
    link key alone."""

    def __init__(self, link_key: bytes) -> None:
        if len(link_key) != 32:
            raise ValueError("the link key is 32 bytes")
        self._root = link_key
        self._keys: dict[tuple[str, str], AESGCM] = {}
        self._secrets: dict[str, bytes] = {}

    def _aead(self, purpose: Purpose, deployment_id: str) -> AESGCM:
        cached = self._keys.get((purpose, deployment_id))
        if cached is None:
            if purpose != "listkey":
                secret = self._secrets.get(deployment_id)
                if secret is None:
                    raise SealBroken(f"no list secret held for deployment {deployment_id}")
                key = _derive(secret, f"pinchpoint/link/v2|{purpose}|{deployment_id}")
            else:
                key = _derive(self._root, f"pinchpoint/link/v1|{purpose}|{deployment_id}")
            cached = self._keys[(purpose, deployment_id)] = AESGCM(key)
        return cached

    def hold(self, deployment_id: str, secret: bytes) -> None:
        """Hold a deployment's list secret (memory only) so its bundles seal and open."""
        if len(secret) != 32:
            raise SealBroken("a list secret is 32 bytes")
        if self._secrets.get(deployment_id) != secret:
            for purpose in ("watchlist", "evidence"):  # both derive from the secret
                self._keys.pop((purpose, deployment_id), None)
            self._secrets[deployment_id] = secret

    def holds(self, deployment_id: str) -> bool:
        """Whether the deployment's list secret is held here."""
        return deployment_id in self._secrets

    def open_under(self, secret: bytes, purpose: Purpose, deployment_id: str, bound: str,
                   sealed: bytes) -> bytes:
        """As :meth:`open`, under the given list secret, holding nothing afterwards (the
        console's intake: the secret comes from the deployment's data key for each message,
        so a wipe leaves no copy of it here)."""
        if purpose == "listkey":
            raise SealBroken("a list secret opens no list secret")
        transient = LinkCipher(self._root)
        transient.hold(deployment_id, secret)
        return transient.open(purpose, deployment_id, bound, sealed)

    def forget(self, deployment_id: str) -> None:
        """Drop a deployment's list secret and derived keys from memory (ended or wiped)."""
        self._secrets.pop(deployment_id, None)
        for purpose in ("watchlist", "evidence", "listkey"):
            self._keys.pop((purpose, deployment_id), None)

    def seal_secret(self, deployment_id: str) -> bytes:
        """The held list secret sealed under the link key, for the broker's memory."""
        secret = self._secrets.get(deployment_id)
        if secret is None:
            raise SealBroken(f"no list secret held for deployment {deployment_id}")
        return self.seal("listkey", deployment_id, deployment_id, secret)

    def hold_sealed(self, deployment_id: str, sealed: bytes) -> None:
        """Open a list secret :meth:`seal_secret` sealed and hold it; :class:`SealBroken`
        when it does not open (another link key, another deployment, altered)."""
        self.hold(deployment_id, self.open("listkey", deployment_id, deployment_id, sealed))

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
