"""The edges of ``bench/bench_scale.py``: a load generator that sends candidates exactly as edges
do, in a process of its own.

Each simulated edge is the edge's own candidate commit (:class:`RemoteCandidates`: key, seal
under the deployment's evidence key, bounded in-order queue, publish until the broker
acknowledges) on a ``link.nats`` connection of its own, fed :class:`CandidateEvidence` whose
crops are cut by the pipeline's own :func:`kernel.pipeline.crops.evidence` from a demo photo
(its face box fixed, not detected, so that no model is loaded). ``captured_at`` is the wall
clock when the evidence is made: the console measures each candidate's latency from it.

Driven over stdin/stdout, one JSON line each way:

    {"rate": 50, "count": 150}   → make ``count`` candidates at ``rate``/s (an open-loop
                                   schedule: a late one is made at once, never skipped),
                                   spread over every edge and camera in turn; answer once
                                   the broker acknowledged them all:
                                   {"sent": 150, "seconds": 3.0, "refused": 0, "behind_ms": 1.2}
    {"quit": true}               → close the links and exit

    python bench/scale_edges.py SPEC.json     # SPEC: see :class:`Spec`
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import msgspec
import numpy as np
from PIL import Image as PILImage

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from adapters.link.nats import NatsLink  # noqa: E402
from kernel.clock import SystemClock  # noqa: E402
from kernel.executor import BoundedExecutor  # noqa: E402
from kernel.link.cipher import LinkCipher  # noqa: E402
from kernel.link.edge_candidates import RemoteCandidates  # noqa: E402
from kernel.pipeline import crops  # noqa: E402
from kernel.pipeline.live import CandidateEvidence  # noqa: E402
from kernel.protocols.adapter import AdapterContext  # noqa: E402

PHOTO = REPO / "demo" / "faces" / "obama.jpg"


_ID = r"^[A-Za-z0-9_-]{1,64}$"


class EdgeSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    node_id: Annotated[str, msgspec.Meta(pattern=_ID)]
    deployment_id: Annotated[str, msgspec.Meta(pattern=_ID)]
    entry_ids: Annotated[tuple[Annotated[str, msgspec.Meta(pattern=_ID)], ...],
                         msgspec.Meta(min_length=1, max_length=1000)]


class Spec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(pattern=r"^nats://")]
    link_key: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
    """64 hex digits: the link key every node shares."""
    edges: Annotated[tuple[EdgeSpec, ...], msgspec.Meta(min_length=1, max_length=1000)]
    cameras: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 8
    """Cameras per edge (``cam-1`` … ``cam-N``)."""
    outbox_url: Annotated[str, msgspec.Meta(pattern=r"^nats://")] | None = None
    """The edges' outbox (``[link] outbox_url``): a nats-server of their own."""


class Step(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=True):
    """One command; a rate of 0 (the schedule divides by it) or an unbounded count is refused
    when it is read, before anything is sent."""

    rate: Annotated[float, msgspec.Meta(gt=0, le=100_000)] = 1.0
    count: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 0
    quit: bool = False


class StepDone(msgspec.Struct, frozen=True):
    sent: int
    seconds: float
    refused: int
    behind_ms: float
    """How far behind its schedule the latest candidate was made (the generator's own lag)."""
    cpu_s: float = 0.0
    """CPU time this process spent on the step (every edge: evidence, seal, publish)."""


def real_crops(photo: Path = PHOTO) -> tuple[bytes, bytes]:
    """(face JPEG, torso JPEG) as the pipeline cuts them, from a demo photo scaled to a 720p
    frame's height with a face box of 80 px (the walk-past bench's faces are 40–150 px)."""
    image = PILImage.open(photo).convert("RGB")
    scale = 720 / image.height
    image = image.resize((round(image.width * scale), 720))
    frame = np.asarray(image)
    cx, cy = frame.shape[1] / 2, frame.shape[0] * 0.3
    return crops.evidence(frame, (cx - 40, cy - 48, cx + 40, cy + 48))


