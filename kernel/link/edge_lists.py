"""An edge's watch lists: the console's published bundles, held by version (issue 13).

The edge keeps, per live deployment, the version of the bundle it holds and the templates in
memory only (never on its disk), with the deployment's list secret that opens them
(fetched from the broker's memory, :mod:`kernel.link.cipher`). Every ``refresh_s`` it
compares with what the console has published now (:func:`plan`): a deployment the console
dropped (ended, wiped) is dropped here at once, a newer version is fetched and replaces the
old one, and a newer version that cannot be fetched or opened drops the old one too: the edge
never matches against a list it knows to be stale. While the link is down it cannot know, so
it keeps what it holds and keeps analysing (the console refuses candidates of a deployment
that is no longer live). What it holds is reported (:class:`~kernel.link.messages.HeldList`):
the console shows each edge's versions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

import msgspec
import numpy as np

from kernel.link.cipher import LinkCipher, SealBroken
from kernel.link.messages import HeldList, ListBundle, SealedList
from kernel.pipeline.live import LivePipeline
from kernel.pipeline.watchlist_index import IndexedEntry, LiveWatchlist
from kernel.protocols.index import VectorIndex
from kernel.protocols.link import LinkDown, NodeLink

log = logging.getLogger("pinchpoint.link.lists")


class ListPlan(msgspec.Struct, frozen=True):
    """What one refresh does: deployments to drop, deployments whose newer version to fetch."""

    drop: tuple[str, ...]
    fetch: tuple[str, ...]


def plan(held: Mapping[str, int], published: Mapping[str, int]) -> ListPlan:
    """The version check. ``held``/``published``: deployment id → version. A deployment no
    longer published is dropped; one published at a higher version than held is fetched (its
    old list is dropped first if the fetch fails); the same or a lower version (a replay, an
    out-of-order read) changes nothing."""
    drop = tuple(sorted(d for d in held if d not in published))
    fetch = tuple(sorted(d for d, v in published.items() if v > held.get(d, 0)))
    return ListPlan(drop=drop, fetch=fetch)


class EdgeLists:
    """Holds the edge's lists and hands the pipeline a fresh index whenever they change."""

    def __init__(self, link: NodeLink, cipher: LinkCipher, pipeline: LivePipeline,
                 make_index: Callable[[], VectorIndex], refresh_s: float,
                 on_change: Callable[[], None] | None = None) -> None:
        self.link = link
        self.cipher = cipher
        self.pipeline = pipeline
        self.make_index = make_index
        self.refresh_s = refresh_s
        self.on_change = on_change
        self.held: dict[str, HeldList] = {}
        self._bundles: dict[str, ListBundle] = {}
        self._down = False

    def version(self, deployment_id: str) -> int:
        """The version held of a deployment's list (0: none)."""
        held = self.held.get(deployment_id)
        return 0 if held is None else held.version

    async def refresh(self) -> None:
        """One comparison with the console's published versions, applied."""
        try:
            published = await self.link.list_versions()
        except LinkDown as exc:
            if not self._down:
                self._down = True
                log.warning("link down (%s): matching goes on against the lists held, "
                            "versions %s", exc, self._versions() or "none")
            return
        if self._down:
            self._down = False
            log.info("link back: comparing the lists held with the console's")
        todo = plan({d: h.version for d, h in self.held.items()}, published)
        changed = False
        for deployment_id in todo.drop:
            self._drop(deployment_id, "the console no longer publishes it (ended or wiped)")
            changed = True
        for deployment_id in todo.fetch:
            changed |= await self._fetch(deployment_id)
        if changed:
            await self._rebuild()

    def _versions(self) -> str:
        return ", ".join(f"{d}@{h.version}" for d, h in sorted(self.held.items()))

    def _drop(self, deployment_id: str, why: str) -> None:
        self.held.pop(deployment_id, None)
        self._bundles.pop(deployment_id, None)
        self.cipher.forget(deployment_id)
        log.info("deployment %s: list dropped, %s", deployment_id, why)

    async def _fetch(self, deployment_id: str) -> bool:
        """Fetch and open the newer bundle; on any failure drop the stale one. Whether the
        lists changed."""
        had = deployment_id in self.held
        try:
            got = await self.link.fetch_list(deployment_id)
            sealed_secret = (None if got is None
                             else await self.link.fetch_list_key(deployment_id))
        except LinkDown as exc:
            if had:
                self._drop(deployment_id, f"a newer version exists and cannot be fetched "
                                          f"({exc}); not matching against a stale list")
            return had
        if got is None:
            if had:
                self._drop(deployment_id, "the console no longer publishes it")
            return had
        version, data = got
        try:
            outer = msgspec.msgpack.decode(data, type=SealedList)
            if outer.deployment_id != deployment_id:
                raise SealBroken("published under another deployment's name")
            if sealed_secret is None:
                raise SealBroken("its list secret is not on the broker (withdrawn, or the "
                                 "broker restarted and the console has not put it back yet)")
            self.cipher.hold_sealed(deployment_id, sealed_secret)
            inner = self.cipher.open("watchlist", deployment_id, deployment_id, outer.sealed)
            bundle = msgspec.msgpack.decode(inner, type=ListBundle)
            if bundle.deployment_id != deployment_id:
                raise SealBroken("the bundle names another deployment")
        except (msgspec.DecodeError, msgspec.ValidationError, SealBroken) as exc:
            log.error("deployment %s: list version %d refused (%s)%s", deployment_id, version,
                      exc, "; the stale one is dropped" if had else "")
            if had:
                self._drop(deployment_id, "its newer version does not open")
            return had
        self._bundles[deployment_id] = bundle
        self.held[deployment_id] = HeldList(deployment_id, version, len(bundle.templates))
        log.info("deployment %s: list version %d held (%d template(s))", deployment_id,
                 version, len(bundle.templates))
        return True

    async def _rebuild(self) -> None:
        if not self._bundles:
            self.pipeline.set_watchlist(None)
            log.info("no list held: frames are discarded unexamined")
        else:
            model_id = self.pipeline.engine.model_id
            watchlist = LiveWatchlist(self.make_index(), {d: b.threshold
                                                          for d, b in self._bundles.items()})
            foreign = 0
            for bundle in self._bundles.values():
                items = []
                for t in bundle.templates:
                    if t.model_id != model_id:
                        foreign += 1
                        continue
                    items.append((t.key, IndexedEntry(bundle.deployment_id, t.entry_id,
                                                      blue=t.blue),
                                  np.frombuffer(t.embedding, dtype="<f4").copy()))
                # An HNSW build of a large list takes seconds: never on the event loop.
                await self.pipeline.executor.run(watchlist.add, items)
            if foreign:
                log.warning("%d template(s) were made by another model than this edge's and "
                            "are not searched", foreign)
            self.pipeline.set_watchlist(watchlist)
        if self.on_change is not None:
            self.on_change()

    async def run(self) -> None:
        """Supervised loop: refresh every ``refresh_s`` (the face counts go to the console
        by :mod:`kernel.link.edge_counts`)."""
        while True:
            await self.refresh()
            await asyncio.sleep(self.refresh_s)
