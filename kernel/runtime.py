"""The running process: builds adapters from config, supervises them, moves frames.

One asyncio loop holds everything. Cameras write into per-camera slots (newest wins), the
pipeline drains them fairly, and CPU work runs in the bounded executor. ``stop()`` cancels
every task and joins the pool, so shutdown is clean and quick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import msgspec
from threadpoolctl import threadpool_limits

from kernel import registry
from kernel.clock import Clock, SystemClock
from kernel.config import AdapterSection, Config
from kernel.delivery.dispatcher import Dispatcher
from kernel.delivery.store_outbox import StoreOutbox
from kernel.delivery.store_subscriptions import StorePushSubscriptions
from kernel.domain.governance import Governance, open_governance
from kernel.events import EventBus
from kernel.executor import BoundedExecutor
from kernel.frames import Frame
from kernel.pipeline.live import CandidateEvidence, LivePipeline
from kernel.pipeline.session import MatchingSession
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.camera import CameraClosed, CameraSource, CameraStats
from kernel.protocols.engine import FaceEngine
from kernel.protocols.service import Service
from kernel.slots import FairScheduler
from kernel.supervisor import Backoff, Finished, Supervisor, TaskStatus

log = logging.getLogger("pinchpoint.runtime")

FrameConsumer = Callable[[list[tuple[str, Frame]]], Awaitable[None]]


class CameraHealth(msgspec.Struct):
    """One camera as the operator's health strip shows it."""

    camera_id: str
    task: TaskStatus
    stats: CameraStats
    dropped: int
    processed: int


class _NoCandidates:
    """Placeholder sink until the matching session takes over (it replaces it at once)."""

    async def raise_candidate(self, evidence: CandidateEvidence) -> None:
        raise RuntimeError("matching session not attached")


