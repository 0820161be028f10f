"""A console's publication of the live deployments' watch lists to the edges (issue 13).

Every ``refresh_s`` the console compares its live deployments (each with its watch-list
version and decision threshold) with what it has published: a changed one (a review, an
enrolment, a threshold) is sealed under the deployment's list key and published as a new
version; one no longer live (ended, closed, wiped) is removed from the broker with its
history. After a restart it adopts the bundles already published when they say the same, so
the edges do not reload for nothing. :meth:`ListPublisher.edges` compares each edge's report
with the published versions: what the console shows of every edge.

Several consoles may share one store (PostgreSQL), each with its own broker and edges (a van
each): a console publishes only the live deployments it runs, those stamped with its
``[node] id`` or with no console at all (made on a single box or by a tool with no node
config). One stamped with another console's id is never published here, and is withdrawn
like an ended one if an earlier run (or the deployment before a re-stamp) published it: a
van's cameras are matched only against the lists its deployments were authorised for (R18).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime

import msgspec
import numpy as np

from kernel.config import MatchingConfig
from kernel.domain.errors import DomainError, KeyUnavailable
from kernel.domain.governance import Governance
from kernel.domain.records import EdgeRecord
from kernel.errors import StorageFault
from kernel.link.cipher import LinkCipher, SealBroken, list_secret
from kernel.link.messages import (
    CameraReport,
    EdgeReport,
    ListBundle,
    ListedTemplate,
    SealedList,
)
from kernel.protocols.link import LinkDown, NodeLink

log = logging.getLogger("pinchpoint.link.publisher")

Fingerprint = tuple[int, float]
"""(watch-list version, decision threshold): what makes a new bundle."""


RECORD_EVERY = 60.0
"""Seconds: an edge's unchanged report is written to the store at most this often (the
force-wide view's :data:`kernel.domain.force_view.FRESH` is three of them)."""
LAST_TIME = 253402300799.0
"""9999-12-31T23:59:59Z: a report time beyond it is refused (no datetime holds it)."""


class EdgeList(msgspec.Struct, frozen=True):
    """One deployment's list as one edge holds it, against the published version."""

    deployment_id: str
    held: int
    """The version the edge reports holding (0: none)."""
    published: int
    """The version published now (0: none: the edge must drop it)."""
    current: bool
    """``held == published``: the edge acknowledged the console's latest word."""


class EdgeView(msgspec.Struct, frozen=True):
    """What the console shows of one edge (ids and counters only)."""

    node_id: str
    reported_at: float
    """Epoch seconds of its last report: an edge gone silent shows by its age."""
    lists: tuple[EdgeList, ...]
    cameras: tuple[CameraReport, ...]
    queued: int
    published: int
    refused: int
    late: int = 0
    """Its candidates that reached the console's store late (``[node] late_after_s`` after
    capture): stored and marked, never dropped."""
    stale: int = 0
    """Its candidates refused (dead-lettered) for an older list version than the one
    published: matched against a list it should no longer have held."""


