"""A console's intake of the edges' candidates: persisted, then acknowledged (issue 13).

One durable consumer reads the candidate stream oldest first. Each message is checked
(:func:`read_message`: its shape, its key; :func:`open_candidate`: its seal, under the list
secret derived from the deployment's data key, so a wiped deployment's never opens), its crops
re-sealed under the deployment's store key and committed as today
(:meth:`kernel.domain.alerts.Alerts.store_candidate`, idempotent by the edge's key, which
becomes the alert id), and only then acknowledged. A console killed between the commit and the
acknowledgement gets the message again after the ack wait and stores nothing twice; a storage
fault leaves it unacknowledged and asks for it again later. Anything that is not a well-formed,
well-sealed candidate is dead-lettered (a description, never its body), logged and never
delivered again: it cannot crash the console nor block the stream.

A candidate matched against an older version of its deployment's list than the one the
console publishes now is dead-lettered too (the edge matched a list since reviewed: the
person may no longer be on it), logged, and counted with its edge (``stale``, shown by
``GET /api/health/edges``). The intake starts once the publisher has compared the live lists
with the broker's, so that it knows the versions it judges by.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from typing import Protocol

import msgspec

from kernel.domain.errors import DomainError, KeyUnavailable
from kernel.domain.governance import Governance
from kernel.domain.lateness import arrived_late
from kernel.errors import StorageFault
from kernel.link.cipher import LinkCipher, SealBroken, list_secret
from kernel.link.messages import (
    KEY_PATTERN,
    CandidatePayload,
    DeadLetter,
    SealedCandidateMessage,
)
from kernel.protocols.link import Delivery, LinkDown, NodeLink

log = logging.getLogger("pinchpoint.link.ingest")

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EPOCH_MAX = 2.0 ** 33  # year 2242: beyond is no capture time
MAX_ATTEMPTS = 20
"""Deliveries of one message that failed for an unexpected reason before it is dead-lettered
(a storage fault does not count: that one waits for the storage)."""


class Refused(Exception):
    """A stream message that is not a candidate this console can take (dead-lettered)."""


class PublishedVersions(Protocol):
    """The console's list publication as the intake asks it
    (:class:`kernel.link.list_publisher.ListPublisher`)."""

    ready: asyncio.Event
    """Set once the live lists and the broker's have been compared: the versions are known."""

    console: str
    """This console's ``[node] id``: the deployments stamped with another are not its own."""

    def version_of(self, deployment_id: str) -> int:
        """The version of the deployment's list published now (0: none, it is not live)."""
        ...


class Candidate(msgspec.Struct, frozen=True):
    """A message read and opened: what the domain is handed."""

    message: SealedCandidateMessage
    payload: CandidatePayload


def read_message(data: bytes, key: str | None) -> SealedCandidateMessage:
    """Decode and check one message's clear part; :class:`Refused` saying why otherwise."""
    try:
        msg = msgspec.msgpack.decode(data, type=SealedCandidateMessage)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise Refused(f"not a candidate message ({exc})") from None
    if not KEY_PATTERN.match(msg.key):
        raise Refused("malformed candidate key")
    if key != msg.key:
        raise Refused("the message id is not the candidate's key")
    for name in ("node_id", "deployment_id"):
        if not _ID.match(getattr(msg, name)):
            raise Refused(f"malformed {name}")
    if not (math.isfinite(msg.captured_at) and 0 < msg.captured_at < _EPOCH_MAX):
        raise Refused("capture time out of range")
    return msg


def open_candidate(cipher: LinkCipher, msg: SealedCandidateMessage,
                   secret: bytes | None) -> Candidate:
    """Open and check a checked message's payload under its deployment's list ``secret``
    (None: the deployment's data key is destroyed or was never here); :class:`Refused`
    saying why otherwise."""
    if secret is None:
        raise Refused(f"seal: no data key of deployment {msg.deployment_id} here (wiped, or "
                      "made on another console)")
    try:
        inner = cipher.open_under(secret, "evidence", msg.deployment_id, msg.key, msg.sealed)
    except SealBroken as exc:
        raise Refused(f"seal: {exc}") from None
    try:
        payload = msgspec.msgpack.decode(inner, type=CandidatePayload)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise Refused(f"sealed payload is not a candidate ({exc})") from None
    if not (_ID.match(payload.entry_id) and _ID.match(payload.camera_id)):
        raise Refused("malformed entry or camera id")
    if not (math.isfinite(payload.score) and -1.0 <= payload.score <= 1.0):
        raise Refused("score out of range")
    return Candidate(message=msg, payload=payload)


