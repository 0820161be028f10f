"""A reusable contract suite for :class:`kernel.protocols.store.Store` adapters.

Subclass :class:`StoreContract` in your adapter's tests and provide an async fixture ``store``
yielding an opened, empty store; pytest then runs every ``test_*`` method against it::

    class TestMyStore(StoreContract):
        @pytest.fixture
        async def store(self, tmp_path): ...
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kernel.domain.records import (
    AlertRecord,
    AuditRecord,
    BlobRecord,
    DeploymentRecord,
    EntryRecord,
    FaceCount,
    PhotoGate,
    PhotoRecord,
)
from kernel.errors import StoreError
from kernel.protocols.store import Store

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def deployment(dep_id: str = "d1") -> DeploymentRecord:
    return DeploymentRecord(id=dep_id, name="n", authorising_officer="a", location="l",
                            starts_at=T0, ends_at=T0 + timedelta(hours=1), objectives="o",
                            case_reference="c", command_team=["x", "y"], state="draft",
                            created_at=T0, created_by="u")


def entry(entry_id: str, dep_id: str = "d1") -> EntryRecord:
    return EntryRecord(id=entry_id, deployment_id=dep_id, list="watch", category="wanted",
                       marking="OFFICIAL", details_blob=f"b-{entry_id}", created_at=T0,
                       created_by="u")


def alert(alert_id: str, entry_id: str, dep_id: str = "d1") -> AlertRecord:
    return AlertRecord(id=alert_id, deployment_id=dep_id, entry_id=entry_id, list="watch",
                       category="wanted", camera_id="c", score=0.5, captured_at=T0,
                       created_at=T0, state="candidate", face_blob="f", torso_blob="t")


class StoreContract:
    """Behaviour every Store adapter must show. Tests cite the requirement they protect."""

    async def test_roundtrip_deployment(self, store: Store) -> None:
        """R18: a deployment reads back exactly as written."""
        rec = deployment()
        async with store.transaction() as tx:
            await tx.deployments.insert(rec)
        async with store.transaction() as tx:
            assert await tx.deployments.get("d1") == rec
            assert await tx.deployments.get("nope") is None

    async def test_rollback_on_error(self, store: Store) -> None:
        """Persist-before-announce relies on all-or-nothing transactions."""
        with pytest.raises(RuntimeError):
            async with store.transaction() as tx:
                await tx.deployments.insert(deployment())
                raise RuntimeError("boom")
        async with store.transaction() as tx:
            assert await tx.deployments.all() == []

    async def test_blob_roundtrip_and_delete(self, store: Store) -> None:
        """R24: blobs are kept byte-exact and deleted by id."""
        blob = BlobRecord(id="b", deployment_id="d1", kind="face", nonce=b"n" * 12,
                          ciphertext=b"\0\1\2")
        async with store.transaction() as tx:
            await tx.deployments.insert(deployment())
            await tx.blobs.insert(blob)
        async with store.transaction() as tx:
            assert await tx.blobs.get("b") == blob
            assert await tx.blobs.delete(["b", "zz"]) == 1
            assert await tx.blobs.get("b") is None

    async def test_alert_needs_entry_of_same_deployment(self, store: Store) -> None:
        """R3: no alert row without an entry of the same deployment."""
        async with store.transaction() as tx:
            await tx.deployments.insert(deployment("d1"))
            await tx.deployments.insert(deployment("d2"))
            await tx.watchlists.insert_entry(entry("e2", "d2"))
        for bad in (alert("a1", "missing"), alert("a1", "e2", "d1")):
            with pytest.raises(StoreError):
                async with store.transaction() as tx:
                    await tx.alerts.insert(bad)

    async def test_outbox_refuses_unconfirmed(self, store: Store) -> None:
        """R5: the store refuses an outbox row for a candidate; accepts a confirmed alert."""
        async with store.transaction() as tx:
            await tx.deployments.insert(deployment())
            await tx.watchlists.insert_entry(entry("e1"))
            await tx.alerts.insert(alert("a1", "e1"))
        with pytest.raises(StoreError):
            async with store.transaction() as tx:
                await tx.outbox.insert("a1", T0)
        async with store.transaction() as tx:
            rec = await tx.alerts.get("a1")
            assert rec is not None
            rec.state = "confirmed"
            await tx.alerts.update(rec)
            seq = await tx.outbox.insert("a1", T0)
            [notice] = await tx.outbox.pending(0, 10)
            assert notice.seq == seq and notice.alert_id == "a1"
            await tx.outbox.ack("s", seq)
            await tx.outbox.ack("s", seq - 1)  # never goes backwards
            assert await tx.outbox.position("s") == seq

    async def test_photo_keys_and_face_counts(self, store: Store) -> None:
        """R3, R20: template keys are assigned; face counts add up per minute."""
        async with store.transaction() as tx:
            await tx.deployments.insert(deployment())
            await tx.watchlists.insert_entry(entry("e1"))
            k1 = await tx.watchlists.insert_photo(PhotoRecord(
                key=0, entry_id="e1", deployment_id="d1", photo_blob="p", template_blob="t",
                model_id="m", quality={"face_px": 1.0}, created_at=T0))
            k2 = await tx.watchlists.insert_photo(PhotoRecord(
                key=0, entry_id="e1", deployment_id="d1", photo_blob="p2", template_blob="t2",
                model_id="m", quality={}, created_at=T0,
                gate=PhotoGate(found="padded", below_gate=("too_small",),
                               accept_reason="the only photo held")))
            assert k1 > 0 and k2 > k1
            # R10, R19: how each photo passed the enrolment gate is kept with it
            first, second = await tx.watchlists.photos("d1", "e1")
            assert first.gate == PhotoGate()
            assert second.gate.below_gate == ("too_small",)
            assert second.gate.accept_reason == "the only photo held"
            for _ in range(2):
                await tx.statistics.add_face_counts(FaceCount(deployment_id="d1", camera_id="c",
                                                   minute=T0, seen=3, matched=1))
            [fc] = await tx.statistics.face_counts("d1")
            assert (fc.seen, fc.matched) == (6, 2)

    async def test_audit_and_delete_deployment(self, store: Store) -> None:
        """R16, R19: audit rows read back in seq order; a deployment deletes with its rows."""
        rec = AuditRecord(seq=1, at=T0, actor="u", action="x", subjects={"d": "d1"},
                          details={"n": 1, "s": "t"}, prev_hash="0" * 64, hash="h")
        async with store.transaction() as tx:
            await tx.audit.insert(rec)
            await tx.deployments.insert(deployment())
            await tx.watchlists.insert_entry(entry("e1"))
            await tx.alerts.insert(alert("a1", "e1"))
        async with store.transaction() as tx:
            assert await tx.audit.page(0, 10) == [rec]
            assert await tx.audit.last() == rec
            counts = await tx.deployments.delete("d1")
            assert counts["deployment"] == counts["entry"] == counts["alert"] == 1
            assert await tx.watchlists.get_entry("e1") is None
