"""``camera.webrtc``: a camera fed by a WebRTC publisher over WHIP (RFC 9725), with aiortc. R1.

A phone, a browser or an encoder (OBS, GStreamer's whipclientsink, ffmpeg) POSTs its SDP offer
to ``/whip/{camera_id}`` with the camera's bearer token; the camera answers, ICE and DTLS
connect, and decoded video frames arrive on the event loop from aiortc. Each frame goes into
a newest-wins slot; ``recv()`` converts only the frame it takes to RGB, in the kernel's
executor. One publisher at a time: a new offer replaces the current session.

The camera registers itself in :mod:`adapters.camera.whip` under its id when built, so the
HTTP layer finds it with :func:`adapters.camera.whip.lookup`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import secrets
from typing import Any

import av
import msgspec
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from adapters.camera import whip
from adapters.camera.video import to_rgb
from kernel.adapter_kit.handoff import FrameHandoff
from kernel.adapter_kit.redaction import config_repr, config_rich_repr
from kernel.adapter_kit.stamping import RateMeter
from kernel.bounds import Pixels
from kernel.frames import Frame
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.camera import CameraClosed, CameraStats

CLOSE_TIMEOUT = 0.8
"""Seconds to wait for a peer connection to shut down before abandoning it."""


class _Arrival(msgspec.Struct, frozen=True):
    """A decoded frame as it came off the track, stamped, not yet converted to RGB."""

    seq: int
    captured_at: float
    monotonic: float
    frame: Any  # av.VideoFrame (untyped in PyAV's stubs)


class _Session:
    """One publisher: its peer connection, the task pumping its video track, its resource id."""

    def __init__(self, resource_id: str, pc: RTCPeerConnection) -> None:
        self.resource_id = resource_id
        self.pc = pc
        self.tracks: list[MediaStreamTrack] = []
        self.pump: asyncio.Task[None] | None = None
        self.ended = False


class WebRtcCamera:
    """A WHIP ingest point that is also a :class:`~kernel.protocols.camera.CameraSource`.

    ``recv()`` waits (indefinitely) while no publisher is connected; ``stats.connected`` says
    whether one is. ``offer``/``delete`` implement :class:`adapters.camera.whip.WhipEndpoint`.
    """

    class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
        token: str
        """The bearer token a publisher must present (``Authorization: Bearer …``)."""
        max_width: Pixels | None = None
        ice_servers: list[str] = []
        """STUN/TURN URLs; none are needed when publishers are on the same network."""

        def __repr__(self) -> str:
            return config_repr(self, frozenset({"token"}))

        def __rich_repr__(self) -> list[tuple[str, Any]]:
            return config_rich_repr(self, frozenset({"token"}))

    def __init__(self, config: WebRtcCamera.Config, context: AdapterContext) -> None:
        if not config.token:
            raise ValueError(f"camera.webrtc {context.name!r} needs a non-empty token")
        if config.max_width is not None and config.max_width < 2:
            raise ValueError("camera.webrtc max_width must be at least 2")
        self.config = config
        self._ctx = context
        self.stats = CameraStats()
        self._slot: FrameHandoff[_Arrival] | None = None
        self._session: _Session | None = None
        self._offer_lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()
        self._rate = RateMeter()
        self._seq = 0
        self._closed = False
        whip.register(context.name, self)

    @property
    def camera_id(self) -> str:
        return self._ctx.name

    @property
    def dropped(self) -> int:
        """Frames received but replaced by a newer one before ``recv()`` took them."""
        return self._slot.dropped if self._slot is not None else 0

    @property
    def resource_id(self) -> str | None:
        """The current publisher's session id, if one is connected or connecting."""
        return self._session.resource_id if self._session is not None else None

    def _slot_now(self) -> FrameHandoff[_Arrival]:
        if self._slot is None:
            self._slot = FrameHandoff(asyncio.get_running_loop())
        return self._slot

    def _authorise(self, token: str | None) -> None:
        # Constant-time comparison: the token is the only thing guarding the ingest.
        if token is None or not hmac.compare_digest(
            token.encode("utf-8"), self.config.token.encode("utf-8")
        ):
            raise whip.WhipUnauthorized(f"wrong or missing token for camera {self.camera_id!r}")

    # --- WHIP -----------------------------------------------------------------------------

    async def offer(self, sdp: str, token: str | None) -> whip.WhipAnswer:
        """Answer a publisher's SDP offer, replacing the current publisher if any.

        Raises :class:`~adapters.camera.whip.WhipUnauthorized` for a wrong token,
        :class:`~adapters.camera.whip.WhipBadOffer` for an offer without usable video and
        :class:`~adapters.camera.whip.WhipNotFound` once the camera is closed.
        """
        self._authorise(token)
        if self._closed:
            raise whip.WhipNotFound(f"camera {self.camera_id!r} is closed")
        if "m=video" not in sdp:
            raise whip.WhipBadOffer("the offer has no video")
        async with self._offer_lock:
            ice = [RTCIceServer(urls=url) for url in self.config.ice_servers]
            pc = RTCPeerConnection(RTCConfiguration(iceServers=ice or None))
            session = _Session(secrets.token_urlsafe(16), pc)
            pc.on("track", session.tracks.append)
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
                video = [t for t in session.tracks if t.kind == "video"]
                if not video:
                    raise whip.WhipBadOffer("the offer sends no video")
                # Audio is not wanted: answer it inactive so aiortc neither receives nor
                # decodes it (an unread track would queue frames without bound).
                for transceiver in pc.getTransceivers():
                    if transceiver.kind != "video":
                        transceiver.direction = "inactive"
                # Waits for ICE gathering: aiortc does not trickle, the answer holds candidates.
                await pc.setLocalDescription(await pc.createAnswer())
            except whip.WhipBadOffer:
                await pc.close()
                raise
            except Exception as exc:
                await pc.close()
                raise whip.WhipBadOffer(f"unusable offer: {type(exc).__name__}: {exc}") from exc
            if self._closed:
                await pc.close()
                raise whip.WhipNotFound(f"camera {self.camera_id!r} is closed")

            @pc.on("connectionstatechange")
            def _on_state() -> None:
                state = pc.connectionState
                if session is self._session:
                    self.stats.connected = state == "connected"
                if state in ("failed", "closed"):
                    self._spawn(self._end(session))

            old, self._session = self._session, session
            session.pump = asyncio.create_task(
                self._pump(session, video[0]), name=f"whip:{self.camera_id}"
            )
            if old is not None:
                if old.pump is not None:
                    old.pump.cancel()  # none of its frames from now on
                # In the background: the new publisher's answer need not wait for the hang-up.
                self._spawn(self._end(old))
            self._ctx.log.info("camera %s: WHIP publisher %s", self.camera_id, session.resource_id)
            return whip.WhipAnswer(sdp=pc.localDescription.sdp, resource_id=session.resource_id)

    async def delete(self, resource_id: str, token: str | None) -> None:
        """End the publisher's session (WHIP ``DELETE``). Raises WhipUnauthorized or
        WhipNotFound when the token is wrong or ``resource_id`` is not the current session."""
        self._authorise(token)
        session = self._session
        if session is None or not hmac.compare_digest(
            resource_id.encode("utf-8"), session.resource_id.encode("utf-8")
        ):
            raise whip.WhipNotFound(f"no session {resource_id!r} on camera {self.camera_id!r}")
        await self._end(session)

    # --- the session's lifetime -----------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _pump(self, session: _Session, track: MediaStreamTrack) -> None:
        slot = self._slot_now()
        clock = self._ctx.clock
        try:
            while True:
                frame = await track.recv()
                if not isinstance(frame, av.VideoFrame):
                    continue
                now = clock.monotonic()
                arrival = _Arrival(self._seq, clock.now().timestamp(), now, frame)
                self._seq += 1
                self.stats.fps = round(self._rate.tick(now), 2)
                if not slot.put(arrival):
                    return
        except MediaStreamError:
            pass  # the publisher went away or the session was closed
        finally:
            if session is self._session:
                self.stats.fps = 0.0
                self._rate.reset()

    async def _end(self, session: _Session) -> None:
        if session.ended:
            return
        session.ended = True
        if session is self._session:
            self._session = None
            self.stats.connected = False
            self.stats.fps = 0.0
        # Stop taking its frames first, then hang up.
        pump = session.pump
        if pump is not None and not pump.done():
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
        # Shielded: cancelling a pc.close() that waits on another close() of the same
        # connection would cancel aiortc's internal "closed" future and break that other close.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(session.pc.close()), CLOSE_TIMEOUT)
        self._ctx.log.info("camera %s: WHIP session %s ended", self.camera_id, session.resource_id)

    # --- CameraSource ---------------------------------------------------------------------

    async def recv(self) -> Frame:
        """Wait for the newest frame from the publisher (however long none is connected)."""
        if self._closed:
            raise CameraClosed(f"camera {self.camera_id!r} is closed")
        arrival = await self._slot_now().get()
        image = await self._ctx.executor.run(to_rgb, arrival.frame, self.config.max_width)
        self.stats.frames += 1
        return Frame(
            camera_id=self.camera_id,
            seq=arrival.seq,
            captured_at=arrival.captured_at,
            monotonic=arrival.monotonic,
            image=image,
        )

    async def close(self) -> None:
        """Leave the registry, end the session and wake ``recv()`` (CameraClosed). Idempotent.

        Returns within about a second; a peer connection slower to shut down finishes on its own.
        """
        if self._closed:
            return
        self._closed = True
        whip.unregister(self.camera_id, self)
        if self._slot is not None:
            self._slot.close()
        if self._session is not None:
            self._spawn(self._end(self._session))
        if self._background:
            await asyncio.wait(list(self._background), timeout=CLOSE_TIMEOUT + 0.1)
