"""A deployment's list secret (issue 13, R16, R24): what opens its watch-list bundles and its
candidate evidence lives in the broker's memory only, derived from the data key a wipe
destroys.

Over a real nats-server with the console's governed core on a real SQLite file: a copy of the
broker's store directory, read with the link key, never opens a list nor a waiting candidate
(the secret was never written there; the link key alone derives no such key); after a wipe
the console dead-letters the deployment's waiting candidates unopened and an edge seals no
more; a restarted broker comes back without
the secrets and the console puts them back; a secret forged under another link key is refused
by the edge; after a wipe the console cannot derive the secret again."""

from __future__ import annotations

import asyncio
import secrets
import shutil
from pathlib import Path

import msgspec
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from adapters.index.exact import ExactIndex
from adapters.link.nats import NatsLink
from kernel.clock import SystemClock
from kernel.config import MatchingConfig
from kernel.domain.errors import KeyUnavailable
from kernel.executor import BoundedExecutor
from kernel.link.cipher import LinkCipher, SealBroken, list_secret
from kernel.link.console_ingest import CandidateIngest
from kernel.link.edge_candidates import RemoteCandidates
from kernel.link.edge_lists import EdgeLists
from kernel.link.list_publisher import ListPublisher
from kernel.link.messages import SealedCandidateMessage, SealedList
from kernel.pipeline.candidates import CandidateRecorder
from kernel.pipeline.live import LivePipeline
from kernel.protocols.link import LinkDown
from kernel.testing.camera_contract import make_context
from tests.kernel.link.conftest import Console, make_link
from tests.kernel.link.test_console_ingest import dead_letters, evidence, fetch_one
from tests.nats_server import NatsServer, started_server


def _edge(link: NatsLink, cipher: LinkCipher, console: Console, tmp: Path,
          executor: BoundedExecutor) -> EdgeLists:
    engine = console.engine
    pipeline = LivePipeline(engine, executor, SystemClock(), CandidateRecorder(console.gov))
    return EdgeLists(link, cipher, pipeline,
                     lambda: ExactIndex(ExactIndex.Config(dim=engine.dim),
                                        make_context("index", tmp)), refresh_s=1.0)


def _files(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_the_link_key_alone_opens_no_list_and_a_secret_opens_only_its_deployment() -> None:
    root = secrets.token_bytes(32)
    console, edge = LinkCipher(root), LinkCipher(root)
    secret_a = list_secret(secrets.token_bytes(32), "dep-a")
    console.hold("dep-a", secret_a)
    sealed = console.seal("watchlist", "dep-a", "dep-a", b"templates")
    with pytest.raises(SealBroken, match="no list secret"):
        edge.open("watchlist", "dep-a", "dep-a", sealed)
    with pytest.raises(SealBroken, match="no list secret"):
        edge.seal("watchlist", "dep-a", "dep-a", b"x")
    # the secret travels sealed under the link key, and opens nothing under another
    edge.hold_sealed("dep-a", console.seal_secret("dep-a"))
    assert edge.open("watchlist", "dep-a", "dep-a", sealed) == b"templates"
    with pytest.raises(SealBroken):
        LinkCipher(secrets.token_bytes(32)).hold_sealed("dep-a", console.seal_secret("dep-a"))
    with pytest.raises(SealBroken):  # sealed for dep-a, offered as dep-b's
        edge.hold_sealed("dep-b", console.seal_secret("dep-a"))
    with pytest.raises(SealBroken, match="32 bytes"):
        edge.hold("dep-b", b"short")
    edge.forget("dep-a")
    assert not edge.holds("dep-a")
    with pytest.raises(SealBroken, match="no list secret"):
        edge.open("watchlist", "dep-a", "dep-a", sealed)


async def test_issue13_r24_a_copy_of_the_brokers_disk_with_the_link_key_opens_no_list(
    nats_server: NatsServer, link: NatsLink, console: Console, tmp_path: Path,
) -> None:
    root = secrets.token_bytes(32)
    gov, dep = console.gov, console.deployment_id
    publisher = ListPublisher(link, LinkCipher(root), gov, MatchingConfig(), refresh_s=1.0)
    executor = BoundedExecutor(1, 2)
    try:
        await publisher.refresh()
        edge = _edge(link, LinkCipher(root), console, tmp_path, executor)
        await edge.refresh()
        assert edge.version(dep) > 0 and edge.pipeline.watchlist is not None
        sealed_secret = await link.fetch_list_key(dep)
        assert sealed_secret is not None
        got = await link.fetch_list(dep)
        assert got is not None
        bundle = msgspec.msgpack.decode(got[1], type=SealedList)
        # a candidate the edge raised waits on the broker (the console is not reading)
        remote = RemoteCandidates(link, edge.cipher, "edge-1")
        for _ in range(2):
            await remote.raise_candidate(evidence(console))
        waiting = list(remote._queue)
        for key, data in waiting:
            await link.publish_candidate("edge-1", key, data)
        candidate = msgspec.msgpack.decode(waiting[0][1], type=SealedCandidateMessage)

        # the broker's disk, copied while the deployment is live (the server stopped so that
        # everything it keeps on disk is flushed there)
        nats_server.stop()
        copy = tmp_path / "copy"
        shutil.copytree(nats_server.store, copy / "jetstream")
        disk = _files(copy)
        assert bundle.sealed in disk and candidate.sealed in disk  # on disk, sealed ...
        secret = list_secret(await gov.ctx.keys.data_key(dep), dep)
        assert sealed_secret not in disk and secret not in disk  # ... its secret never was
        # whoever holds the copy and the link key: the earlier scheme's key (HKDF of the link
        # key) does not open it, and a broker started on the copy holds no secret
        v1 = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                  info=f"pinchpoint/link/v1|watchlist|{dep}".encode()).derive(root)
        with pytest.raises(InvalidTag):
            AESGCM(v1).decrypt(bundle.sealed[:12], bundle.sealed[12:],
                               f"watchlist|{dep}|{dep}".encode())
        v1_evidence = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                           info=f"pinchpoint/link/v1|evidence|{dep}".encode()).derive(root)
        with pytest.raises(InvalidTag):
            AESGCM(v1_evidence).decrypt(candidate.sealed[:12], candidate.sealed[12:],
                                        f"evidence|{dep}|{candidate.key}".encode())
        with pytest.raises(SealBroken):  # a cipher with the link key and no secret
            LinkCipher(root).open("evidence", dep, candidate.key, candidate.sealed)
        async with started_server(copy) as thief:
            stolen = make_link(thief, tmp_path, publish_timeout_s=1.0)
            await stolen.open()
            try:
                assert (await stolen.fetch_list(dep)) is not None
                assert await stolen.fetch_list_key(dep) is None
                assert await stolen.list_key_ids() == set()
                fresh = _edge(stolen, LinkCipher(root), console, tmp_path, executor)
                await fresh.refresh()
                assert fresh.held == {} and fresh.pipeline.watchlist is None
            finally:
                await stolen.close()

        # wiped: the data key is gone, so nobody derives the secret again, and the broker
        # loses the bundle and the secret
        await nats_server.start()
        await gov.retention.wipe(dep, "commander", reason="test")
        with pytest.raises(KeyUnavailable):
            await gov.ctx.keys.data_key(dep)
        await _refreshed(publisher)
        assert await link.list_versions() == {} and await link.list_key_ids() == set()
        assert not publisher.cipher.holds(dep)
        await edge.refresh()
        assert edge.held == {} and not edge.cipher.holds(dep)
        # a match the edge made just before it dropped the list is not sealed nor sent
        remote._queue.clear()
        await remote.raise_candidate(evidence(console))
        assert (remote.queued, remote.withdrawn) == (0, 1)
        # the candidates that waited on the broker: the console cannot open them any more
        ingest = CandidateIngest(link, publisher.cipher, gov)
        for _ in waiting:
            assert await ingest.settle(await fetch_one(link))
        assert (ingest.stored, ingest.dead) == (0, 2)
        reasons = [d.reason for d in await dead_letters(nats_server)]
        assert len(reasons) == 2 and all("no data key" in r for r in reasons), reasons
    finally:
        executor.shutdown()


