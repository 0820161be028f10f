"""The R3 scan: no byte derived from a face the engine saw (its templates, its chips) is in any
file under a data directory. A template that is stored at all is encrypted (R24), so none of
a live template's bytes may be found, of a match or not; the matches' evidence is stored only
as encrypted JPEG crops, never as chips."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt


def face_needles(templates: Sequence[npt.NDArray[np.generic]],
                 chips: Sequence[npt.NDArray[np.generic]]) -> list[bytes]:
    """What to look for: the head of each template's float32 bytes and a middle row of each
    aligned chip (long enough never to occur by chance)."""
    needles = [np.asarray(t).astype(np.float32).tobytes()[:32] for t in templates]
    needles += [np.asarray(c)[np.asarray(c).shape[0] // 2].tobytes()[:96] for c in chips]
    return needles


def assert_no_face_bytes(data_dir: Path, needles: Sequence[bytes]) -> int:
    """Fail naming the file if a needle is in any file under ``data_dir``; returns how many
    files were read (a scan of nothing proves nothing: callers check it)."""
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            assert needle not in data, f"face-derived bytes found in {path}"
    return len(files)
