"""The PyAV helpers the camera adapters share (R1)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from adapters.camera.video import decode_in_one_thread, to_rgb
from demo.clip import demo_frames, read_demo_index, write_clip

N = 12


def decoded(path: Path, one_thread: bool) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if one_thread:
            decode_in_one_thread(stream)
            assert stream.codec_context.thread_count == 1
            assert stream.thread_type == av.codec.context.ThreadType.NONE
        else:
            stream.thread_type = "AUTO"
        return [to_rgb(frame) for frame in container.decode(stream)]


def test_r1_one_thread_decodes_every_frame_as_ffmpegs_threads_do(tmp_path: Path) -> None:
    path = tmp_path / "shapes.mp4"
    write_clip(path, demo_frames(N, 320, 240), fps=25)
    single, threaded = decoded(path, True), decoded(path, False)
    assert [read_demo_index(image) for image in single] == list(range(N))
    assert len(single) == len(threaded)
    for a, b in zip(single, threaded, strict=True):
        assert np.array_equal(a, b)
