"""``camera.file``: play a video file as a camera (demos, tests, replaying footage). R1."""

from __future__ import annotations

import time
from pathlib import Path

import av
import msgspec

from adapters.camera.video import decode_in_one_thread, to_rgb
from kernel.adapter_kit.handoff import CameraError
from kernel.adapter_kit.threaded import ThreadedCamera
from kernel.bounds import Pixels
from kernel.protocols.adapter import AdapterContext

MAX_CONSECUTIVE_DECODE_ERRORS = 50
"""Bad packets in a row before the file is declared unplayable (a few are tolerated)."""

MAX_LAG = 1.0
"""Seconds behind schedule after which realtime pacing resynchronises instead of bursting."""


class FileCamera(ThreadedCamera):
    """Decodes a video file in its own thread and serves it as a camera.

    - ``realtime=True``: frames come at the file's own pace (its timestamps); a consumer
      slower than that gets the newest frame and the others are dropped (``dropped``).
    - ``realtime=False``: as fast as the consumer reads; the decoder waits for each frame to
      be taken, so every frame of the file is delivered in order, none dropped.
    - ``loop=True`` starts again at the end; ``loop=False`` makes ``recv()`` raise
      :class:`~kernel.protocols.camera.CameraClosed` after the last frame.

    ``path`` is absolute or relative to the data directory (``data_dir``).

    A missing, corrupt or video-less file makes ``recv()`` raise
    :class:`~kernel.adapter_kit.handoff.CameraError` naming the camera, the path and the cause.
    """

    class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
        path: str
        loop: bool = True
        realtime: bool = True
        max_width: Pixels | None = None

    def __init__(self, config: FileCamera.Config, context: AdapterContext) -> None:
        super().__init__(context)
        if config.max_width is not None and config.max_width < 2:
            raise ValueError("camera.file max_width must be at least 2")
        self.config = config

    def _describe_failure(self, error: Exception) -> str:
        return f"camera {self.camera_id!r}: cannot play {self.config.path}: {error}"

    @property
    def path(self) -> Path:
        """The file; a relative ``path`` is under the data directory, like everything else."""
        return self._ctx.data_dir / self.config.path

    def _produce(self) -> None:
        path = self.path
        if not path.is_file():
            raise CameraError(f"camera {self.camera_id!r}: video file not found: {path}")
        try:
            container = av.open(str(path))
        except (av.FFmpegError, UnicodeDecodeError) as exc:
            raise CameraError(
                f"camera {self.camera_id!r}: {path} is not a playable video file "
                f"(corrupt or unsupported format): {exc}"
            ) from exc
        with container:
            if not container.streams.video:
                raise CameraError(f"camera {self.camera_id!r}: {path} has no video stream")
            self.stats.connected = True
            self._play(container, path)

    def _play(self, container: av.container.InputContainer, path: Path) -> None:
        stream = container.streams.video[0]
        decode_in_one_thread(stream)
        rate = stream.average_rate or stream.guessed_rate
        period = 1.0 / float(rate) if rate else 1.0 / 25.0
        due: float | None = None  # monotonic instant the next frame is due (realtime only)
        last_time: float | None = None
        bad_in_a_row = 0
        while not self._stop.is_set():
            played = 0
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.FFmpegError:
                    self.stats.decode_errors += 1
                    bad_in_a_row += 1
                    if bad_in_a_row > MAX_CONSECUTIVE_DECODE_ERRORS:
                        raise CameraError(
                            f"camera {self.camera_id!r}: {path}: too many undecodable packets "
                            "in a row (corrupt file?)"
                        ) from None
                    continue
                bad_in_a_row = 0
                for frame in frames:
                    if self.config.realtime:
                        # Step by the file's own timestamps; at a loop or a timestamp jump
                        # fall back to the nominal frame period.
                        t = frame.time
                        step = period
                        if t is not None and last_time is not None and 0 < t - last_time < 5:
                            step = t - last_time
                        last_time = t
                        now = time.monotonic()
                        due = now if due is None or now - due > MAX_LAG else due + step
                        if due > now and self._stop.wait(due - now):
                            return
                    image = to_rgb(frame, self.config.max_width)
                    if not self._emit(image, wait=not self.config.realtime):
                        return
                    played += 1
            if played == 0:
                raise CameraError(f"camera {self.camera_id!r}: {path} has no decodable frames")
            if not self.config.loop:
                return
            container.seek(0)
            last_time = None