class ListPublisher:
    """Keeps the broker's bundles equal to the live deployments' lists."""

    def __init__(self, link: NodeLink, cipher: LinkCipher, governance: Governance,
                 matching: MatchingConfig, refresh_s: float, *, console: str = "node") -> None:
        """``console``: this console's ``[node] id`` (default: the config's default id);
        the deployments stamped with another console's id are not published."""
        self.link = link
        self.console = console
        self.cipher = cipher
        self.gov = governance
        self.matching = matching
        self.refresh_s = refresh_s
        self.published: dict[str, tuple[Fingerprint, int]] = {}
        """deployment id → (fingerprint, version) published."""
        self.reports: dict[str, EdgeReport] = {}
        """node id → the edge's latest report, read at each refresh."""
        self.ready = asyncio.Event()
        """Set after the first refresh that completed: :attr:`published` is the live lists'."""
        self._adopted = False
        self._recorded: dict[str, tuple[tuple[str, ...], tuple[str, ...], float]] = {}
        """node id → (cameras, lists held, report time) last written to the store."""

    def version_of(self, deployment_id: str) -> int:
        """The version of the deployment's list published now (0: none)."""
        entry = self.published.get(deployment_id)
        return 0 if entry is None else entry[1]

    async def refresh(self) -> None:
        """One comparison, applied. Raises :class:`LinkDown` or a :class:`StorageFault`
        (the supervisor's loop waits and comes back)."""
        live = {d.id: (d.watchlist_version, self.matching.decision_threshold(d.match_threshold))
                for d in await self.gov.deployments.live()
                if d.console is None or d.console == self.console}
        if not self._adopted:
            await self._adopt(live)
        for deployment_id in sorted(set(self.published) - set(live)):
            await self.link.drop_list(deployment_id)
            del self.published[deployment_id]
            self.cipher.forget(deployment_id)
            log.info("deployment %s: list withdrawn from the edges", deployment_id)
        on_broker = await self.link.list_key_ids()
        for deployment_id, fingerprint in sorted(live.items()):
            held = self.published.get(deployment_id)
            try:
                await self._hold_secret(deployment_id)
                if deployment_id not in on_broker:
                    # before the bundle, so an edge that sees the version finds its key; and
                    # again after a broker restart emptied its memory
                    await self.link.put_list_key(deployment_id,
                                                 self.cipher.seal_secret(deployment_id))
                if held is not None and held[0] == fingerprint:
                    continue
                bundle = await self._bundle(deployment_id, fingerprint)
            except DomainError as exc:  # wiped or ended since the read: next round drops it
                log.warning("deployment %s: list not published: %s", deployment_id, exc)
                continue
            sealed = self.cipher.seal("watchlist", deployment_id, deployment_id,
                                      msgspec.msgpack.encode(bundle))
            version = await self.link.put_list(
                deployment_id, msgspec.msgpack.encode(SealedList(deployment_id, sealed)))
            self.published[deployment_id] = (fingerprint, version)
            log.info("deployment %s: list version %d published (%d template(s))",
                     deployment_id, version, len(bundle.templates))
        self.ready.set()
        await self.read_reports()

    async def _adopt(self, live: dict[str, Fingerprint]) -> None:
        """Take over what an earlier run published: the same fingerprint keeps its version,
        anything else is replaced or withdrawn by the refresh."""
        for deployment_id, version in (await self.link.list_versions()).items():
            fingerprint = await self._published_fingerprint(deployment_id)
            if fingerprint is None or live.get(deployment_id) != fingerprint:
                # withdrawn by this refresh unless live (then republished)
                self.published[deployment_id] = ((-1, -1.0), version)
            else:
                self.published[deployment_id] = (fingerprint, version)
        self._adopted = True

    async def _hold_secret(self, deployment_id: str) -> None:
        """Hold the deployment's list secret, derived from its data key (a
        :class:`KeyUnavailable` once a wipe destroyed it)."""
        if not self.cipher.holds(deployment_id):
            data_key = await self.gov.ctx.keys.data_key(deployment_id)
            self.cipher.hold(deployment_id, list_secret(data_key, deployment_id))

    async def _published_fingerprint(self, deployment_id: str) -> Fingerprint | None:
        got = await self.link.fetch_list(deployment_id)
        if got is None:
            return None
        try:
            await self._hold_secret(deployment_id)
        except KeyUnavailable:  # wiped: what is on the broker is withdrawn
            return None
        try:
            outer = msgspec.msgpack.decode(got[1], type=SealedList)
            bundle = msgspec.msgpack.decode(
                self.cipher.open("watchlist", deployment_id, deployment_id, outer.sealed),
                type=ListBundle)
        except (msgspec.DecodeError, msgspec.ValidationError, SealBroken):
            return None
        return (bundle.watchlist_version, bundle.threshold)

    async def _bundle(self, deployment_id: str, fingerprint: Fingerprint) -> ListBundle:
        templates = await self.gov.watchlists.templates(deployment_id)
        return ListBundle(
            deployment_id=deployment_id, watchlist_version=fingerprint[0],
            threshold=fingerprint[1],
            templates=tuple(ListedTemplate(
                key=t.key, entry_id=t.entry_id, blue=t.list == "blue", model_id=t.model_id,
                embedding=np.ascontiguousarray(t.embedding, dtype="<f4").tobytes())
                for t in templates))

    async def read_reports(self) -> None:
        """Read every edge's latest report (an unreadable one is logged and left out). An
        edge read before and missing from this read keeps its last report: its age shows it
        silent (``reported_at``), and a listing that misses a key (as nats-py's key watcher
        did, see ``adapters/link/nats.py``) cannot make an edge vanish from the console."""
        reports = dict(self.reports)
        for node_id, data in sorted((await self.link.reports()).items()):
            try:
                reports[node_id] = msgspec.msgpack.decode(data, type=EdgeReport)
            except (msgspec.DecodeError, msgspec.ValidationError):
                log.warning("edge %s: unreadable report", node_id)
        self.reports = reports
        await self._record(reports)

    async def _record(self, reports: Mapping[str, EdgeReport]) -> None:
        """Keep in the store what the force-wide view of every console sharing it needs of
        each edge: when what it holds changed, and a newer report at least every
        :data:`RECORD_EVERY` (a silent edge's row ages; its report is not written again)."""
        due = []
        for node_id, report in sorted(reports.items()):
            if not (math.isfinite(report.at) and 0 < report.at < LAST_TIME):
                log.warning("edge %s: report time %r is no time: not recorded", node_id,
                            report.at)
                continue
            cameras = tuple(sorted({c.camera_id for c in report.cameras}))
            held = tuple(sorted({h.deployment_id for h in report.lists}))
            last = self._recorded.get(node_id)
            if last is not None and last[:2] == (cameras, held) and (
                    report.at - last[2] < RECORD_EVERY):
                continue
            due.append(EdgeRecord(node_id=node_id, console=self.console, cameras=cameras,
                                  deployments=held,
                                  reported_at=datetime.fromtimestamp(report.at, UTC)))
        await self.gov.force.record_edges(self.console, due)
        for rec in due:
            self._recorded[rec.node_id] = (rec.cameras, rec.deployments,
                                           rec.reported_at.timestamp())

    def edges(self, late: Mapping[str, int] | None = None,
              stale: Mapping[str, int] | None = None) -> list[EdgeView]:
        """Every edge as last read, its lists against the published versions (a list the
        edge still holds after the console withdrew it shows ``published`` 0), from memory;
        ``late``, ``stale``: node id → its candidates that arrived late, that were refused
        for an older list version (the console's intake counts)."""
        out = []
        for node_id, report in sorted(self.reports.items()):
            held = {h.deployment_id: h.version for h in report.lists}
            lists = []
            for deployment_id in sorted(set(held) | set(self.published)):
                entry = self.published.get(deployment_id)
                published = 0 if entry is None else entry[1]
                version = held.get(deployment_id, 0)
                lists.append(EdgeList(deployment_id=deployment_id, held=version,
                                      published=published, current=version == published))
            out.append(EdgeView(node_id=node_id, reported_at=report.at, lists=tuple(lists),
                                cameras=report.cameras, queued=report.queued,
                                published=report.published, refused=report.refused,
                                late=(late or {}).get(node_id, 0),
                                stale=(stale or {}).get(node_id, 0)))
        return out

    async def run(self) -> None:
        """Supervised loop: a refresh every ``refresh_s``; a link down or a storage fault is
        logged once and waited out."""
        trouble: str | None = None
        while True:
            try:
                await self.refresh()
            except (LinkDown, StorageFault) as exc:
                if trouble is None:
                    log.warning("watch lists not published for now: %s", exc)
                trouble = str(exc)
            else:
                if trouble is not None:
                    log.info("watch lists published again")
                trouble = None
            await asyncio.sleep(self.refresh_s)
