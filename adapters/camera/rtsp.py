"""``camera.rtsp``: an IP camera over RTSP, decoded with PyAV in a thread, that reconnects by
itself. R1.

Credentials come either inside ``url`` (``rtsp://user:pass@host/…``) or from ``username`` and
``password`` (which win). The password never reaches a log line, a ``stats.last_error`` or
an exception message: every text that could hold it goes through :func:`redact`.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import av
import msgspec

from adapters.camera.video import decode_in_one_thread, to_rgb
from kernel.adapter_kit.handoff import CameraError
from kernel.adapter_kit.redaction import config_repr, config_rich_repr, redact
from kernel.adapter_kit.threaded import ThreadedCamera
from kernel.bounds import Pixels, Seconds
from kernel.protocols.adapter import AdapterContext


def with_credentials(url: str, username: str | None, password: str | None) -> str:
    """``url`` with ``username``/``password`` (percent-encoded) as its user info, replacing any
    it had; unchanged when ``username`` is None."""
    if username is None:
        return url
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    userinfo = quote(username, safe="")
    if password is not None:
        userinfo += ":" + quote(password, safe="")
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))


def _secrets_of(url: str, password: str | None) -> list[str]:
    """Every spelling of the password that might show up in a message."""
    found: set[str] = set()
    if password:
        found |= {password, quote(password, safe="")}
    userinfo = urlsplit(url).netloc.rpartition("@")[0]
    if ":" in userinfo:
        raw = userinfo.split(":", 1)[1]
        found |= {raw, unquote(raw)}
    # Longest first, so a secret containing another is replaced whole.
    return sorted((s for s in found if s), key=len, reverse=True)


class RtspCamera(ThreadedCamera):
    """Reads an RTSP stream (H.264/H.265/MJPEG as FFmpeg decodes them) in its own thread.

    On any loss (refused, timed out, stream ended, server gone) it waits with exponential
    backoff (``backoff_initial`` doubling to ``backoff_max``, reset after a session that
    delivered frames) and reconnects; ``recv()`` simply waits meanwhile. It keeps
    ``stats.connected``, ``stats.reconnects`` (successful reconnections after the first
    connection), ``stats.last_error`` (redacted), ``stats.decode_errors`` and ``stats.fps``
    (decoded frames per second). A slow consumer gets the newest frame; older ones are dropped
    and counted in ``dropped``.
    """

    class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
        url: str
        username: str | None = None
        password: str | None = None
        transport: Literal["tcp", "udp"] = "tcp"
        open_timeout: Seconds = 5.0
        read_timeout: Seconds = 5.0
        max_width: Pixels | None = None
        backoff_initial: Seconds = 0.5
        backoff_max: Seconds = 10.0

        def __repr__(self) -> str:
            return config_repr(self, frozenset({"password"}))

        def __rich_repr__(self) -> list[tuple[str, Any]]:
            return config_rich_repr(self, frozenset({"password"}))

    def __init__(self, config: RtspCamera.Config, context: AdapterContext) -> None:
        super().__init__(context)
        if not config.url.lower().startswith(("rtsp://", "rtsps://")):
            shown = self._redact_with(config)
            raise ValueError(f"camera.rtsp url must start with rtsp:// or rtsps://, got {shown}")
        if config.max_width is not None and config.max_width < 2:
            raise ValueError("camera.rtsp max_width must be at least 2")
        self.config = config
        self._url = with_credentials(config.url, config.username, config.password)
        self._secrets = _secrets_of(self._url, config.password) + _secrets_of(config.url, None)
        self.sessions = 0
        """Successful connections so far (the first one included)."""

    @staticmethod
    def _redact_with(config: RtspCamera.Config) -> str:
        return redact(config.url, _secrets_of(config.url, config.password))

    @property
    def safe_url(self) -> str:
        """The stream's URL with the password replaced by ``***``: the only form to show."""
        return self.redact(self._url)

    def redact(self, text: str) -> str:
        """``text`` without this camera's password."""
        return redact(text, self._secrets)

    def _describe_failure(self, error: Exception) -> str:
        return self.redact(f"camera {self.camera_id!r} ({self._url}): {error}")

    def _produce(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            delivered = 0
            try:
                delivered = self._session()
                reason = "stream ended"
            except (av.FFmpegError, OSError, CameraError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            self.stats.connected = False
            self.stats.fps = 0.0
            self._rate.reset()
            if self._stop.is_set():
                return
            self.stats.last_error = self.redact(reason)
            attempt = 1 if delivered else attempt + 1
            delay = min(self.config.backoff_max, self.config.backoff_initial * 2 ** (attempt - 1))
            self._ctx.log.warning(
                "camera %s: %s lost (%s); reconnecting in %.1f s",
                self.camera_id,
                self.safe_url,
                self.stats.last_error,
                delay,
            )
            if self._stop.wait(delay):
                return

    def _session(self) -> int:
        """One connection: open, decode until the stream ends or fails; frames delivered."""
        options = {"rtsp_transport": self.config.transport, "fflags": "nobuffer"}
        container = av.open(
            self._url,
            options=options,
            timeout=(self.config.open_timeout, self.config.read_timeout),
        )
        delivered = 0
        with container:
            if not container.streams.video:
                raise CameraError("the stream has no video")
            stream = container.streams.video[0]
            decode_in_one_thread(stream)
            self.stats.connected = True
            if self.sessions:
                self.stats.reconnects += 1
            self.sessions += 1
            self._ctx.log.info("camera %s: connected to %s", self.camera_id, self.safe_url)
            for packet in container.demux(stream):
                if self._stop.is_set():
                    return delivered
                try:
                    frames = packet.decode()
                except av.FFmpegError:
                    # A damaged packet (lost data over UDP, a glitch): skip it, keep the link.
                    self.stats.decode_errors += 1
                    continue
                for frame in frames:
                    if not self._emit(to_rgb(frame, self.config.max_width)):
                        return delivered
                    delivered += 1
        return delivered
