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
from pathlib import Path

import msgspec
from threadpoolctl import threadpool_limits

from kernel import registry
from kernel.clock import Clock, SystemClock
from kernel.config import AdapterSection, Config
from kernel.delivery.dispatcher import Dispatcher, SinkProgress
from kernel.delivery.store_outbox import StoreOutbox
from kernel.delivery.store_subscriptions import StorePushSubscriptions
from kernel.delivery.subscriptions import PushSubscriptions
from kernel.domain.events import AlertDecided, DomainEvent
from kernel.domain.governance import Governance, open_governance
from kernel.errors import ConfigError
from kernel.events import EventBus
from kernel.executor import BoundedExecutor
from kernel.frames import Frame
from kernel.health import CameraHealth, SystemHealth, system_health
from kernel.link.cipher import LinkCipher, load_link_key
from kernel.link.console_counts import CountsIngest
from kernel.link.console_ingest import CandidateIngest
from kernel.link.edge_candidates import RemoteCandidates
from kernel.link.edge_counts import EdgeCounts
from kernel.link.edge_lists import EdgeLists
from kernel.link.edge_report import EdgeReporter
from kernel.link.list_publisher import EdgeView, ListPublisher
from kernel.pipeline.candidates import CandidateRecorder
from kernel.pipeline.live import LivePipeline
from kernel.pipeline.placement import PlacementWatch
from kernel.pipeline.session import MatchingSession
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.camera import CameraClosed, CameraSource, CameraStats
from kernel.protocols.engine import FaceEngine
from kernel.protocols.index import VectorIndex
from kernel.protocols.link import NodeLink
from kernel.protocols.service import Service, ServiceContext
from kernel.protocols.sink import AlertSink
from kernel.slots import FairScheduler
from kernel.storage_faults import from_os_error
from kernel.supervisor import Backoff, Finished, Supervisor

log = logging.getLogger("pinchpoint.runtime")

