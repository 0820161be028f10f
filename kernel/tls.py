"""A local certificate authority and server certificate for the closed network (R23).

The access point is closed, so no public CA can vouch for the server. ``init_tls`` makes a
small local CA and a server certificate signed by it, with the names and addresses officers'
devices use in its subjectAltName. Devices trust the CA certificate (installed once, when a
device is enrolled); the API (HTTPS) and Mosquitto (MQTT over TLS and WSS) present the server
certificate. Keys are written 0600, and nothing is overwritten unless forced: re-running is
harmless, while a new CA would lock out every enrolled device.

Files in the directory: ``ca.pem``, ``ca.key``, ``server.pem`` (server then CA certificate),
``server.key``.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT, CA_KEY = "ca.pem", "ca.key"
SERVER_CERT, SERVER_KEY = "server.pem", "server.key"


@dataclass(frozen=True)
class TlsFiles:
    """Paths of what :func:`init_tls` made or found; ``created`` is False when all existed."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    created: bool


def _write(path: Path, data: bytes, private: bool) -> None:
    # Write then rename, so a crash never leaves a half-written key that looks valid.
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    tmp.chmod(0o600 if private else 0o644)
    tmp.replace(path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Pinchpoint"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _make_ca(days: int, now: datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("Pinchpoint local CA")
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_server(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    hostnames: list[str],
    ips: list[str],
    days: int,
    now: datetime,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    san: list[x509.GeneralName] = [x509.DNSName(h) for h in hostnames]
    san += [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
    common = hostnames[0] if hostnames else ips[0]
    # A server certificate must not outlive its CA.
    not_after = min(now + timedelta(days=days), ca_cert.not_valid_after_utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common)).issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=True, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def init_tls(
    directory: Path,
    hostnames: list[str] | None = None,
    ips: list[str] | None = None,
    days: int = 825,
    ca_days: int = 3650,
    force: bool = False,
    now: datetime | None = None,
) -> TlsFiles:
    """Make (or find) the local CA and a server certificate for ``hostnames`` and ``ips``.

    - Nothing is overwritten unless ``force``: an existing CA is reused; an existing server
      certificate is kept.
    - With ``force`` the server certificate is re-issued (e.g. for a new address) from the
      existing CA; the CA is replaced only if its files are missing.
    - Defaults: ``localhost`` and ``127.0.0.1`` when no name or address is given.
    Raises ``ValueError`` for an address that is not an IP address.
    """
    hostnames = list(hostnames or [])
    ips = [str(ipaddress.ip_address(a)) for a in (ips or [])]
    if not hostnames and not ips:
        hostnames, ips = ["localhost"], ["127.0.0.1"]
    if days <= 0 or ca_days <= 0:
        raise ValueError("validity must be positive")
    now = now or datetime.now(UTC)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths = TlsFiles(directory / CA_CERT, directory / CA_KEY, directory / SERVER_CERT,
                     directory / SERVER_KEY, created=False)
    created = False
    if paths.ca_cert.exists() and paths.ca_key.exists():
        loaded = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{paths.ca_key} is not an EC private key")
        ca_key = loaded
        ca_cert = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    else:
        ca_key, ca_cert = _make_ca(ca_days, now)
        _write(paths.ca_key, _key_pem(ca_key), private=True)
        _write(paths.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM), private=False)
        created = True
    if force or created or not (paths.server_cert.exists() and paths.server_key.exists()):
        key, cert = _make_server(ca_key, ca_cert, hostnames, ips, days, now)
        chain = (cert.public_bytes(serialization.Encoding.PEM)
                 + ca_cert.public_bytes(serialization.Encoding.PEM))
        _write(paths.server_key, _key_pem(key), private=True)
        _write(paths.server_cert, chain, private=False)
        created = True
    return TlsFiles(paths.ca_cert, paths.ca_key, paths.server_cert, paths.server_key, created)
