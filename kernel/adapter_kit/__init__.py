"""The adapter kit: public helpers for writing adapters (docs/adapters.md uses them).

- :class:`ThreadedCamera` (:mod:`kernel.adapter_kit.threaded`): a camera whose blocking
  decode runs in a daemon thread of its own; subclass it and write ``_produce``.
- :class:`FrameHandoff` (:mod:`kernel.adapter_kit.handoff`): the newest-wins slot from any
  thread (a decode loop, an SDK callback) to the event loop; :class:`CameraError`, the
  readable error a camera raises when its source cannot be used.
- :func:`stamp`, :class:`RateMeter` (:mod:`kernel.adapter_kit.stamping`): a decoded image as
  a :class:`~kernel.frames.Frame` with both clocks; the fps a camera reports.
- :func:`redact`, :func:`config_repr`, :func:`config_rich_repr`
  (:mod:`kernel.adapter_kit.redaction`): secrets out of logs, errors and reprs (R1).

Like the rest of the kernel it imports no adapter and no media library: an adapter brings its
own decoder (PyAV, a vendor SDK) and hands the kit RGB arrays.
"""

from kernel.adapter_kit.handoff import CameraError, FrameHandoff
from kernel.adapter_kit.redaction import REDACTED, config_repr, config_rich_repr, redact
from kernel.adapter_kit.stamping import RateMeter, stamp
from kernel.adapter_kit.threaded import ThreadedCamera

__all__ = [
    "REDACTED",
    "CameraError",
    "FrameHandoff",
    "RateMeter",
    "ThreadedCamera",
    "config_repr",
    "config_rich_repr",
    "redact",
    "stamp",
]
