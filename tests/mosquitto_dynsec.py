"""A private Mosquitto with the dynamic-security plugin, on free ports (plain MQTT for the
server and the plugin's admin, WebSockets for browsers, both on loopback), as the officers'
MQTT-over-WebSockets tests need it: no anonymous access; the server account may only publish
``pinchpoint/+/alerts``; officers' accounts are made by the API
(:mod:`mobile_api.mosquitto_accounts`).

Given the files of ``pinchpoint tls init`` (:func:`kernel.tls.init_tls`), the WebSockets
listener speaks TLS with that server certificate (``wss://``), as deploy/mosquitto does on a
site; :func:`spki_sha256` is what a test browser is told to trust."""

from __future__ import annotations

import base64
import getpass
import hashlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from kernel.tls import TlsFiles

MOSQUITTO = Path("/usr/sbin/mosquitto")
MOSQUITTO_CTRL = Path("/usr/bin/mosquitto_ctrl")
DYNSEC = Path("/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so")
ADMIN_USER, ADMIN_PASSWORD = "pinchpoint-admin", "admin-secret-1"
SERVER_USER, SERVER_PASSWORD = "pinchpoint-server", "server-secret-1"


def available() -> bool:
    return MOSQUITTO.exists() and MOSQUITTO_CTRL.exists() and DYNSEC.exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DynsecBroker:
    """``start``/``stop`` may be called again (the dynsec file keeps the accounts)."""

    def __init__(self, workdir: Path, tls: TlsFiles | None = None) -> None:
        """``tls``: serve the WebSockets listener over TLS with its server certificate."""
        self.dir = workdir
        self.tls = tls
        self.port = free_port()
        self.ws_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.dynsec = workdir / "dynsec.json"
        subprocess.run([str(MOSQUITTO_CTRL), "dynsec", "init", str(self.dynsec), ADMIN_USER,
                        ADMIN_PASSWORD], check=True, capture_output=True)
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            # as root, mosquitto would switch to its own user, who cannot read the test's dir
            f"user {getpass.getuser()}\nper_listener_settings false\nallow_anonymous false\n"
            f"plugin {DYNSEC}\nplugin_opt_config_file {self.dynsec}\n"
            "message_size_limit 4096\n"
            # as deploy/mosquitto: persistent sessions survive a broker restart (queued QoS-1
            # notices included)
            f"persistence true\npersistence_location {workdir}/\n"
            f"log_dest file {workdir / 'mosquitto.log'}\nlog_type all\n"
            f"listener {self.port} 127.0.0.1\nprotocol mqtt\n"
            f"listener {self.ws_port} 127.0.0.1\nprotocol websockets\n"
            + ("" if tls is None else
               f"certfile {tls.server_cert}\nkeyfile {tls.server_key}\n"))
        self._server_made = False

    @property
    def ws_url(self) -> str:
        scheme = "ws" if self.tls is None else "wss"
        return f"{scheme}://127.0.0.1:{self.ws_port}/mqtt"

    def start(self) -> None:
        self.proc = subprocess.Popen([str(MOSQUITTO), "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port in (self.port, self.ws_port):
            if not _accepts(port):
                self.stop()
                raise RuntimeError(f"mosquitto did not start: {self.log()}")
        if not self._server_made:
            for args in (["createRole", "pinchpoint-server"],
                         ["addRoleACL", "pinchpoint-server", "publishClientSend",
                          "pinchpoint/+/alerts", "allow"],
                         ["createClient", SERVER_USER, "-p", SERVER_PASSWORD],
                         ["addClientRole", SERVER_USER, "pinchpoint-server"]):
                self.ctrl(*args)
            self._server_made = True

    def ctrl(self, *args: str) -> str:
        done = subprocess.run([str(MOSQUITTO_CTRL), "-h", "127.0.0.1", "-p", str(self.port),
                               "-u", ADMIN_USER, "-P", ADMIN_PASSWORD, "dynsec", *args],
                              check=True, capture_output=True, text=True, timeout=30)
        return done.stdout

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)
        self.proc = None

    def log(self) -> str:
        path = self.dir / "mosquitto.log"
        return path.read_text() if path.exists() else ""


def _accepts(port: int, tries: int = 200) -> bool:
    for _ in range(tries):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)  # polling for the broker's socket, not waiting for a state
    return False


def spki_sha256(cert_pem: Path) -> str:
    """Base64 of the SHA-256 of the first certificate's SubjectPublicKeyInfo in ``cert_pem``:
    the form Chromium's ``--ignore-certificate-errors-spki-list`` takes."""
    cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def started_broker(tmp_path_factory: pytest.TempPathFactory, tls: TlsFiles | None = None
                   ) -> Iterator[DynsecBroker]:
    """The body of a test module's ``broker`` fixture (``yield from`` it): a started
    :class:`DynsecBroker` (``tls``: its WebSockets over TLS), stopped afterwards; skips with
    the reason when Mosquitto or its plugin is missing."""
    if not available():
        pytest.skip("mosquitto with its dynamic-security plugin is not installed "
                    "(apt-get install -y mosquitto mosquitto-clients)")
    b = DynsecBroker(tmp_path_factory.mktemp("dynsec"), tls)
    b.start()
    try:
        yield b
    finally:
        b.stop()