class Edges:
    """Every simulated edge's candidate commit, publishing as the runtime's task does."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.face, self.torso = real_crops()
        cipher = self.cipher = LinkCipher(bytes.fromhex(spec.link_key))
        log = logging.getLogger("bench.edges")
        self.links: list[NatsLink] = []
        self.remotes: list[RemoteCandidates] = []
        for edge in spec.edges:
            context = AdapterContext(name=edge.node_id, data_dir=Path("/nonexistent"),
                                     executor=BoundedExecutor(1, 1), clock=SystemClock(),
                                     log=log)
            link = NatsLink(NatsLink.Config(url=spec.url, outbox_url=spec.outbox_url), context)
            self.links.append(link)
            self.remotes.append(RemoteCandidates(link, cipher, edge.node_id,
                                                 version_of=self.version_of))
        self.versions: dict[str, int] = {}
        """deployment id → the list version the console published: what a real edge holds
        and names in each candidate (the console dead-letters an older one, issue 13)."""
        self.tasks: list[asyncio.Task[None]] = []
        self.made = 0

    async def open(self) -> None:
        for link in self.links:
            await link.open()
        self.tasks = [asyncio.create_task(r.run()) for r in self.remotes]

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for link in self.links:
            await link.close()

    def version_of(self, deployment_id: str) -> int:
        return self.versions.get(deployment_id, 0)

    async def hold_lists(self, timeout_s: float = 20.0) -> None:
        """Wait until the console has published every edge's deployment and hold their
        versions and list secrets (the evidence is sealed under them), as a real edge
        matches only once it holds the list."""
        wanted = {e.deployment_id for e in self.spec.edges}
        deadline = time.monotonic() + timeout_s
        while True:
            self.versions = await self.links[0].list_versions()
            for deployment_id in sorted(wanted & set(self.versions)):
                if not self.cipher.holds(deployment_id):
                    sealed = await self.links[0].fetch_list_key(deployment_id)
                    if sealed is not None:
                        self.cipher.hold_sealed(deployment_id, sealed)
            held = {d for d in wanted if self.cipher.holds(d)}
            if wanted <= held or time.monotonic() > deadline:
                return
            await asyncio.sleep(0.2)

    def evidence(self, n: int) -> tuple[RemoteCandidates, CandidateEvidence]:
        """The ``n``-th candidate: edges in turn, then each edge's cameras and entries."""
        spec = self.spec
        i = n % len(spec.edges)
        edge = spec.edges[i]
        turn = n // len(spec.edges)
        return self.remotes[i], CandidateEvidence(
            deployment_id=edge.deployment_id, entry_id=edge.entry_ids[turn % len(edge.entry_ids)],
            blue=False, camera_id=f"cam-{turn % spec.cameras + 1}", score=0.96,
            captured_at=datetime.now(UTC), face_jpeg=self.face, torso_jpeg=self.torso,
            frame_monotonic=time.monotonic())

    async def step(self, rate: float, count: int) -> StepDone:
        """``count`` candidates at ``rate``/s; returns once the broker acknowledged them."""
        await self.hold_lists()
        started, cpu0 = time.monotonic(), time.process_time()
        refused0 = sum(r.refused for r in self.remotes)
        published0 = sum(r.published for r in self.remotes)
        behind = 0.0
        for k in range(count):
            due = started + k / rate
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            else:
                behind = max(behind, -wait)
            remote, evidence = self.evidence(self.made)
            self.made += 1
            await remote.raise_candidate(evidence)
        refused = sum(r.refused for r in self.remotes) - refused0
        # RemoteCandidates signals no event per acknowledgement: its counter is polled
        while sum(r.published for r in self.remotes) - published0 < count - refused:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        return StepDone(sent=count - refused, seconds=round(time.monotonic() - started, 3),
                        refused=refused, behind_ms=round(behind * 1e3, 1),
                        cpu_s=round(time.process_time() - cpu0, 4))


async def serve(spec: Spec) -> None:
    edges = Edges(spec)
    await edges.open()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        print(msgspec.json.encode({"ready": True}).decode(), flush=True)
        while line := await reader.readline():
            step = msgspec.json.decode(line, type=Step)
            if step.quit:
                break
            done = await edges.step(step.rate, step.count)
            print(msgspec.json.encode(done).decode(), flush=True)
    finally:
        await edges.close()


def main() -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    spec = msgspec.json.decode(Path(sys.argv[1]).read_bytes(), type=Spec)
    asyncio.run(serve(spec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
