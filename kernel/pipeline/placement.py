"""The camera placement view (technical lead): are the faces at the pinch point large enough?

For each camera someone is watching, the pipeline hands over each analysed frame's detections
(its own detector pass: never a second one, :class:`kernel.pipeline.live.LivePipeline`), and
this keeps, in memory only, the newest frame's face boxes with each face's pixel width and
whether it passes the live quality gate, and a face-size histogram over the last minute (bin
counts, not faces). Nothing of a face is kept (R3): no pixel, chip or template, only four box
coordinates and a width, replaced at the next frame; nothing is stored or logged.

A camera is *watched* for :data:`LEASE_S` after its view was last read; the pipeline asks
:meth:`PlacementWatch.watched` so that an unwatched camera costs nothing. While no deployment
is live the pipeline detects faces in a watched camera's frames for this view alone (a lead
aims the cameras before going live), and nothing else: no track, template or count.

The histogram counts face *detections* (one per face per analysed frame), so a person who
stays in view longer weighs more: it shows the sizes the matcher is handed, which is the
figure that says whether a camera is aimed well.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

import msgspec

from kernel.clock import Clock
from kernel.frames import Frame
from kernel.protocols.engine import Detection, Rejection

LEASE_S: Final = 5.0
"""A camera stays watched this long after its view was last read (the PWA polls faster)."""

WINDOW_S: Final = 60.0
"""The histogram's span."""

BIN_EDGES: Final[tuple[int, ...]] = (0, 20, 40, 60, 80, 100, 120, 160, 200, 300)
"""Face-width bins in pixels (the last one is open-ended): fine where the live gate's and the
detector's minimum sizes sit, coarse above."""


class PlacedFace(msgspec.Struct, frozen=True, kw_only=True):
    """One face of the newest frame: where, how wide, and whether the live gate passes it."""

    box: tuple[int, int, int, int]
    """(x1, y1, x2, y2) in frame pixels."""
    width_px: int
    passes: bool
    too_small: bool
    reasons: tuple[str, ...]
    """Why the gate fails it (the engine's rejection names); empty when it passes."""


class SizeBin(msgspec.Struct, frozen=True, kw_only=True):
    from_px: int
    to_px: int | None
    """``None``: open-ended."""
    faces: int


class PlacementView(msgspec.Struct, frozen=True, kw_only=True):
    """What the placement view of one camera shows now. ``frame`` is ``None`` until a frame
    of the camera was analysed while it was watched."""

    camera_id: str
    frame_width: int | None = None
    frame_height: int | None = None
    captured_at: datetime | None = None
    faces: list[PlacedFace] = msgspec.field(default_factory=list)
    histogram: list[SizeBin] = msgspec.field(default_factory=list)
    faces_last_minute: int = 0
    too_small_share: float | None = None
    """Of the last minute's faces, the share the live gate finds too small to match."""


class _Camera:
    """One watched camera: the lease, the newest frame's faces, the minute's bin counts."""

    def __init__(self) -> None:
        self.until = 0.0
        self.latest: PlacementView | None = None
        self.bins: deque[tuple[float, tuple[int, ...], int]] = deque()
        """(monotonic, count per bin, too small) per analysed frame of the last minute."""


def _bin(width: float) -> int:
    for i in range(len(BIN_EDGES) - 1, -1, -1):
        if width >= BIN_EDGES[i]:
            return i
    return 0


class PlacementWatch:
    """The coordinator between the pipeline (``observe``) and the view's readers (``view``)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._cameras: dict[str, _Camera] = {}

    def watched(self, camera_id: str) -> bool:
        """Whether someone read this camera's view in the last :data:`LEASE_S` seconds."""
        cam = self._cameras.get(camera_id)
        return cam is not None and self.clock.monotonic() < cam.until

    def observe(self, frame: Frame, detections: Sequence[Detection]) -> None:
        """Take one analysed frame's detections (called by the pipeline, on the loop).
        Keeps their boxes and widths only; ignores an unwatched camera."""
        cam = self._cameras.get(frame.camera_id)
        if cam is None or self.clock.monotonic() >= cam.until:
            return
        counts = [0] * len(BIN_EDGES)
        small = 0
        faces = []
        for d in detections:
            x1, y1, x2, y2 = d.box
            width = float(d.quality.face_px)
            too_small = Rejection.TOO_SMALL in d.quality.reasons
            counts[_bin(width)] += 1
            small += too_small
            faces.append(PlacedFace(box=(round(x1), round(y1), round(x2), round(y2)),
                                    width_px=round(width), passes=d.quality.passed,
                                    too_small=too_small,
                                    reasons=tuple(str(r) for r in d.quality.reasons)))
        cam.bins.append((frame.monotonic, tuple(counts), small))
        while cam.bins and cam.bins[0][0] < frame.monotonic - WINDOW_S:
            cam.bins.popleft()
        totals = [sum(b[1][i] for b in cam.bins) for i in range(len(BIN_EDGES))]
        seen = sum(totals)
        too_small_total = sum(b[2] for b in cam.bins)
        cam.latest = PlacementView(
            camera_id=frame.camera_id, frame_width=frame.width, frame_height=frame.height,
            captured_at=datetime.fromtimestamp(frame.captured_at, UTC), faces=faces,
            histogram=[SizeBin(from_px=BIN_EDGES[i],
                               to_px=BIN_EDGES[i + 1] if i + 1 < len(BIN_EDGES) else None,
                               faces=n) for i, n in enumerate(totals)],
            faces_last_minute=seen, too_small_share=too_small_total / seen if seen else None)

    def view(self, camera_id: str) -> PlacementView:
        """The camera's view now, and watch it for :data:`LEASE_S` more seconds. Which
        cameras exist is the caller's to check."""
        cam = self._cameras.setdefault(camera_id, _Camera())
        now = self.clock.monotonic()
        if now >= cam.until:  # nobody looked for a while: what was there is not "now"
            cam.latest = None
            cam.bins.clear()
        cam.until = now + LEASE_S
        return cam.latest or PlacementView(camera_id=camera_id)

    def forget(self) -> None:
        """Drop every view (the process stops)."""
        self._cameras.clear()