async def _refreshed(publisher: ListPublisher) -> None:
    """A refresh that went through: the first call after a broker restart may find the
    connection or the memory bucket gone (LinkDown; the supervisor's loop calls again)."""
    for _ in range(20):
        try:
            await publisher.refresh()
            return
        except LinkDown:
            await asyncio.sleep(0.1)
    raise AssertionError("the console's refresh never went through")


async def test_issue13_a_restarted_broker_gets_the_secrets_back_and_a_forged_one_is_refused(
    nats_server: NatsServer, link: NatsLink, console: Console, tmp_path: Path,
) -> None:
    root = secrets.token_bytes(32)
    dep = console.deployment_id
    publisher = ListPublisher(link, LinkCipher(root), console.gov, MatchingConfig(),
                              refresh_s=1.0)
    executor = BoundedExecutor(1, 2)
    try:
        await publisher.refresh()
        edge = _edge(link, LinkCipher(root), console, tmp_path, executor)
        await edge.refresh()
        held = edge.version(dep)
        assert held > 0

        nats_server.stop()
        await nats_server.start()  # the same store: the bundles are back, the secrets not
        late = make_link(nats_server, tmp_path, publish_timeout_s=1.0)
        await late.open()
        try:
            assert await late.fetch_list_key(dep) is None
            newcomer = _edge(late, LinkCipher(root), console, tmp_path, executor)
            await newcomer.refresh()  # an edge started now cannot open the list yet
            assert newcomer.held == {}
            await edge.refresh()  # the edge that held it keeps it: the version is unchanged
            assert edge.version(dep) == held

            await _refreshed(publisher)  # the console puts the secret back
            assert await late.list_key_ids() == {dep}
            await newcomer.refresh()
            assert newcomer.version(dep) == held and newcomer.pipeline.watchlist is not None

            # someone on the broker replaces the secret with one sealed under another link
            # key (and a new bundle with it): the edge refuses it and drops what it held
            forger = LinkCipher(secrets.token_bytes(32))
            forger.hold(dep, secrets.token_bytes(32))
            await late.put_list_key(dep, forger.seal_secret(dep))
            await late.put_list(dep, msgspec.msgpack.encode(SealedList(
                dep, forger.seal("watchlist", dep, dep, b"\x90"))))
            await newcomer.refresh()
            assert newcomer.held == {} and newcomer.pipeline.watchlist is None
        finally:
            await late.close()
    finally:
        executor.shutdown()
