"""A private Mosquitto broker for the MQTT sink tests, on free ports, that a test may stop
and restart; and an officer's device subscribed to it."""

from __future__ import annotations

import asyncio
import getpass
import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import aiomqtt

MOSQUITTO = Path("/usr/sbin/mosquitto")
MOSQUITTO_PASSWD = Path("/usr/bin/mosquitto_passwd")

SERVER_USER, SERVER_PASSWORD = "pinchpoint-server", "server-secret-1"
OFFICER_USER, OFFICER_PASSWORD = "officer-1", "officer-secret-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_passwords(path: Path, users: dict[str, str]) -> None:
    """A Mosquitto password file (hashed by mosquitto_passwd) holding ``users``."""
    for i, (user, password) in enumerate(users.items()):
        subprocess.run([str(MOSQUITTO_PASSWD), *(["-c"] if i == 0 else []), "-b",
                        str(path), user, password], check=True, capture_output=True)
    path.chmod(0o600)


async def _accepts(port: int, tries: int = 100) -> bool:
    for _ in range(tries):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return True
    return False


class Broker:
    """Mosquitto on private ports with the production ACL shape (deploy/mosquitto/acl):
    the server may only publish alerts, an officer may only read its deployment's alerts.
    Persistence is on, so an officer's session (and its queued QoS-1 messages) survives a
    broker restart, as in production."""

    def __init__(self, workdir: Path, deployment_id: str) -> None:
        self.dir = workdir
        self.port = free_port()
        self.ws_port = free_port()
        self.proc: asyncio.subprocess.Process | None = None
        self.user = getpass.getuser()
        (workdir / "db").mkdir()
        pw = workdir / "passwd"
        write_passwords(pw, {SERVER_USER: SERVER_PASSWORD, OFFICER_USER: OFFICER_PASSWORD})
        acl = workdir / "acl"
        acl.write_text(
            f"user {SERVER_USER}\ntopic write pinchpoint/+/alerts\n\n"
            f"user {OFFICER_USER}\ntopic read pinchpoint/{deployment_id}/alerts\n")
        acl.chmod(0o600)
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            # Run as whoever runs the tests: as root, mosquitto would otherwise switch to
            # its own user, who cannot write into the test's private directory.
            f"user {self.user}\nper_listener_settings false\n"
            f"allow_anonymous false\npassword_file {pw}\nacl_file {acl}\n"
            f"persistence true\npersistence_location {workdir / 'db'}/\n"
            f"log_dest file {workdir / 'mosquitto.log'}\n"
            f"listener {self.port} 127.0.0.1\nprotocol mqtt\n"
            # A websockets listener binds every interface whatever the address (stack
            # notes); it is a private port that lives only for this test.
            f"listener {self.ws_port} 127.0.0.1\nprotocol websockets\n")

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            str(MOSQUITTO), "-c", str(self.conf),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        for port in (self.port, self.ws_port):
            if not await _accepts(port):
                await self.stop()
                raise RuntimeError(f"mosquitto did not start: {self.log()}")

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()  # SIGTERM: mosquitto saves its sessions first
            await self.proc.wait()
        self.proc = None

    def log(self) -> str:
        path = self.dir / "mosquitto.log"
        return path.read_text() if path.exists() else ""


class Device:
    """An officer's tablet: a persistent session that reconnects while the broker is down."""

    def __init__(self, port: int, topic: str) -> None:
        self.port, self.topic = port, topic
        self.payloads: list[dict[str, Any]] = []
        self.subscribed = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client("127.0.0.1", self.port, username=OFFICER_USER,
                                          password=OFFICER_PASSWORD, identifier="tablet-7",
                                          clean_session=False) as client:
                    await client.subscribe(self.topic, qos=1)
                    self.subscribed.set()
                    async for message in client.messages:
                        assert isinstance(message.payload, bytes)
                        self.payloads.append(json.loads(message.payload))
            except aiomqtt.MqttError:
                await asyncio.sleep(0.1)

    def alert_ids(self) -> list[str]:
        """Distinct alert ids in order of first arrival (QoS 1 may repeat a message)."""
        seen: list[str] = []
        for p in self.payloads:
            if p["alert_id"] not in seen:
                seen.append(p["alert_id"])
        return seen
