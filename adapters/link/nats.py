"""``link.nats``: edges and consoles over NATS JetStream (the ``nats-py`` asyncio client).

- Candidates: a file-backed stream (``candidates_stream``, subjects ``<subject>.<node id>``)
  with work-queue retention, so a candidate leaves the broker's disk once the console
  acknowledged it; deduplicated by the ``Nats-Msg-Id`` header (the edge's key) within
  ``duplicate_window_s``; bounded by ``max_bytes``/``max_msgs`` (full: a publish is refused and
  the edge keeps queuing in memory). The console reads it with one durable pull consumer
  (explicit acks, redelivery after ``ack_wait_s``).
- Face counts: a second file-backed work-queue stream (``counts_stream``, subjects
  ``<counts_subject>.<node id>``) with its own durable consumer (``counts_consumer``):
  ids and numbers only, deduplicated by the edge's key like the candidates.
- Watch lists: a key-value bucket (``lists_bucket``, one key per deployment, history 1); the
  entry's revision is the version. A withdrawal purges the key with its history.
- List secrets: a key-value bucket in the server's **memory** (``list_keys_bucket``), never on
  its disk: a copy of the broker's store holds bundles no key there opens. A server restart
  empties it (the bucket is made again on the next call); the console puts the secrets back.
- Edge reports: a key-value bucket (``edges_bucket``, one key per node).
- Dead letters: a small stream of descriptions (``deadletter_stream``), never bodies.
- An edge's outbox (``outbox_url``, :mod:`adapters.link.nats_outbox`): candidates and counts
  go to a work-queue stream on the edge's own nats-server first, and from there to the
  console's broker in order, so a stop while that broker is away loses nothing.

Every broker failure reaches the kernel as :class:`kernel.protocols.link.LinkDown`; the
connection is (re)made on the next call, so a process starts while the broker is down and
carries on when it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Annotated, Any

import msgspec
import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from nats.js.kv import KeyValue

from adapters.link.nats_outbox import NatsOutbox
from kernel.bounds import Seconds
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.link import Delivery, LinkDown

MSG_ID = "Nats-Msg-Id"
RECONNECT_ATTEMPTS = 3


class NatsDelivery:
    """A :class:`kernel.protocols.link.Delivery` over one JetStream message."""

    def __init__(self, msg: Msg) -> None:
        self._msg = msg

    @property
    def data(self) -> bytes:
        return self._msg.data

    @property
    def key(self) -> str | None:
        headers = self._msg.headers or {}
        value = headers.get(MSG_ID)
        return value if isinstance(value, str) else None

    @property
    def seq(self) -> int:
        return int(self._msg.metadata.sequence.stream)

    @property
    def attempts(self) -> int:
        return int(self._msg.metadata.num_delivered)

    async def ack(self) -> None:
        await _guard(self._msg.ack())

    async def retry(self, delay_s: float) -> None:
        await _guard(self._msg.nak(delay=delay_s))

    async def reject(self) -> None:
        await _guard(self._msg.term())


def _down(exc: BaseException) -> LinkDown:
    return LinkDown(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


async def _guard(call: Any) -> Any:
    try:
        return await call
    except (nats.errors.Error, OSError) as exc:
        raise _down(exc) from None


async def _get(kv: KeyValue, key: str) -> KeyValue.Entry | None:
    """The key's entry; None when it has none (never set, deleted or purged)."""
    try:
        return await kv.get(key)
    except nats.js.errors.NotFoundError:
        return None
    except (nats.errors.Error, OSError) as exc:
        raise _down(exc) from None


