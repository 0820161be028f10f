"""Test and demo clips: write RGB frames to a video file with PyAV, and generate frames of
moving coloured shapes that carry their own frame number (so a test can check order and
drops after a lossy encode and decode)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from kernel.frames import Image

_CODECS = {"h264": "libx264", "vp8": "libvpx", "vp9": "libvpx-vp9", "hevc": "libx265"}

INDEX_BITS = 16
"""How many bits of frame number :func:`demo_frames` draws (numbers wrap at 65536)."""


def write_clip(
    path: str | Path,
    frames: Iterable[Image],
    fps: int = 25,
    codec: str = "h264",
    gop: int | None = None,
    options: Mapping[str, str] | None = None,
) -> int:
    """Encode RGB ``frames`` (all the same even size) into ``path``; return the frame count.

    ``codec`` is ``h264`` (libx264, bundled in the av wheel), ``vp8``, ``vp9``, ``hevc`` or
    any encoder name FFmpeg knows. The container follows the suffix (``.mp4``, ``.mkv``,
    ``.webm``). ``gop`` is the key-frame interval (default: one per second, so a reader that
    joins mid-stream, such as an RTSP client after a reconnect, starts decoding quickly).
    B-frames are off so a decoder hands out each frame as soon as it has it.
    """
    path = Path(path)
    encoder = _CODECS.get(codec, codec)
    count = 0
    with av.open(str(path), mode="w") as container:
        stream: av.video.stream.VideoStream | None = None
        for image in frames:
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                raise ValueError("write_clip takes H×W×3 uint8 RGB images")
            if stream is None:
                height, width = int(image.shape[0]), int(image.shape[1])
                if width % 2 or height % 2:
                    raise ValueError(f"frame size must be even for yuv420p, got {width}×{height}")
                added = container.add_stream(encoder, rate=Fraction(fps))
                if not isinstance(added, av.video.stream.VideoStream):
                    raise ValueError(f"{encoder} is not a video encoder")
                stream = added
                stream.width = width
                stream.height = height
                stream.pix_fmt = "yuv420p"
                stream.codec_context.gop_size = gop or fps
                stream.codec_context.max_b_frames = 0
                opts = {"preset": "veryfast"} if encoder == "libx264" else {}
                opts.update(options or {})
                stream.codec_context.options = opts
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = count
            frame.time_base = Fraction(1, fps)
            container.mux(stream.encode(frame))
            count += 1
        if stream is None:
            raise ValueError("write_clip needs at least one frame")
        container.mux(stream.encode(None))
    return count


_STRIP = INDEX_BITS + 4  # the strip spans 16/20 of the width, in blocks of width/20


def _block(width: int) -> int:
    return max(4, round(width / _STRIP))


def demo_frames(count: int, width: int = 320, height: int = 240) -> Iterator[Image]:
    """``count`` frames of a red disc, a green square and a blue bar moving on a grey ground.

    The frame number (mod 2**16) is drawn as a row of black/white blocks along the top edge;
    :func:`read_demo_index` reads it back from a decoded frame.
    """
    block = _block(width)
    if block * INDEX_BITS > width or height < 4 * block:
        raise ValueError(f"{width}×{height} is too small for the frame-number strip")
    yy, xx = np.mgrid[0:height, 0:width]
    radius = max(4, height // 8)
    side = max(4, height // 6)
    for i in range(count):
        image = np.full((height, width, 3), 70, dtype=np.uint8)
        # Red disc on a horizontal sweep, green square bouncing vertically, blue bar.
        cx = (i * 7) % width
        cy = height // 2
        image[(xx - cx) ** 2 + (yy - cy) ** 2 <= radius**2] = (220, 40, 40)
        top = 2 * block + (i * 5) % max(1, height - 2 * block - side)
        left = width // 4
        image[top : top + side, left : left + side] = (40, 200, 60)
        bar = (width - 1 - (i * 3) % width, height - block)
        image[bar[1] :, max(0, bar[0] - block) : bar[0] + 1] = (40, 60, 220)
        index = i % (1 << INDEX_BITS)
        for bit in range(INDEX_BITS):
            on = (index >> (INDEX_BITS - 1 - bit)) & 1
            x0, x1 = round(bit * width / _STRIP), round((bit + 1) * width / _STRIP)
            image[0:block, x0:x1] = 255 if on else 0
        yield image


def read_demo_index(image: Image) -> int:
    """The frame number :func:`demo_frames` drew into ``image`` (which may have been scaled)."""
    height, width = int(image.shape[0]), int(image.shape[1])
    # The strip is laid out relative to the width, so it survives a proportional downscale.
    block = width / _STRIP
    row = int(block / 2)
    index = 0
    for bit in range(INDEX_BITS):
        col = int((bit + 0.5) * block)
        value = int(image[min(row, height - 1), col].mean())
        index = (index << 1) | (1 if value > 127 else 0)
    return index
