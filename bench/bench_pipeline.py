"""Benchmark the WHOLE live pipeline (decode included) with 1, 2, 4 and 8 cameras, against a
frame-by-frame baseline built from the ``face_recognition`` library, in the same run.

    python bench/bench_pipeline.py [--cameras 1,2,4,8] [--seconds 20]
                                   [--out bench/results/pipeline.json]

Each camera is a ``camera.file`` with ``realtime = true`` and ``loop = true`` playing a 1280×720
25 fps H.264 walk-past clip (several people on screen at once, made with
``demo/walkpast.py`` and ``demo/clip.py`` into a temporary directory, never
committed). The runtime is the real one (``kernel.runtime.Runtime``): cameras → fair scheduler →
live pipeline (detect, track, embed, search) → matching → SQLite, with a live deployment whose
watch list holds one of the walkers.

Measured after a warm-up, over ``--seconds``:

- analysed frames/s and faces/s through the pipeline, in total and per camera (min/max: with 8
  cameras every camera should get ≥ 5 frames/s and none be starved);
- capture-to-candidate latency p50/p95 (the pipeline's own record: the candidate committed minus
  the frame's capture instant), target p95 ≤ 500 ms;
- the process's CPU use (cores busy) over the window;
- the baseline: the same clip decoded with PyAV and passed frame by frame through
  ``face_recognition.face_locations`` (dlib HOG, the library's default upsample 1) and
  ``face_encodings``, as fast as it goes; the ratio whole-pipeline frames/s ÷ baseline frames/s
  (target ≥ 10×).

Knobs to measure the levers: ``--workers``, ``--batch``, ``--queue``, ``--input-width`` (the
detector's), ``--max-width`` (``camera.file`` decode + downscale), ``--threads`` (onnxruntime
intra-op threads). Prints a Markdown table with the machine and date; writes JSON to ``--out``.
Timings: never run in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import platform
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from adapters.engine.onnx import OnnxEngine, OnnxEngineConfig  # noqa: E402
from demo.scenario import live_deployment, walkpast_clip  # noqa: E402
from kernel import config as config_module  # noqa: E402
from kernel.domain.governance import Governance  # noqa: E402
from kernel.pipeline.candidates import CandidateRecorder  # noqa: E402
from kernel.protocols.engine import FaceEngine  # noqa: E402
from kernel.runtime import Runtime  # noqa: E402
from kernel.testing.camera_contract import make_context  # noqa: E402
from modelkit.build import build_models  # noqa: E402

WATCHED = ("obama.jpg", "biden.jpg")
"""Enrolment photos: both identities that walk past are listed, so candidates (and latency
samples) come often; the walkers are other photos of them (obama2, obama3) or the same one."""
WALKERS = ["obama2.jpg", "biden.jpg", "obama3.jpg"]
FPS = 25
WIDTH, HEIGHT = 1280, 720


def write_report(out: Path, text: str, env: dict[str, Any], results: Any) -> None:
    """Print a bench's Markdown and keep it, with its machine and raw results, as JSON at
    ``out`` (what ``bench/run_all.py`` folds into BENCHMARKS.md)."""
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"markdown": text, "machine": env, "results": results},
                              indent=2))


def machine() -> dict[str, Any]:
    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}


def make_clip(path: Path, models_dir: Path) -> Path:
    """A 720p walk-past with 4–5 people on screen most of the time (cached in ``path``)."""
    if path.is_file():
        return path
    engine = OnnxEngine(OnnxEngineConfig(models_dir=str(models_dir)), make_context("bench-clip"))
    walkpast_clip(path, engine, WALKERS, passes=4, gap_s=0.8, walk_s=3.5, fps=FPS,
                  width=WIDTH, height=HEIGHT, tail_s=0.0)
    return path


async def go_live(gov: Governance, engine: FaceEngine) -> str:
    return await live_deployment(gov, engine, WATCHED, name="bench", actor="bench")


def config_text(args: argparse.Namespace, data_dir: Path, models_dir: Path, clip: Path,
                cameras: int) -> str:
    max_width = f"max_width = {args.max_width}\n" if args.max_width else ""
    cams = "".join(
        f'[[cameras]]\nid = "cam-{i}"\ntype = "file"\npath = "{clip}"\nloop = true\n'
        f"realtime = true\n{max_width}\n"
        for i in range(cameras)
    )
    return f"""