class NatsLink:
    """The :class:`kernel.protocols.link.NodeLink` over NATS JetStream."""

    class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
        url: str = "nats://127.0.0.1:4222"
        subject: str = "pinchpoint.candidates"
        candidates_stream: str = "PINCHPOINT_CANDIDATES"
        deadletter_stream: str = "PINCHPOINT_DEADLETTER"
        deadletter_subject: str = "pinchpoint.deadletter"
        counts_stream: str = "PINCHPOINT_COUNTS"
        counts_subject: str = "pinchpoint.counts"
        counts_consumer: str = "console-counts"
        lists_bucket: str = "pinchpoint_lists"
        edges_bucket: str = "pinchpoint_edges"
        list_keys_bucket: str = "pinchpoint_list_keys"
        consumer: str = "console"
        ack_wait_s: Seconds = 30.0
        duplicate_window_s: Seconds = 120.0
        publish_timeout_s: Seconds = 5.0
        connect_timeout_s: Seconds = 2.0
        max_bytes: Annotated[int, msgspec.Meta(ge=1 << 20, le=1 << 40)] = 1 << 30
        """The candidate stream's bound on the broker (discard new when full): what waits
        for the console while it is down; beyond it the edges queue in memory."""
        max_msgs: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] = 100_000
        outbox_url: str | None = None
        """An edge's own nats-server (``nats-server -js`` on the edge, its store on the
        edge's disk): candidates and counts are written there first and forwarded in order,
        so an edge stopped while the console's broker is away loses nothing. None: they
        wait in the edge's memory (``[node] queue``) while the broker is away."""
        outbox_stream: str = "PINCHPOINT_OUTBOX"
        outbox_prefix: str = "pinchpoint.outbox"
        outbox_max_bytes: Annotated[int, msgspec.Meta(ge=1 << 20, le=1 << 40)] = 1 << 30
        """The outbox's bound on the edge's disk (full: a write is refused, and the
        candidate waits in memory as without an outbox)."""
        outbox_max_msgs: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] = 100_000

    def __init__(self, config: Config, context: AdapterContext) -> None:
        self.config = config
        self.log = context.log
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._lists: KeyValue | None = None
        self._edges: KeyValue | None = None
        self._list_keys: KeyValue | None = None
        self._pulls: dict[str, JetStreamContext.PullSubscription] = {}
        """stream name → the console's durable pull subscription on it."""
        self._lock = asyncio.Lock()
        cfg = config
        self._outbox = None if cfg.outbox_url is None else NatsOutbox(
            cfg.outbox_url, cfg.outbox_stream, cfg.outbox_prefix, cfg.outbox_max_bytes,
            cfg.outbox_max_msgs, cfg.duplicate_window_s, cfg.publish_timeout_s, send=self._send)

    async def open(self) -> None:
        await self._ready()

    async def _ready(self) -> JetStreamContext:
        if self._outbox is not None:
            self._outbox.start()  # a backlog left by an earlier run moves from the first call
        async with self._lock:
            if self._js is not None and self._nc is not None and not self._nc.is_closed:
                return self._js
            await self._reset()
            js: JetStreamContext = await _guard(self._connect())
            return js

    async def _connect(self) -> JetStreamContext:
        cfg = self.config

        async def quiet(exc: Exception) -> None:
            # reconnect attempts are reported as LinkDown by the calls that fail
            self.log.debug("broker: %s", exc)

        # A bounded number of attempts: with "for ever" (-1) the client's first connect never
        # returns while the server is away, and the edge must keep analysing and queueing.
        # A connection that drops retries a few times, then closes; the next call makes a
        # fresh one.
        nc = await nats.connect(cfg.url, connect_timeout=max(1, round(cfg.connect_timeout_s)),
                                max_reconnect_attempts=RECONNECT_ATTEMPTS,
                                reconnect_time_wait=0.5, allow_reconnect=True, error_cb=quiet)
        js = nc.jetstream(timeout=cfg.publish_timeout_s)
        try:
            await js.add_stream(api.StreamConfig(
                name=cfg.candidates_stream, subjects=[f"{cfg.subject}.>"],
                retention=api.RetentionPolicy.WORK_QUEUE, storage=api.StorageType.FILE,
                discard=api.DiscardPolicy.NEW, duplicate_window=cfg.duplicate_window_s,
                max_bytes=cfg.max_bytes, max_msgs=cfg.max_msgs))
            await js.add_stream(api.StreamConfig(
                name=cfg.counts_stream, subjects=[f"{cfg.counts_subject}.>"],
                retention=api.RetentionPolicy.WORK_QUEUE, storage=api.StorageType.FILE,
                discard=api.DiscardPolicy.NEW, duplicate_window=cfg.duplicate_window_s,
                max_msgs=cfg.max_msgs))
            await js.add_stream(api.StreamConfig(
                name=cfg.deadletter_stream, subjects=[cfg.deadletter_subject],
                storage=api.StorageType.FILE, discard=api.DiscardPolicy.OLD, max_msgs=10_000))
            self._lists = await js.create_key_value(bucket=cfg.lists_bucket, history=1)
            self._edges = await js.create_key_value(bucket=cfg.edges_bucket, history=1)
            self._list_keys = await js.create_key_value(
                bucket=cfg.list_keys_bucket, history=1, storage=api.StorageType.MEMORY)
        except BaseException:
            await nc.close()
            raise
        self._nc, self._js = nc, js
        return js

    async def _reset(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        self._pulls = {}
        if nc is not None and not nc.is_closed:
            with contextlib.suppress(nats.errors.Error, OSError):
                await nc.close()

    async def close(self) -> None:
        if self._outbox is not None:
            await self._outbox.close()
        async with self._lock:
            await self._reset()

    # -- edge ---------------------------------------------------------------------------
    async def publish_candidate(self, node_id: str, key: str, data: bytes) -> None:
        await self._publish(f"{self.config.subject}.{node_id}", key, data)

    async def publish_counts(self, node_id: str, key: str, data: bytes) -> None:
        await self._publish(f"{self.config.counts_subject}.{node_id}", key, data)

    async def _publish(self, subject: str, key: str, data: bytes) -> None:
        if self._outbox is not None:
            await self._outbox.put(subject, key, data)
        else:
            await self._send(subject, key, data)

    async def outbox_pending(self) -> int:
        """Messages in the edge's outbox not yet on the console's broker (0 without one)."""
        return 0 if self._outbox is None else await self._outbox.pending()

    async def _send(self, subject: str, key: str, data: bytes) -> None:
        js = await self._ready()
        try:
            await js.publish(subject, data, headers={MSG_ID: key})
        except nats.js.errors.NoStreamResponseError as exc:
            # The server came back without its JetStream store: make the streams again on
            # the next call rather than failing every publish until a restart.
            self._js = None
            raise _down(exc) from None
        except (nats.errors.Error, OSError) as exc:
            raise _down(exc) from None

    async def list_versions(self) -> dict[str, int]:
        js = await self._ready()
        assert self._lists is not None
        held = await _guard(_snapshot(js, self.config.lists_bucket, self._lists))
        return {key: int(entry.revision or 0) for key, entry in held.items()}

    async def fetch_list(self, deployment_id: str) -> tuple[int, bytes] | None:
        await self._ready()
        assert self._lists is not None
        entry = await _get(self._lists, deployment_id)
        if entry is None:
            return None
        return int(entry.revision or 0), bytes(entry.value or b"")

    async def fetch_list_key(self, deployment_id: str) -> bytes | None:
        await self._ready()
        assert self._list_keys is not None
        entry = await self._memory(_get(self._list_keys, deployment_id))
        return None if entry is None else bytes(entry.value or b"")

    async def _memory(self, call: Any) -> Any:
        """A call on the memory bucket: after a server restart the bucket is gone, so the
        connection is made again (and the bucket with it) on the next call."""
        try:
            return await call
        except (nats.js.errors.BucketNotFoundError, nats.js.errors.NotFoundError,
                nats.js.errors.NoStreamResponseError) as exc:
            self._js = None
            raise _down(exc) from None
        except LinkDown:
            self._js = None
            raise

    async def put_report(self, node_id: str, data: bytes) -> None:
        await self._ready()
        assert self._edges is not None
        await _guard(self._edges.put(node_id, data))

    # -- console ------------------------------------------------------------------------
    async def fetch_candidates(self, batch: int, timeout_s: float) -> Sequence[Delivery]:
        cfg = self.config
        return await self._fetch(cfg.subject, cfg.consumer, cfg.candidates_stream, batch,
                                 timeout_s)

    async def fetch_counts(self, batch: int, timeout_s: float) -> Sequence[Delivery]:
        cfg = self.config
        return await self._fetch(cfg.counts_subject, cfg.counts_consumer, cfg.counts_stream,
                                 batch, timeout_s)

    async def _fetch(self, subject: str, durable: str, stream: str, batch: int,
                     timeout_s: float) -> Sequence[Delivery]:
        js = await self._ready()
        cfg = self.config
        pull = self._pulls.get(stream)
        if pull is None:
            try:
                pull = self._pulls[stream] = await js.pull_subscribe(
                    f"{subject}.>", durable=durable, stream=stream,
                    config=api.ConsumerConfig(ack_policy=api.AckPolicy.EXPLICIT,
                                              ack_wait=cfg.ack_wait_s, max_deliver=-1,
                                              max_ack_pending=1024))
            except nats.js.errors.NotFoundError as exc:
                self._js = None  # the stream is gone (a fresh server): made again next call
                raise _down(exc) from None
            except (nats.errors.Error, OSError) as exc:
                raise _down(exc) from None
        try:
            msgs = await pull.fetch(batch, timeout=timeout_s)
        except TimeoutError:  # nats' own and asyncio's (an OSError: caught before that)
            return []
        except (nats.errors.Error, OSError) as exc:
            self._pulls.pop(stream, None)
            raise _down(exc) from None
        return [NatsDelivery(m) for m in msgs]

    async def put_list(self, deployment_id: str, data: bytes) -> int:
        await self._ready()
        assert self._lists is not None
        return int(await _guard(self._lists.put(deployment_id, data)))

    async def put_list_key(self, deployment_id: str, data: bytes) -> None:
        await self._ready()
        assert self._list_keys is not None
        await self._memory(_guard(self._list_keys.put(deployment_id, data)))

    async def list_key_ids(self) -> set[str]:
        js = await self._ready()
        assert self._list_keys is not None
        held: dict[str, KeyValue.Entry] = await self._memory(
            _guard(_snapshot(js, self.config.list_keys_bucket, self._list_keys)))
        return set(held)

    async def drop_list(self, deployment_id: str) -> None:
        await self._ready()
        assert self._lists is not None and self._list_keys is not None
        await self._memory(_guard(self._list_keys.purge(deployment_id)))
        await _guard(self._lists.purge(deployment_id))

    async def reports(self) -> dict[str, bytes]:
        js = await self._ready()
        assert self._edges is not None
        held = await _guard(_snapshot(js, self.config.edges_bucket, self._edges))
        return {key: bytes(entry.value or b"") for key, entry in held.items()}

    async def dead_letter(self, data: bytes) -> None:
        js = await self._ready()
        await _guard(js.publish(self.config.deadletter_subject, data))


async def _snapshot(js: JetStreamContext, bucket: str,
                    kv: KeyValue) -> dict[str, KeyValue.Entry]:
    """Key → entry of every key that holds a value now (deleted and purged are absent).

    Read from the bucket's stream state, not a key watcher: nats-py's watcher sends its
    "no more entries" marker when the consumer's info, which can overtake the entries on the
    socket, says nothing is pending, so a listing right after a put came back empty 8 times
    in 300 here (an edge then dropped a live list until its next refresh).
    ``tests/adapters/link/test_nats_snapshot.py`` repeats that sequence.
    """
    prefix = f"$KV.{bucket}."
    info = await js.stream_info(f"KV_{bucket}", subjects_filter=f"{prefix}>")
    out: dict[str, KeyValue.Entry] = {}
    for subject in sorted(info.state.subjects or {}):
        key = subject[len(prefix):]
        entry = await _get(kv, key)  # a delete or purge marker reads as None
        if entry is not None:
            out[key] = entry
    return out
