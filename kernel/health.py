"""What the operator's health strip shows of each camera (the runtime fills it in)."""

from __future__ import annotations

import msgspec

from kernel.protocols.camera import CameraStats
from kernel.supervisor import TaskStatus


class CameraHealth(msgspec.Struct):
    """One camera as the operator's health strip shows it."""

    camera_id: str
    task: TaskStatus
    stats: CameraStats
    dropped: int
    processed: int