data_dir = "{data_dir}"
[pipeline]
workers = {args.workers}
queue = {args.queue}
batch = {args.batch}
[engine]
type = "onnx"
models_dir = "{models_dir}"
threads = {args.threads}
[engine.detector]
input_width = {args.input_width}
[store]
type = "sqlite"
[matching]
refresh_s = 1.0
[matching.tracker]
repeat_s = {args.repeat_s}
{cams}"""


def thread_cpu(field: int = 0) -> dict[str, float]:
    """Seconds per thread group of this process, from /proc/<tid>/schedstat: ``field`` 0 is
    time on a CPU, 1 is time runnable but waiting for one (other processes took it). Groups:
    camera decode threads, the executor's workers (inference, alignment, search, JPEG), the
    event loop (main thread), and the rest (FFmpeg's own decoder threads, aiosqlite)."""
    groups: dict[str, float] = {}
    pid = os.getpid()
    # Python's thread names are not the OS's: map native ids to them.
    names = {t.native_id: t.name for t in threading.enumerate()}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            comm = names.get(int(task.name), "")
            seconds = int((task / "schedstat").read_text().split()[field]) / 1e9
        except OSError:
            continue
        if int(task.name) == pid:
            group = "event loop"
        elif comm.startswith("camera:"):
            group = "camera decode"
        elif comm.startswith("pinchpoint-cpu"):
            group = "executor"
        else:
            group = "other"
        groups[group] = groups.get(group, 0.0) + seconds
    return groups


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CommitTimer:
    """Times the candidate recorder's ``raise_candidate`` (JPEGs already made: the SQLite
    commit of the candidate and its images), which the pipeline awaits in order."""

    def __init__(self, recorder: CandidateRecorder) -> None:
        self.total = 0.0
        self.count = 0
        original = recorder.raise_candidate

        async def timed(evidence: Any) -> None:
            t0 = time.perf_counter()
            try:
                await original(evidence)
            finally:
                self.total += time.perf_counter() - t0
                self.count += 1

        recorder.raise_candidate = timed  # type: ignore[method-assign]

    def mean_ms(self) -> float | None:
        return round(self.total / self.count * 1000, 1) if self.count else None


async def run_pipeline(args: argparse.Namespace, cameras: int, clip: Path, models_dir: Path,
                       workdir: Path) -> dict[str, Any]:
    """``cameras`` file cameras through the whole runtime for ``args.seconds``."""
    run_dir = workdir / f"run-{cameras}"
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "config.toml"
    path.write_text(config_text(args, run_dir / "var", models_dir, clip, cameras))
    cfg = config_module.load(path, environ={})
    rt = Runtime(cfg)
    await rt.start()
    try:
        assert rt.governance and rt.engine and rt.matching and rt.pipeline
        await go_live(rt.governance, rt.engine)
        await rt.matching.refresh()
        await asyncio.sleep(args.warmup)
        pipe = rt.pipeline
        ids = [s.name for s in cfg.cameras]
        start_processed = dict(rt.processed)
        start_stats = (pipe.stats.frames, pipe.stats.faces, pipe.stats.embedded,
                       pipe.stats.candidates, pipe.stats.tracks, pipe.stats.embed_deferred)
        start_dropped = {c: rt.frames.slot(c).dropped for c in ids}
        pipe.latencies.clear()
        assert rt.candidates is not None
        commits = CommitTimer(rt.candidates)
        cpu0, threads0, t0 = cpu_seconds(), thread_cpu(), time.perf_counter()
        waits0 = thread_cpu(1)
        await asyncio.sleep(args.seconds)
        elapsed = time.perf_counter() - t0
        cpu = cpu_seconds() - cpu0
        threads1 = thread_cpu()
        waits1 = thread_cpu(1)
        waiting = {g: round((waits1[g] - waits0.get(g, 0.0)) / elapsed, 2) for g in sorted(waits1)}
        # Threads that ended in the window (none should) count from zero.
        by_group = {g: round((threads1[g] - threads0.get(g, 0.0)) / elapsed, 2)
                    for g in sorted(threads1)}
        per_camera = {c: (rt.processed[c] - start_processed[c]) / elapsed for c in ids}
        frames = pipe.stats.frames - start_stats[0]
        faces = pipe.stats.faces - start_stats[1]
        latencies = sorted(pipe.latencies)
        p = pipe.latency_percentiles()
        dropped = {c: rt.frames.slot(c).dropped - start_dropped[c] for c in ids}
        return {
            "cameras": cameras,
            "seconds": round(elapsed, 2),
            "frames_per_s": round(frames / elapsed, 2),
            "faces_per_s": round(faces / elapsed, 2),
            "faces_per_frame": round(faces / frames, 2) if frames else 0.0,
            "embedded_per_s": round((pipe.stats.embedded - start_stats[2]) / elapsed, 2),
            "candidates": pipe.stats.candidates - start_stats[3],
            "tracks_per_s": round((pipe.stats.tracks - start_stats[4]) / elapsed, 2),
            "embed_deferred_per_s": round((pipe.stats.embed_deferred - start_stats[5]) / elapsed,
                                          2),
            "per_camera_fps": {c: round(v, 2) for c, v in per_camera.items()},
            "per_camera_min": round(min(per_camera.values()), 2),
            "per_camera_max": round(max(per_camera.values()), 2),
            "slot_dropped_per_s": round(sum(dropped.values()) / elapsed, 2),
            "latency_p50_ms": round(p[0] * 1000, 1) if p else None,
            "latency_p95_ms": round(p[1] * 1000, 1) if p else None,
            "latency_samples": len(latencies),
            "cpu_cores_busy": round(cpu / elapsed, 2),
            "cpu_cores_by_thread": by_group,
            "cores_waited_for_by_thread": waiting,
            "candidate_commit_ms_mean": commits.mean_ms(),
            "candidate_commit_s_per_s": round(commits.total / elapsed, 3),
            "frames_per_cpu_s": round(frames / cpu, 2) if cpu else 0.0,
            "load_average_1min": round(os.getloadavg()[0], 2),
        }
    finally:
        await rt.stop()


def run_baseline(clip: Path, budget_s: float) -> dict[str, Any]:
    """``face_recognition`` frame by frame on the same clip (decode included), for
    ``budget_s`` seconds of work or the whole clip."""
    import av
    import face_recognition

    frames = faces = 0
    t0 = time.perf_counter()
    cpu0 = cpu_seconds()
    with av.open(str(clip)) as container:
        for frame in container.decode(video=0):
            image = np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
            boxes = face_recognition.face_locations(image)  # HOG, upsample 1 (its default)
            face_recognition.face_encodings(image, boxes)
            frames += 1
            faces += len(boxes)
            if time.perf_counter() - t0 > budget_s:
                break
    elapsed = time.perf_counter() - t0
    return {"frames": frames, "seconds": round(elapsed, 2),
            "frames_per_s": round(frames / elapsed, 3),
            "faces_per_s": round(faces / elapsed, 3),
            "faces_per_frame": round(faces / frames, 2) if frames else 0.0,
            "cpu_cores_busy": round((cpu_seconds() - cpu0) / elapsed, 2),
            "frames_per_cpu_s": round(frames / max(1e-9, cpu_seconds() - cpu0), 3),
            "load_average_1min": round(os.getloadavg()[0], 2)}


def split(run: dict[str, Any]) -> str:
    by = run["cpu_cores_by_thread"]
    return " / ".join(f"{by.get(g, 0.0):.2f}"
                      for g in ("camera decode", "executor", "event loop", "other"))


def table(result: dict[str, Any]) -> str:
    m = result["machine"]
    s = result["settings"]
    base = result.get("baseline")
    lines = [
        f"Machine: {m['nproc']} cores, {m['cpu']}, Python {m['python']}; {m['date']}",
        f"Settings: workers={s['workers']} queue={s['queue']} batch={s['batch']} "
        f"detector input_width={s['input_width']} camera max_width={s['max_width']} "
        f"ort threads={s['threads']}; clip {WIDTH}×{HEIGHT} {FPS} fps H.264, "
        f"{s['seconds']} s per run after {s['warmup']} s warm-up",
        "",
        "| cameras | frames/s | faces/s | faces/frame | per-camera fps min / max | "
        "latency p50 / p95 (ms) [n] | CPU cores busy (decode / executor / loop / other) | "
        "runnable, waiting for a CPU (cores) | frames per CPU-s | load avg | × baseline |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["runs"]:
        ratio = f"{r['frames_per_s'] / base['frames_per_s']:.1f}×" if base else "—"
        lat = (f"{r['latency_p50_ms']:.0f} / {r['latency_p95_ms']:.0f} [{r['latency_samples']}]"
               if r["latency_p50_ms"] is not None else "— [0]")
        lines.append(
            f"| {r['cameras']} | {r['frames_per_s']:.1f} | {r['faces_per_s']:.1f} | "
            f"{r['faces_per_frame']:.2f} | {r['per_camera_min']:.1f} / "
            f"{r['per_camera_max']:.1f} | {lat} | {r['cpu_cores_busy']:.2f} ({split(r)}) | "
            f"{sum(r['cores_waited_for_by_thread'].values()):.2f} | "
            f"{r['frames_per_cpu_s']:.1f} | {r['load_average_1min']:.1f} | {ratio} |"
        )
    if base:
        lines.append(
            f"| baseline face_recognition (HOG + dlib, 1 camera, frame by frame) | "
            f"{base['frames_per_s']:.2f} | {base['faces_per_s']:.2f} | "
            f"{base['faces_per_frame']:.2f} | — | — | {base['cpu_cores_busy']:.2f} | — | "
            f"{base['frames_per_cpu_s']:.2f} | {base['load_average_1min']:.1f} | 1× |"
        )
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench-pipe-"))
    workdir.mkdir(parents=True, exist_ok=True)
    models_dir = workdir / "models"
    if not (models_dir / "models.json").is_file():
        build_models(models_dir)
    clip = make_clip(workdir / "walkpast-720p.mp4", models_dir)
    runs = []
    for n in [int(x) for x in args.cameras.split(",")]:
        r = await run_pipeline(args, n, clip, models_dir, workdir)
        print(json.dumps(r), file=sys.stderr, flush=True)
        runs.append(r)
    result: dict[str, Any] = {
        "machine": machine(),
        "settings": {k: getattr(args, k) for k in
                     ("workers", "queue", "batch", "input_width", "max_width", "threads",
                      "repeat_s", "seconds", "warmup")},
        "clip": {"width": WIDTH, "height": HEIGHT, "fps": FPS, "path": str(clip)},
        "runs": runs,
    }
    if args.baseline_s > 0:
        result["baseline"] = await asyncio.to_thread(run_baseline, clip, args.baseline_s)
        for r in runs:
            r["x_baseline"] = round(r["frames_per_s"] / result["baseline"]["frames_per_s"], 1)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", default="1,2,4,8")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "pipeline.json"))
    parser.add_argument("--workdir", help="where clips, models and stores go (default: temp)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queue", type=int, default=2)
    parser.add_argument("--batch", type=int, default=config_module.PipelineConfig().batch)
    parser.add_argument("--input-width", type=int, default=OnnxEngineConfig().detector.input_width,
                        help="detector input width (default: the shipped engine's)")
    parser.add_argument("--max-width", type=int, default=0, help="camera.file max_width (0: none)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat-s", type=float, default=1.0,
                        help="[matching.tracker] repeat_s: low, so each pass raises (latency "
                        "samples); the shipped default is 10")
    parser.add_argument("--baseline-s", type=float, default=20.0,
                        help="seconds of face_recognition baseline work (0: skip)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    result = asyncio.run(main_async(args))
    out = Path(args.out)
    result["markdown"] = table(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(result["markdown"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