class Runtime:
    """Everything ``pinchpoint run`` starts, reachable by services (the HTTP API)."""

    def __init__(self, config: Config, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.supervisor = Supervisor(self.clock)
        self.executor = BoundedExecutor(config.pipeline.workers, config.pipeline.queue)
        self.frames: FairScheduler[Frame] = FairScheduler(config.pipeline.slot_frames)
        self.cameras: dict[str, CameraSource] = {}
        self.processed: dict[str, int] = {}
        """Frames taken for analysis per camera (counted when taken)."""
        self.batches_taken = 0
        self.batches_done = 0
        """Batches taken and batches the consumer has finished with: with the slots they tell
        a caller (a replay, a test) when every frame a camera produced has been analysed."""
        self.consumer: FrameConsumer | None = None
        self.governance: Governance | None = None
        self.engine: FaceEngine | None = None
        self.pipeline: LivePipeline | None = None
        self.matching: MatchingSession | None = None
        self.events = EventBus()
        """Live-feed events for the API (published after commits only)."""
        self.sinks: dict[str, Any] = {}
        self.dispatcher: Dispatcher | None = None
        self._stopped = False
        self.ready = asyncio.Event()
        """Set once :meth:`start` has opened everything and started every task."""
        sup = config.supervision
        self.backoff = Backoff(initial=sup.restart_initial, maximum=sup.restart_max,
                               stable=sup.stable)

    def context(self, name: str, kind: str) -> AdapterContext:
        return AdapterContext(
            name=name,
            data_dir=self.config.data_dir,
            executor=self.executor,
            clock=self.clock,
            log=logging.getLogger(f"pinchpoint.{kind}.{name}"),
        )

    def build(self, section: AdapterSection) -> Any:
        """Construct the adapter that a config section names."""
        cls = registry.load(section.kind, section.type)
        return cls(section.settings, self.context(section.name, section.kind))

    async def start(self) -> None:
        """Open the store, build the engine, start cameras, matching, retention, services and
        the frame loop as supervised tasks. Errors in the store or models stop the start."""
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        # Parallelism comes from the executor's workers; a multi-threaded BLAS inside each of
        # them oversubscribes the cores (measured: an 8-query exact search 16 ms → 0.09 ms).
        threadpool_limits(limits=1, user_api="blas")
        if self.config.store is not None or self.config.engine is not None:
            self.governance = await open_governance(self.config, self.clock,
                                                    executor=self.executor)
            if self.config.retention.enabled:
                self.supervisor.spawn("retention", self._retention_body, self.backoff)
            self._start_delivery(self.governance)
        if self.config.engine is not None:
            assert self.governance is not None
            # Loading the models takes a moment; the loop keeps serving meanwhile.
            engine: FaceEngine = await asyncio.to_thread(self.build, self.config.engine)
            self.engine = engine
            self.pipeline = LivePipeline(engine, self.executor, self.clock,
                                         _NoCandidates(), self.config.matching.tracker)
            index = self.config.index or AdapterSection("index", "exact", "exact",
                                                        registry.load("index", "exact").Config())
            self.matching = MatchingSession(self.governance, self.pipeline,
                                            lambda: self.build(index), self.config.matching)
            await self.matching.refresh()
            self.consumer = self.pipeline
            self.supervisor.spawn("matching", self.matching.run, self.backoff)
        for section in self.config.cameras:
            self.frames.slot(section.name)
            self.processed[section.name] = 0
            self.supervisor.spawn(
                f"camera:{section.name}", self._camera_body(section), self.backoff
            )
        for section in self.config.services:
            self.supervisor.spawn(
                f"service:{section.name}", self._service_body(section), self.backoff
            )
        self.supervisor.spawn("pipeline", self._pipeline_body)
        self.ready.set()

    def _camera_body(self, section: AdapterSection) -> Callable[[], Awaitable[None]]:
        async def body() -> None:
            camera: CameraSource = self.build(section)
            self.cameras[section.name] = camera
            try:
                while True:
                    frame = await camera.recv()
                    self.frames.put(section.name, frame)
            except CameraClosed:
                raise Finished from None
            finally:
                await camera.close()

        return body

    def _service_body(self, section: AdapterSection) -> Callable[[], Awaitable[None]]:
        async def body() -> None:
            service: Service = self.build(section)
            await service.serve(self)

        return body

    async def _pipeline_body(self) -> None:
        while True:
            first = await self.frames.take()
            batch = [first, *self.frames.take_batch(self.config.pipeline.batch - 1)]
            for camera_id, _ in batch:
                self.processed[camera_id] += 1
            self.batches_taken += 1
            try:
                if self.consumer is not None:
                    await self.consumer(batch)
            finally:
                self.batches_done += 1

    def _start_delivery(self, governance: Governance) -> None:
        """Build the sinks and run one outbox loop per sink (persist before deliver)."""
        if not self.config.sinks:
            return
        for section in self.config.sinks:
            sink = self.build(section)
            if hasattr(sink, "use_subscriptions"):
                sink.use_subscriptions(StorePushSubscriptions(governance.store))
            self.sinks[section.name] = sink
        self.dispatcher = Dispatcher(StoreOutbox(governance.store), self.sinks)
        self.dispatcher.spawn(self.supervisor, self.backoff)
        self.supervisor.spawn("outbox-wake", self._outbox_wake_body, self.backoff)

    async def _outbox_wake_body(self) -> None:
        """Turn the domain's "confirmed and committed" signal into sink wake-ups."""
        assert self.governance is not None and self.dispatcher is not None
        while True:
            await self.governance.outbox.wait()
            self.dispatcher.notify()

    async def _retention_body(self) -> None:
        assert self.governance is not None
        interval = timedelta(seconds=self.config.retention.interval_s)
        await self.governance.retention.run_forever(interval)

    def settled(self) -> bool:
        """True when no frame waits in a slot and every batch taken has been analysed."""
        waiting = any(len(self.frames.slot(s.name)) for s in self.config.cameras)
        return not waiting and self.batches_done == self.batches_taken

    def health(self) -> list[CameraHealth]:
        """Per-camera state, counters and drops, for the console and the CLI."""
        out = []
        for section in self.config.cameras:
            camera = self.cameras.get(section.name)
            out.append(
                CameraHealth(
                    camera_id=section.name,
                    task=self.supervisor.status[f"camera:{section.name}"],
                    stats=camera.stats if camera is not None else CameraStats(),
                    dropped=self.frames.slot(section.name).dropped,
                    processed=self.processed.get(section.name, 0),
                )
            )
        return out

    async def stop(self) -> None:
        """Cancel every task, then join the CPU pool. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        await self.supervisor.close()
        for sink in self.sinks.values():
            await sink.close()
        if self.engine is not None:
            await self.engine.close()
        if self.governance is not None:
            await self.governance.close()
        await asyncio.to_thread(self.executor.shutdown)


async def run_until_stopped(runtime: Runtime, stop: asyncio.Event,
                            status_every: float = 30.0) -> None:
    """Start ``runtime``, log a status line now and then, and stop when ``stop`` is set."""
    await runtime.start()
    log.info("pinchpoint running: %d camera(s), data in %s",
             len(runtime.config.cameras), runtime.config.data_dir)
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=status_every)
            except TimeoutError:
                for h in runtime.health():
                    log.info("camera %s: %s, %d processed, %d dropped, %d restarts",
                             h.camera_id, h.task.state, h.processed, h.dropped, h.task.restarts)
    finally:
        await runtime.stop()
        log.info("pinchpoint stopped")
