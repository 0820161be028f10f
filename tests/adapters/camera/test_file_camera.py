"""camera.file: plays a generated clip (R1)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adapters.camera.file import FileCamera
from demo.clip import demo_frames, read_demo_index, write_clip
from kernel import registry
from kernel.adapter_kit.handoff import CameraError
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.camera import CameraClosed
from kernel.testing.camera_contract import CameraContract, make_context

N = 30  # frames in the test clip
FPS = 30


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clips") / "shapes.mp4"
    write_clip(path, demo_frames(N, 320, 240), fps=FPS)
    return path


def camera(path: Path, **options: object) -> FileCamera:
    return FileCamera(FileCamera.Config(path=str(path), **options), make_context("cam-file"))  # type: ignore[arg-type]


async def read_all(cam: FileCamera, limit: int = 10_000) -> list[int]:
    indices: list[int] = []
    with pytest.raises(CameraClosed):
        for _ in range(limit):
            frame = await asyncio.wait_for(cam.recv(), 10)
            indices.append(read_demo_index(frame.image))
    return indices


class TestFileCameraContract(CameraContract):
    """R1: camera.file keeps the camera seam's contract."""

    async def make_camera(self, context: AdapterContext) -> FileCamera:
        path = context.data_dir / "contract.mp4"
        write_clip(path, demo_frames(10, 160, 120), fps=FPS)
        return FileCamera(FileCamera.Config(path=str(path)), context)


def test_r1_registered_as_camera_file() -> None:
    assert registry.load("camera", "file") is FileCamera


async def test_r1_plays_every_frame_in_order_then_ends(clip: Path) -> None:
    cam = camera(clip, loop=False, realtime=False)
    try:
        indices = await read_all(cam)
        assert indices == list(range(N))
        assert cam.stats.frames == N
        assert cam.dropped == 0
        # Once ended it stays ended.
        with pytest.raises(CameraClosed):
            await cam.recv()
    finally:
        await cam.close()


async def test_r1_frames_are_rgb_and_stamped(clip: Path) -> None:
    cam = camera(clip, realtime=False)
    try:
        frames = [await cam.recv() for _ in range(3)]
    finally:
        await cam.close()
    first = frames[0]
    assert first.camera_id == "cam-file"
    assert first.image.shape == (240, 320, 3)
    # The red disc is red in RGB order (not BGR): the centre row holds a strongly red pixel.
    row = first.image[120]
    assert ((row[:, 0] > 180) & (row[:, 2] < 90)).any()
    assert [f.seq for f in frames] == [0, 1, 2]


async def test_r1_loop_restarts_at_the_end(clip: Path) -> None:
    cam = camera(clip, loop=True, realtime=False)
    try:
        indices = [read_demo_index((await cam.recv()).image) for _ in range(2 * N + 5)]
    finally:
        await cam.close()
    assert indices == [i % N for i in range(2 * N + 5)]


async def test_r1_realtime_slow_consumer_gets_newest_and_drops_stale(clip: Path) -> None:
    # At 30 fps a consumer taking ~0.1 s per frame sees about every third frame; the frames it
    # gets are in order, the last frame of the file is still delivered, and the skipped ones
    # are counted. (Counts, not timings: the assertions hold on any machine speed.)
    cam = camera(clip, loop=False, realtime=True)
    indices: list[int] = []
    try:
        with pytest.raises(CameraClosed):
            while True:
                frame = await asyncio.wait_for(cam.recv(), 10)
                indices.append(read_demo_index(frame.image))
                await asyncio.sleep(0.1)
        assert indices == sorted(set(indices))
        assert indices[-1] == N - 1
        assert len(indices) < N
        assert cam.dropped > 0
        assert cam.dropped + len(indices) == N
    finally:
        await cam.close()


async def test_r1_as_fast_as_possible_never_drops_for_a_slow_consumer(clip: Path) -> None:
    cam = camera(clip, loop=False, realtime=False)
    indices: list[int] = []
    try:
        with pytest.raises(CameraClosed):
            while True:
                indices.append(read_demo_index((await cam.recv()).image))
                await asyncio.sleep(0.01)
        assert indices == list(range(N))
        assert cam.dropped == 0
    finally:
        await cam.close()


async def test_r1_max_width_downscales_keeping_aspect(clip: Path) -> None:
    cam = camera(clip, realtime=False, max_width=160)
    try:
        frames = [await cam.recv() for _ in range(3)]
    finally:
        await cam.close()
    assert frames[0].image.shape == (120, 160, 3)
    assert frames[0].image.flags["C_CONTIGUOUS"]
    assert [read_demo_index(f.image) for f in frames] == [0, 1, 2]


async def test_r1_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    cam = camera(tmp_path / "nowhere.mp4")
    try:
        with pytest.raises(CameraError, match=r"cam-file.*video file not found: .*nowhere\.mp4"):
            await asyncio.wait_for(cam.recv(), 10)
    finally:
        await cam.close()


@pytest.fixture(params=["noise", "truncated"])
def damaged_clip(request: pytest.FixtureRequest, clip: Path, tmp_path: Path) -> Path:
    bad = tmp_path / f"{request.param}.mp4"
    data = clip.read_bytes()
    # Random bytes; or the clip cut in half, which loses the index (moov) at its end.
    bad.write_bytes(bytes(range(256)) * 64 if request.param == "noise" else data[: len(data) // 2])
    return bad


async def test_r1_corrupt_file_is_a_clear_error(damaged_clip: Path) -> None:
    cam = camera(damaged_clip)
    try:
        with pytest.raises(CameraError, match=r"not a playable video file \(corrupt"):
            await asyncio.wait_for(cam.recv(), 10)
        assert cam.stats.last_error is not None and str(damaged_clip) in cam.stats.last_error
    finally:
        await cam.close()


async def test_r1_close_stops_the_decoder_thread(clip: Path) -> None:
    cam = camera(clip, loop=True, realtime=True)
    await cam.recv()
    thread = cam._thread
    assert thread is not None and thread.is_alive()
    await asyncio.wait_for(cam.close(), 2)
    await asyncio.wait_for(cam.close(), 2)
    assert not thread.is_alive()
    with pytest.raises(CameraClosed):
        await cam.recv()