class CandidateIngest:
    """The console's supervised consumer of the candidate stream."""

    def __init__(self, link: NodeLink, cipher: LinkCipher, governance: Governance,
                 late_after_s: float = 10.0, batch: int = 16, retry_s: float = 1.0,
                 lists: PublishedVersions | None = None) -> None:
        self.link = link
        self.cipher = cipher
        self.gov = governance
        self.lists = lists
        """The published versions a candidate's ``list_version`` is judged by (None: not
        judged, a console without a publisher: the tests of the intake alone)."""
        self.late_after_s = late_after_s
        self.batch = batch
        self.retry_s = retry_s
        self.stored = 0
        """Messages settled by a commit (a redelivered one finds its alert: stored once)."""
        self.late = 0
        self.late_by_node: dict[str, int] = {}
        """node id → its candidates that arrived late (shown with the edge, GET
        /api/health/edges); each is stored all the same."""
        self.refused = 0
        """Well-formed candidates the domain refused (the deployment ended meanwhile)."""
        self.stale = 0
        self.stale_by_node: dict[str, int] = {}
        """node id → its candidates dead-lettered for an older list version than the one
        published (shown with the edge, GET /api/health/edges)."""
        self.dead = 0
        self.judged = 0
        """Candidates whose ``list_version`` was compared with a published version of their
        deployment (a bench or test that expects every candidate judged counts on this: one
        of a deployment not yet published is stored unjudged)."""

    async def run(self) -> None:
        """Fetch and settle, until cancelled; a link down is waited out, not a crash."""
        if self.lists is not None:
            await self.lists.ready.wait()  # the versions before the first candidate
        down = False
        while True:
            try:
                deliveries = await self.link.fetch_candidates(self.batch, 1.0)
            except LinkDown as exc:
                if not down:
                    down = True
                    log.warning("link down (%s): the edges' candidates wait on the broker",
                                exc)
                await asyncio.sleep(self.retry_s)
                continue
            if down:
                down = False
                log.info("link back: taking the edges' candidates again")
            for delivery in deliveries:
                if not await self.settle(delivery):
                    break  # storage refuses: the rest are redelivered after the ack wait

    async def _secret(self, deployment_id: str) -> bytes | None:
        """The deployment's list secret, derived from its data key for this message only
        (the key ring caches the data key and forgets it at a wipe); None without one."""
        try:
            data_key = await self.gov.ctx.keys.data_key(deployment_id)
        except KeyUnavailable:
            return None
        return list_secret(data_key, deployment_id)

    async def settle(self, delivery: Delivery) -> bool:
        """Persist-then-ack one delivery (or dead-letter it); False when storage refused it
        for now (it will come again)."""
        try:
            message = read_message(delivery.data, delivery.key)
            candidate = open_candidate(self.cipher, message,
                                       await self._secret(message.deployment_id))
        except Refused as exc:
            await self._dead(delivery, str(exc))
            return True
        msg, payload = candidate.message, candidate.payload
        if self.lists is not None:
            if not self.lists.ready.is_set():  # not yet compared: ask again later
                await delivery.retry(self.retry_s)
                return False
            current = self.lists.version_of(msg.deployment_id)
            try:
                foreign = not current and await self._foreign(msg.deployment_id)
            except StorageFault:
                await delivery.retry(self.retry_s)
                return False
            if foreign:
                # another console's deployment: an edge of this console matched it before the
                # withdrawal reached it (R18: its cameras are not that deployment's)
                self.refused += 1
                log.warning("candidate %s from edge %s not stored: deployment %s runs on "
                            "another console", msg.key, msg.node_id, msg.deployment_id)
                await delivery.ack()
                return True
            if current:
                self.judged += 1
            if current and msg.list_version < current:
                log.warning("candidate %s from edge %s matched against list version %d of "
                            "deployment %s, older than the published %d: not stored",
                            msg.key, msg.node_id, msg.list_version, msg.deployment_id, current)
                if await self._dead(delivery, f"matched against list version "
                                              f"{msg.list_version}, older than the published "
                                              f"{current}"):
                    self.stale += 1
                    self.stale_by_node[msg.node_id] = self.stale_by_node.get(msg.node_id, 0) + 1
                return True
        try:
            sealed = await self.gov.alerts.seal_candidate(
                msg.deployment_id, payload.entry_id, payload.camera_id, payload.score,
                msg.captured_at, payload.face_jpeg, payload.torso_jpeg, alert_id=msg.key)
            rec = await self.gov.alerts.store_candidate(sealed)
        except StorageFault:
            await delivery.retry(self.retry_s)
            return False
        except DomainError as exc:
            self.refused += 1
            log.warning("candidate %s from edge %s not stored: %s", msg.key, msg.node_id, exc)
            await delivery.ack()
            return True
        except Exception:
            attempts = delivery.attempts
            if attempts >= MAX_ATTEMPTS:
                await self._dead(delivery, "failed every attempt")
            else:
                log.exception("candidate %s from edge %s: unexpected failure (attempt %d)",
                              msg.key, msg.node_id, attempts)
                await delivery.retry(self.retry_s)
            return True
        await delivery.ack()
        self.stored += 1
        if arrived_late(rec.captured_at, rec.created_at, self.late_after_s):
            self.late += 1
            self.late_by_node[msg.node_id] = self.late_by_node.get(msg.node_id, 0) + 1
            log.warning("candidate %s from edge %s arrived late (stored, marked late): "
                        "captured %.0f s before", msg.key, msg.node_id,
                        (rec.created_at - rec.captured_at).total_seconds())
        return True

    async def _foreign(self, deployment_id: str) -> bool:
        """Whether the deployment is stamped with another console's id (a storage fault
        propagates: the caller retries the delivery). One not found, or unstamped, is not: the
        domain judges it as any other (a deployment published a moment ago whose version
        the publisher has not recorded yet must not be lost)."""
        assert self.lists is not None
        try:
            rec = await self.gov.deployments.get(deployment_id)
        except DomainError:
            return False
        return rec.console is not None and rec.console != self.lists.console

    async def _dead(self, delivery: Delivery, reason: str) -> bool:
        """Record and reject; False when the record could not be made (the link is down:
        the message comes again and is judged again)."""
        self.dead += 1
        key = delivery.key if delivery.key and KEY_PATTERN.match(delivery.key) else None
        log.error("stream message %d dead-lettered: %s", delivery.seq, reason)
        record = DeadLetter(seq=delivery.seq, key=key, size=len(delivery.data), reason=reason,
                            at=self.gov.ctx.clock.now().timestamp())
        try:
            await self.link.dead_letter(msgspec.json.encode(record))
        except LinkDown:
            # the message stays unsettled and comes again: it is dead-lettered then
            await delivery.retry(self.retry_s)
            return False
        await delivery.reject()
        return True
