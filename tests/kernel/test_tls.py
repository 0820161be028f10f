"""The local CA and server certificate for the closed network (R23)."""

from __future__ import annotations

import asyncio
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509

from kernel import tls
from kernel.cli.main import main as cli


async def _echo_roundtrip(files: tls.TlsFiles, server_hostname: str) -> bytes:
    """A TLS echo server on 127.0.0.1 with the server certificate; a client that trusts
    only the local CA."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(files.server_cert, files.server_key)

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(await reader.readline())
            await writer.drain()
        except (ssl.SSLError, ConnectionError):
            pass  # the client refused our certificate
        finally:
            writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    client_ctx = ssl.create_default_context(cafile=str(files.ca_cert))  # the only trust root
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_ctx, server_hostname=server_hostname)
        writer.write(b"alert-0001\n")
        line = await reader.readline()
        writer.close()
        await writer.wait_closed()
        return line
    finally:
        server.close()
        await server.wait_closed()


async def test_server_certificate_verifies_against_the_local_ca(tmp_path: Path) -> None:
    files = tls.init_tls(tmp_path / "tls", ["pinchpoint.local"], ["127.0.0.1", "10.8.0.1"])
    assert files.created
    assert await _echo_roundtrip(files, "pinchpoint.local") == b"alert-0001\n"
    assert await _echo_roundtrip(files, "127.0.0.1") == b"alert-0001\n"  # IP SAN
    with pytest.raises(ssl.SSLCertVerificationError):
        await _echo_roundtrip(files, "elsewhere.example")
    for key in (files.ca_key, files.server_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["pinchpoint.local"]
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1",
                                                                          "10.8.0.1"]


def test_init_is_idempotent_and_force_keeps_the_ca(tmp_path: Path) -> None:
    d = tmp_path / "tls"
    first = tls.init_tls(d, ["a.local"])
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    again = tls.init_tls(d, ["b.local"])
    assert not again.created
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before
    forced = tls.init_tls(d, ["b.local"], force=True)
    assert forced.created
    assert first.ca_cert.read_bytes() == before[tls.CA_CERT]  # devices keep trusting it
    assert forced.server_cert.read_bytes() != before[tls.SERVER_CERT]
    with pytest.raises(ValueError):
        tls.init_tls(tmp_path / "bad", ips=["not-an-ip"])


def test_cli_tls_init(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "tls"
    assert cli(["tls", "init", "--dir", str(d), "--host", "pp.local", "--ip", "10.8.0.1"]) == 0
    assert "CA certificate" in capsys.readouterr().out
    assert (d / tls.SERVER_CERT).exists() and (d / tls.CA_KEY).exists()
    assert cli(["vapid", "init", "--keys-dir", str(tmp_path / "keys")]) == 0
    key = capsys.readouterr().out.strip().rsplit(" ", 1)[1]
    assert cli(["vapid", "show", "--keys-dir", str(tmp_path / "keys")]) == 0
    assert capsys.readouterr().out.strip() == key