FrameConsumer = Callable[[list[tuple[str, Frame]]], Awaitable[None]]


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
        self.candidates: CandidateRecorder | None = None
        self.pipeline: LivePipeline | None = None
        self.matching: MatchingSession | None = None
        self.events = EventBus()
        """The live feed's bus for the API: the HTTP service fills it from the governed
        core's post-commit events (``governance.events``, :mod:`kernel.domain.events`)."""
        self.placement = PlacementWatch(self.clock)
        """The cameras' placement views, fed by the pipeline's detections."""
        self.sinks: dict[str, AlertSink] = {}
        self.dispatcher: Dispatcher | None = None
        self.link: NodeLink | None = None
        """The broker link of an edge or a console (``[node] role``; None for ``all``)."""
        self.edge_lists: EdgeLists | None = None
        self.remote: RemoteCandidates | None = None
        self.edge_reporter: EdgeReporter | None = None
        self.ingest: CandidateIngest | None = None
        self.counts_ingest: CountsIngest | None = None
        self.edge_counts: EdgeCounts | None = None
        self.publisher: ListPublisher | None = None
        self._service_governance: Governance | None = None
        """Opened for the services when the runtime itself runs no governed core."""
        self._service_engine: FaceEngine | None = None
        """Built for the services on first use when the runtime runs no pipeline."""
        self._governance_lock = asyncio.Lock()
        self._engine_lock = asyncio.Lock()
        self._stopped = False
        self.ready = asyncio.Event()
        """Set once :meth:`start` has opened everything and started every task."""
        sup = config.supervision
        self.backoff = Backoff(initial=sup.restart_initial, maximum=sup.restart_max,
                               stable=sup.stable)

    def context(self, name: str, kind: str,
                push_subscriptions: PushSubscriptions | None = None) -> AdapterContext:
        return AdapterContext(
            name=name,
            data_dir=self.config.data_dir,
            executor=self.executor,
            clock=self.clock,
            log=logging.getLogger(f"pinchpoint.{kind}.{name}"),
            push_subscriptions=push_subscriptions,
        )

    # -- the composition root: one typed builder per seam -------------------------------
    def _construct(self, section: AdapterSection, kind: str,
                   push_subscriptions: PushSubscriptions | None = None) -> object:
        if section.kind != kind:
            raise ConfigError(f"section {section.name!r} configures a {section.kind} adapter, "
                              f"not the {kind} asked for")
        cls = registry.load(section.kind, section.type)
        adapter = cls(section.settings, self.context(section.name, kind, push_subscriptions))
        registry.check(kind, section.type, adapter)
        return adapter

    def build_camera(self, section: AdapterSection) -> CameraSource:
        """The camera a ``[[cameras]]`` section names (checked against the seam)."""
        camera = self._construct(section, "camera")
        assert isinstance(camera, CameraSource)
        return camera

    def build_engine(self, section: AdapterSection) -> FaceEngine:
        """The face engine an ``[engine]`` section names (checked against the seam)."""
        engine = self._construct(section, "engine")
        assert isinstance(engine, FaceEngine)
        return engine

    def build_index(self, section: AdapterSection, dim: int | None = None) -> VectorIndex:
        """A fresh vector index of the ``[index]`` section's type; its ``dim`` follows the
        engine's templates when ``dim`` is given (their length is the engine's choice: 128
        for dlib's ResNet alone, 641 fused with the second recognizer)."""
        settings = section.settings
        if (dim is not None and isinstance(settings, msgspec.Struct)
                and "dim" in settings.__struct_fields__):
            section = msgspec.structs.replace(
                section, settings=msgspec.structs.replace(section.settings, dim=dim))
        index = self._construct(section, "index")
        assert isinstance(index, VectorIndex)
        return index

    def build_sink(self, section: AdapterSection,
                   push_subscriptions: PushSubscriptions | None = None) -> AlertSink:
        """The alert sink a ``[[sinks]]`` section names; its context carries the store's push
        subscriptions (a sink that wakes devices reads them there)."""
        sink = self._construct(section, "sink", push_subscriptions)
        assert isinstance(sink, AlertSink)
        return sink

    def build_link(self, section: AdapterSection) -> NodeLink:
        """The node link a ``[link]`` section names (checked against the seam)."""
        link = self._construct(section, "link")
        assert isinstance(link, NodeLink)
        return link

    def build_service(self, section: AdapterSection) -> Service:
        """The service a ``[[services]]`` section names (checked against the seam)."""
        service = self._construct(section, "service")
        if not isinstance(service, Service):
            raise ConfigError(f"service adapter {section.type!r} "
                              f"({type(service).__qualname__}) does not implement Service: "
                              "missing serve")
        return service

    def service_context(self) -> ServiceContext:
        """What a service may use of this runtime (:class:`ServiceContext`)."""
        return ServiceContext(config=self.config, clock=self.clock, executor=self.executor,
                              governance=self._governance_for_services,
                              engine=self._engine_for_services, events=self.events,
                              health=self.health, status=self.status,
                              sinks=self.sinks_health, edges=self.edges_view,
                              placement=self.placement if self.config.engine else None)

    async def _governance_for_services(self) -> Governance:
        if self.governance is not None:
            return self.governance
        async with self._governance_lock:
            if self._service_governance is None:
                self._service_governance = await open_governance(
                    self.config, self.clock, executor=self.executor)
            return self._service_governance

    async def _engine_for_services(self) -> FaceEngine:
        if self.engine is not None:
            return self.engine
        async with self._engine_lock:
            if self._service_engine is None:
                if self.config.engine is None:
                    raise LookupError("no [engine] configured")
                # Loading the models takes a moment; the loop keeps serving meanwhile.
                self._service_engine = await asyncio.to_thread(
                    self.build_engine, self.config.engine)
            return self._service_engine

    async def start(self) -> None:
        """Open the store, build the engine, start cameras, matching, retention, services and
        the frame loop as supervised tasks. Errors in the store or models stop the start."""
        try:
            self.config.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            fault = from_os_error(exc, self.config.data_dir)
            if fault is None:
                raise
            raise fault from None
        # Parallelism comes from the executor's workers; a multi-threaded BLAS inside each of
        # them oversubscribes the cores (measured: an 8-query exact search 16 ms → 0.09 ms).
        threadpool_limits(limits=1, user_api="blas")
        role = self.config.node.role
        if role != "edge" and (self.config.store is not None
                               or self.config.engine is not None):
            self.governance = await open_governance(self.config, self.clock,
                                                    executor=self.executor)
            if self.config.retention.enabled:
                self.supervisor.spawn("retention", self._retention_body, self.backoff)
            self._start_delivery(self.governance)
        if role == "console":
            assert self.governance is not None
            self._start_console(self.governance)
        elif role == "edge":
            await self._start_edge()
        elif self.config.engine is not None:
            assert self.governance is not None
            # Loading the models takes a moment; the loop keeps serving meanwhile.
            engine = await asyncio.to_thread(self.build_engine, self.config.engine)
            self.engine = engine
            pipe = self.config.pipeline
            self.candidates = CandidateRecorder(self.governance, pipe.held_candidates,
                                                pipe.held_retry_s, pipe.held_retry_max_s)
            self.supervisor.spawn("candidates", self.candidates.run, self.backoff)
            self.pipeline = LivePipeline(engine, self.executor, self.clock, self.candidates,
                                         self.config.matching.tracker,
                                         placement=self.placement)
            index = self.config.index or AdapterSection("index", "exact", "exact",
                                                        registry.load("index", "exact").Config())
            self.matching = MatchingSession(self.governance, self.pipeline,
                                            lambda: self.build_index(index, engine.dim),
                                            self.config.matching)
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

    def _link(self) -> tuple[NodeLink, LinkCipher]:
        """The broker link and the link cipher of an edge or a console."""
        node = self.config.node
        assert self.config.link is not None  # the config refuses a role without [link]
        key_file = None
        if node.link_key_file is not None:
            key_file = Path(node.link_key_file)
            if not key_file.is_absolute() and self.config.source is not None:
                key_file = self.config.source.parent / key_file
        cipher = LinkCipher(load_link_key(key_file))
        self.link = self.build_link(self.config.link)
        return self.link, cipher

    def _start_console(self, governance: Governance) -> None:
        """Take the edges' candidates (persist, then ack) and publish the live lists."""
        link, cipher = self._link()
        self.publisher = ListPublisher(link, cipher, governance, self.config.matching,
                                       self.config.matching.refresh_s,
                                       console=self.config.node.id)
        self.ingest = CandidateIngest(link, cipher, governance, self.config.node.late_after_s,
                                      lists=self.publisher)
        self.counts_ingest = CountsIngest(link, governance)
        self.supervisor.spawn("link:ingest", self.ingest.run, self.backoff)
        self.supervisor.spawn("link:counts", self.counts_ingest.run, self.backoff)
        self.supervisor.spawn("link:lists", self.publisher.run, self.backoff)

    async def _start_edge(self) -> None:
        """The pipeline with the link's candidate commit and the console's lists."""
        assert self.config.engine is not None  # the config refuses an edge without one
        link, cipher = self._link()
        node, pipe = self.config.node, self.config.pipeline
        # Loading the models takes a moment; the loop keeps serving meanwhile.
        engine = self.engine = await asyncio.to_thread(self.build_engine, self.config.engine)
        remote = self.remote = RemoteCandidates(link, cipher, node.id, capacity=node.queue,
                                                retry_s=pipe.held_retry_s,
                                                retry_max_s=pipe.held_retry_max_s)
        self.pipeline = LivePipeline(engine, self.executor, self.clock, remote,
                                     self.config.matching.tracker, placement=self.placement)
        index = self.config.index or AdapterSection("index", "exact", "exact",
                                                    registry.load("index", "exact").Config())
        lists = self.edge_lists = EdgeLists(link, cipher, self.pipeline,
                                            lambda: self.build_index(index, engine.dim),
                                            self.config.matching.refresh_s)
        remote.version_of = lists.version
        reporter = self.edge_reporter = EdgeReporter(link, node.id, self.clock, lists, remote,
                                                     self.health, node.report_s)
        lists.on_change = reporter.changed
        counts = self.edge_counts = EdgeCounts(
            link, node.id, self.pipeline.counts, lambda: list(lists.held), self.clock.now,
            self.config.matching.counts_flush_s, retry_s=pipe.held_retry_s,
            retry_max_s=pipe.held_retry_max_s)
        await lists.refresh()  # the lists before the first frame, when the link is up
        self.consumer = self.pipeline
        self.supervisor.spawn("link:candidates", remote.run, self.backoff)
        self.supervisor.spawn("link:lists", lists.run, self.backoff)
        self.supervisor.spawn("link:report", reporter.run, self.backoff)
        self.supervisor.spawn("link:counts", counts.run, self.backoff)

    def _camera_body(self, section: AdapterSection) -> Callable[[], Awaitable[None]]:
        async def body() -> None:
            camera = self.build_camera(section)
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
            service = self.build_service(section)
            await service.serve(self.service_context())

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
        subscriptions = StorePushSubscriptions(governance.store)
        for section in self.config.sinks:
            self.sinks[section.name] = self.build_sink(section, subscriptions)
        dispatcher = self.dispatcher = Dispatcher(StoreOutbox(governance.store), self.sinks)
        dispatcher.spawn(self.supervisor, self.backoff)

        def wake(event: DomainEvent) -> None:
            # a confirmation committed its outbox row: the sinks deliver it now
            if isinstance(event, AlertDecided) and event.state == "confirmed":
                dispatcher.notify()

        governance.events.subscribe(wake)

    async def _retention_body(self) -> None:
        assert self.governance is not None
        interval = timedelta(seconds=self.config.retention.interval_s)
        await self.governance.retention.run_forever(interval)

    def settled(self) -> bool:
        """True when no frame waits in a slot and every batch taken has been analysed."""
        waiting = any(len(self.frames.slot(s.name)) for s in self.config.cameras)
        return not waiting and self.batches_done == self.batches_taken

    def sinks_health(self) -> list[SinkProgress]:
        """Each alert sink's delivery state (retrying, with the error, while it is down)."""
        return list(self.dispatcher.progress.values()) if self.dispatcher is not None else []

    def edges_view(self) -> list[EdgeView]:
        """On a console: each edge as it last reported, against the published lists."""
        if self.publisher is None:
            return []
        if self.ingest is None:
            return self.publisher.edges()
        return self.publisher.edges(self.ingest.late_by_node, self.ingest.stale_by_node)

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

    def status(self) -> SystemHealth:
        """The store's fault while it lasts and the held candidates (issue 12, finding 7)."""
        gov = self.governance or self._service_governance
        return system_health(None if gov is None else gov.faults.current,
                             None if self.candidates is None else self.candidates.health())

    async def stop(self) -> None:
        """Cancel every task, then join the CPU pool. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        await self.supervisor.close()
        if self.link is not None:
            await self.link.close()
        for sink in self.sinks.values():
            await sink.close()
        for engine in (self.engine, self._service_engine):
            if engine is not None:
                await engine.close()
        for governance in (self.governance, self._service_governance):
            if governance is not None:
                await governance.close()
        await asyncio.to_thread(self.executor.shutdown)


async def run_until_stopped(runtime: Runtime, stop: asyncio.Event,
                            status_every: float = 30.0) -> None:
    """Start ``runtime``, log a status line now and then, and stop when ``stop`` is set.

    A start that fails (missing models, a damaged store) still stops what it had opened
    before the error goes up: the store's connection thread and the CPU pool would otherwise
    keep the process alive after its error line (issue 12, finding 8)."""
    started = False
    try:
        await runtime.start()
        started = True
        log.info("pinchpoint running: %d camera(s), data in %s",
                 len(runtime.config.cameras), runtime.config.data_dir)
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=status_every)
            except TimeoutError:
                for h in runtime.health():
                    log.info("camera %s: %s, %d processed, %d dropped, %d restarts",
                             h.camera_id, h.task.state, h.processed, h.dropped, h.task.restarts)
    finally:
        await runtime.stop()
        if started:  # a failed start says one thing: its error line (exit code by kind)
            log.info("pinchpoint stopped")
