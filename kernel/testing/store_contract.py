"""The contract every :class:`kernel.protocols.store.Store` adapter must pass.

It calls every method of every repository Protocol reached from a transaction
(``tx.deployments``, ``tx.alerts``, ...), with the hostile cases the domain relies on: an
alert whose entry belongs to another deployment is refused (R3), an unconfirmed or blue-list
alert never enters the outbox (R5), deleting a deployment leaves none of its rows (R16),
sessions expire strictly at their bounds (R23), a push subscription is replaced by endpoint and
deleted only by its owner (R6), a device's sessions and subscriptions go with it, its
receipts are stored once and go with their alert (issue 14).
``store.sqlite`` passes it; a PostgreSQL (or any other) adapter
must pass it unchanged.

Running it against your store: subclass :class:`StoreContract` in your adapter's tests and
provide an async fixture ``store`` that yields an opened, **empty** store (a fresh database
per test); pytest then runs every ``test_*`` method against it::

    import pytest
    from kernel.testing.store_contract import StoreContract

    class TestMyStore(StoreContract):
        @pytest.fixture
        async def store(self, tmp_path):
            s = MyStore(MyStore.Config(dsn=...), context)   # a new, empty database
            await s.open()
            yield s
            await s.close()

To check that the kit still reaches every repository method (Pinchpoint's own tests do so on
``store.sqlite``), run it through :func:`run_kit` with a factory of fresh stores and compare
with :func:`repository_methods`::

    assert repository_methods() - await run_kit(make_empty_store) == set()

Every test takes only ``self`` and ``store``, so that :func:`run_kit` can drive each one with a
:class:`RecordingStore` in place of the store. A new repository method without a kit test that
calls it makes that comparison fail.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast, get_type_hints

import msgspec
import pytest

from kernel.auth.roles import Role
from kernel.domain.records import (
    AlertRecord,
    AlertState,
    AuditRecord,
    BlobRecord,
    BlueWalk,
    DeploymentRecord,
    DeploymentTally,
    DeviceRecord,
    DisposalRecord,
    EdgeRecord,
    EnrolmentCodeRecord,
    EntryRecord,
    FaceCount,
    ListKind,
    LoginFailures,
    Outcome,
    PhotoGate,
    PhotoRecord,
    PushSubscriptionRecord,
    ReceiptRecord,
    ReviewRecord,
    SessionRecord,
    TransitionRecord,
    UserRecord,
)
from kernel.errors import StoreError
from kernel.protocols.store import Store, StoreTx

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
MS = timedelta(milliseconds=1)


# --- records to write ------------------------------------------------------------------------

def deployment(dep_id: str = "d1") -> DeploymentRecord:
    return DeploymentRecord(id=dep_id, name="n", authorising_officer="a", location="l",
                            starts_at=T0, ends_at=T0 + timedelta(hours=1), objectives="o",
                            case_reference="c", command_team=["x", "y"], state="draft",
                            created_at=T0, created_by="u")


def entry(entry_id: str, dep_id: str = "d1", kind: ListKind = "watch") -> EntryRecord:
    return EntryRecord(id=entry_id, deployment_id=dep_id, list=kind,
                       category="wanted" if kind == "watch" else "blue",
                       marking="OFFICIAL", details_blob=f"b-{entry_id}", created_at=T0,
                       created_by="u")


def alert(alert_id: str, entry_id: str, dep_id: str = "d1") -> AlertRecord:
    return AlertRecord(id=alert_id, deployment_id=dep_id, entry_id=entry_id, list="watch",
                       category="wanted", camera_id="c", score=0.5, captured_at=T0,
                       created_at=T0, state="candidate", face_blob="f", torso_blob="t")


def blob(blob_id: str, dep_id: str = "d1", kind: str = "face") -> BlobRecord:
    return BlobRecord(id=blob_id, deployment_id=dep_id, kind=kind, nonce=b"n" * 12,
                      ciphertext=b"\0\1\2" + blob_id.encode())


def photo(entry_id: str, dep_id: str = "d1", tag: str = "p") -> PhotoRecord:
    return PhotoRecord(key=0, entry_id=entry_id, deployment_id=dep_id, photo_blob=f"{tag}-p",
                       template_blob=f"{tag}-t", model_id="m", quality={"face_px": 1.0},
                       created_at=T0)


def user(name: str, role: Role = "officer") -> UserRecord:
    return UserRecord(name=name, role=role, password_hash=f"$argon2id$h-{name}",
                      enabled=True, created_at=T0, created_by="admin",
                      password_changed_at=T0)


def session(session_id: str, name: str, created: datetime, seen: datetime) -> SessionRecord:
    return SessionRecord(id=session_id, user=name, csrf=f"csrf-{session_id}",
                         created_at=created, last_seen_at=seen)


def subscription(endpoint: str, name: str, device: str = "tablet",
                 dep_id: str | None = None, at: datetime = T0,
                 device_id: str | None = None) -> PushSubscriptionRecord:
    return PushSubscriptionRecord(endpoint=endpoint, user=name, p256dh=f"key-{device}",
                                  auth=f"auth-{device}", device=device, deployment_id=dep_id,
                                  created_at=at, device_id=device_id)


def device(device_id: str, name: str, at: datetime = T0) -> DeviceRecord:
    return DeviceRecord(id=device_id, user=name, label=f"tablet {device_id}",
                        token_hash=f"token-{device_id}", enrolled_by="admin", enrolled_at=at,
                        last_seen_at=at)


def code(code_hash: str, name: str, expires: datetime) -> EnrolmentCodeRecord:
    return EnrolmentCodeRecord(code_hash=code_hash, user=name, label="tablet",
                               issued_by="admin", issued_at=T0, expires_at=expires)


async def confirm(tx: StoreTx, alert_id: str) -> AlertRecord:
    rec = await tx.alerts.get(alert_id)
    assert rec is not None
    rec.state, rec.decided_by, rec.decided_at = "confirmed", "op", T0 + MS
    await tx.alerts.update(rec)
    return rec


async def populate(tx: StoreTx, dep_id: str) -> None:
    """One of every row a deployment can own, ids prefixed with ``dep_id``."""
    p = dep_id
    await tx.deployments.insert(deployment(dep_id))
    await tx.deployments.insert_transition(TransitionRecord(
        deployment_id=dep_id, from_state="draft", to_state="authorised", actor="c", at=T0))
    for kind in ("details", "photo", "template", "face", "torso"):
        await tx.blobs.insert(blob(f"{p}-{kind}", dep_id, kind))
    await tx.watchlists.insert_entry(entry(f"{p}-e", dep_id))
    await tx.watchlists.insert_entry(entry(f"{p}-blue", dep_id, "blue"))
    await tx.watchlists.insert_photo(photo(f"{p}-e", dep_id, p))
    await tx.watchlists.insert_review(ReviewRecord(deployment_id=dep_id, reviewer="c",
                                                   reviewed_at=T0, watchlist_version=1,
                                                   entries=2))
    await tx.watchlists.insert_blue_walk(BlueWalk(deployment_id=dep_id, entry_id=f"{p}-blue",
                                                  at=T0))
    await tx.alerts.insert(alert(f"{p}-a", f"{p}-e", dep_id))
    await confirm(tx, f"{p}-a")
    await tx.outbox.insert(f"{p}-a", T0)
    await tx.statistics.add_face_counts(FaceCount(deployment_id=dep_id, camera_id="c",
                                                  minute=T0, seen=4, matched=1))


async def rows_of(tx: StoreTx, dep_id: str) -> dict[str, int]:
    """How many rows of each kind the store still holds for ``dep_id``."""
    return {
        "deployment": int(await tx.deployments.get(dep_id) is not None),
        "transition": len(await tx.deployments.transitions(dep_id)),
        "blob": len(await tx.blobs.ids(dep_id)),
        "entry": len(await tx.watchlists.entries(dep_id)),
        "photo": len(await tx.watchlists.photos(dep_id)),
        "review": int(await tx.watchlists.last_review(dep_id) is not None),
        "blue_walk": len(await tx.watchlists.blue_walks(dep_id)),
        "alert": len(await tx.alerts.in_deployment(dep_id)),
        "outbox": len([n for n in await tx.outbox.pending(0, 1000)
                       if n.deployment_id == dep_id]),
        "face_count": len(await tx.statistics.face_counts(dep_id)),
    }


class StoreContract:
    """Behaviour every Store adapter must show. Tests cite the requirement they protect."""

    # --- transactions ---------------------------------------------------------------------

    async def test_rollback_on_error(self, store: Store) -> None:
        """Persist-before-announce relies on all-or-nothing transactions."""
        with pytest.raises(RuntimeError):
            async with store.transaction() as tx:
                await tx.deployments.insert(deployment())
                await tx.audit.insert(AuditRecord(seq=1, at=T0, actor="u", action="x",
                                                  subjects={}, details={}, prev_hash="0",
                                                  hash="h"))
                raise RuntimeError("boom")
        async with store.transaction() as tx:
            assert await tx.deployments.all() == []
            assert await tx.audit.last() is None

    # --- deployments (R16, R18) -----------------------------------------------------------

    async def test_deployment_roundtrip_update_and_transitions(self, store: Store) -> None:
        """R18: a deployment reads back exactly as written and as updated; transitions keep
        their order; deployments list oldest first."""
        first, second = deployment("d2"), deployment("d1")
        second.created_at = T0 + MS
        async with store.transaction() as tx:
            await tx.deployments.insert(first)
            await tx.deployments.insert(second)
            for to in ("authorised", "live"):
                await tx.deployments.insert_transition(TransitionRecord(
                    deployment_id="d2", from_state="draft", to_state=to, actor="c", at=T0))
        async with store.transaction() as tx:
            assert await tx.deployments.get("d2") == first
            assert await tx.deployments.get("nope") is None
            assert [d.id for d in await tx.deployments.all()] == ["d2", "d1"]
            assert [t.to_state for t in await tx.deployments.transitions("d2")] == [
                "authorised", "live"]
            assert await tx.deployments.transitions("d1") == []
            first.state, first.watchlist_version, first.match_threshold = "live", 3, 0.9
            first.live_at, first.command_team = T0 + MS, ["z"]
            await tx.deployments.update(first)
        async with store.transaction() as tx:
            assert await tx.deployments.get("d2") == first
            assert await tx.deployments.get("d1") == second

    async def test_issue13_a_deployment_keeps_the_console_that_runs_it(
            self, store: Store) -> None:
        """Issue 13: the console a deployment runs on reads back as written, none as none,
        and as updated (a re-stamp)."""
        stamped, unstamped = deployment("d1"), deployment("d2")
        stamped.console = "van-a"
        async with store.transaction() as tx:
            await tx.deployments.insert(stamped)
            await tx.deployments.insert(unstamped)
        async with store.transaction() as tx:
            assert [(d.id, d.console) for d in await tx.deployments.all()] == [
                ("d1", "van-a"), ("d2", None)]
            stamped.console, unstamped.console = None, "van-b"
            await tx.deployments.update(stamped)
            await tx.deployments.update(unstamped)
        async with store.transaction() as tx:
            assert await tx.deployments.get("d1") == stamped
            assert await tx.deployments.get("d2") == unstamped

    async def test_r16_deleting_a_deployment_removes_all_its_rows(self, store: Store) -> None:
        """R16: a deployment deletes with every row it owns, counted per kind; another
        deployment's rows, disposal records and the audit log stay."""
        async with store.transaction() as tx:
            await populate(tx, "d1")
            await populate(tx, "d2")
            await tx.disposals.insert(DisposalRecord(at=T0, deployment_id="d1", kind="face",
                                                     count=1, rule="R13", actor="system"))
        async with store.transaction() as tx:
            before = await rows_of(tx, "d2")
            assert before == await rows_of(tx, "d1") and all(before.values())
            counts = await tx.deployments.delete("d1")
        assert counts == {"outbox": 1, "alert": 1, "blue_walk": 1, "photo": 1, "entry": 2,
                          "review": 1, "face_count": 1, "blob": 5, "transition": 1,
                          "deployment": 1}
        async with store.transaction() as tx:
            assert set((await rows_of(tx, "d1")).values()) == {0}
            assert await tx.blobs.get("d1-face") is None
            assert await tx.watchlists.get_entry("d1-e") is None
            assert await tx.alerts.get("d1-a") is None
            assert await rows_of(tx, "d2") == before
            assert len(await tx.disposals.all("d1")) == 1
            assert await tx.deployments.delete("d1") == dict.fromkeys(counts, 0)

    # --- blobs (R24) ----------------------------------------------------------------------

    async def test_blob_roundtrip_ids_and_delete(self, store: Store) -> None:
        """R24: blobs are kept byte-exact, listed per deployment and deleted by id."""
        async with store.transaction() as tx:
            await tx.deployments.insert(deployment("d1"))
            await tx.deployments.insert(deployment("d2"))
            for b in (blob("b2"), blob("b1"), blob("b3", "d2")):
                await tx.blobs.insert(b)
        async with store.transaction() as tx:
            assert await tx.blobs.get("b1") == blob("b1")
            assert await tx.blobs.get("zz") is None
            assert await tx.blobs.ids("d1") == ["b1", "b2"]
            assert await tx.blobs.delete(["b1", "zz"]) == 1
            assert await tx.blobs.delete([]) == 0
            assert await tx.blobs.get("b1") is None
            assert await tx.blobs.ids("d1") == ["b2"]
            assert await tx.blobs.ids("d2") == ["b3"]

    # --- watch lists (R8-R12, R21) --------------------------------------------------------

    async def test_entries_by_list_and_delete_with_photos_and_walks(self, store: Store) -> None:
        """R8, R21: entries list per deployment and list; deleting one takes its photos and
        blue walks, but not its blobs (the domain destroys those and records it)."""
        async with store.transaction() as tx:
            await tx.deployments.insert(deployment("d1"))
            await tx.deployments.insert(deployment("d2"))
            await tx.blobs.insert(blob("b-w", "d1", "details"))
            await tx.watchlists.insert_entry(entry("w", "d1"))
            await tx.watchlists.insert_entry(entry("v", "d1", "blue"))
            await tx.watchlists.insert_entry(entry("x", "d2"))
            await tx.watchlists.insert_photo(photo("w"))
            await tx.watchlists.insert_photo(photo("v"))
            await tx.watchlists.insert_blue_walk(BlueWalk(deployment_id="d1", entry_id="v",
                                                          at=T0))
            await tx.watchlists.insert_blue_walk(BlueWalk(deployment_id="d1", entry_id="v",
                                                          at=T0 + MS))
        async with store.transaction() as tx:
            assert [w.until for w in await tx.watchlists.blue_walks("d1")] == [None, None]
        # "walking past camera N now": the window and the camera come back as written
        windowed = BlueWalk(deployment_id="d1", entry_id="v", at=T0 + 2 * MS,
                            until=T0 + 2 * MS + timedelta(seconds=45), camera_id="gate-2")
        async with store.transaction() as tx:
            await tx.watchlists.insert_blue_walk(windowed)
        async with store.transaction() as tx:
            assert (await tx.watchlists.blue_walks("d1"))[-1] == windowed
        async with store.transaction() as tx:
            assert await tx.watchlists.get_entry("w") == entry("w", "d1")
            assert await tx.watchlists.get_entry("nope") is None
            assert [e.id for e in await tx.watchlists.entries("d1")] == ["v", "w"]
            assert [e.id for e in await tx.watchlists.entries("d1", "blue")] == ["v"]
            assert [e.id for e in await tx.watchlists.entries("d1", "watch")] == ["w"]
            assert [w.at for w in await tx.watchlists.blue_walks("d1")] == [T0, T0 + MS,
                                                                            T0 + 2 * MS]
            assert await tx.watchlists.blue_walks("d2") == []
            assert await tx.watchlists.delete_entries(["v", "nope"]) == 1
        async with store.transaction() as tx:
            assert [e.id for e in await tx.watchlists.entries("d1")] == ["w"]
            assert [p.entry_id for p in await tx.watchlists.photos("d1")] == ["w"]
            assert await tx.watchlists.blue_walks("d1") == []
            assert await tx.blobs.get("b-w") is not None
            assert [e.id for e in await tx.watchlists.entries("d2")] == ["x"]

    async def test_photo_keys_gate_and_template_clearing(self, store: Store) -> None:
        """R8, R10, R19: template keys are assigned and grow; how a photo passed the gate is
        kept with it; clearing a template keeps the photo."""
        async with store.transaction() as tx:
            await tx.deployments.insert(deployment())
            await tx.watchlists.insert_entry(entry("e1"))
            await tx.watchlists.insert_entry(entry("e2"))
            k1 = await tx.watchlists.insert_photo(photo("e1"))
            k2 = await tx.watchlists.insert_photo(PhotoRecord(
                key=0, entry_id="e1", deployment_id="d1", photo_blob="p2", template_blob="t2",
                model_id="m", quality={}, created_at=T0,
                gate=PhotoGate(found="padded", below_gate=("too_small",),
                               accept_reason="the only photo held")))
            k3 = await tx.watchlists.insert_photo(photo("e2", tag="q"))
            assert 0 < k1 < k2 < k3
            first, second = await tx.watchlists.photos("d1", "e1")
            assert (first.key, second.key) == (k1, k2)
            assert first.gate == PhotoGate() and first.quality == {"face_px": 1.0}
            assert second.gate.below_gate == ("too_small",)
            assert second.gate.accept_reason == "the only photo held"
            assert [p.key for p in await tx.watchlists.photos("d1")] == [k1, k2, k3]
            await tx.watchlists.clear_template(k1)
        async with store.transaction() as tx:
            cleared, kept, _ = await tx.watchlists.photos("d1")
            assert cleared.template_blob is None and cleared.photo_blob == "p-p"
            assert kept.template_blob == "t2"

    async def test_r9_last_review_is_the_latest(self, store: Store) -> None:
        """R9: the last review of a deployment is the one inserted last."""
        async with store.transaction() as tx:
            await tx.deployments.insert(deployment("d1"))
            await tx.deployments.insert(deployment("d2"))
            assert await tx.watchlists.last_review("d1") is None
            for version in (1, 2):
                await tx.watchlists.insert_review(ReviewRecord(
                    deployment_id="d1", reviewer=f"c{version}", reviewed_at=T0,
                    watchlist_version=version, entries=version))
        async with store.transaction() as tx:
            last = await tx.watchlists.last_review("d1")
            assert last == ReviewRecord(deployment_id="d1", reviewer="c2", reviewed_at=T0,
                                        watchlist_version=2, entries=2)
            assert await tx.watchlists.last_review("d2") is None

    # --- alerts (R3-R7, R13-R15) ----------------------------------------------------------

    async def test_r3_alert_needs_entry_of_same_deployment(self, store: Store) -> None:
        """R3: no alert row without an entry of the same deployment (an entry of another
        deployment is refused as firmly as a missing one)."""
        async with store.transaction() as tx:
            await tx.deployments.insert(deployment("d1"))
            await tx.deployments.insert(deployment("d2"))
            await tx.watchlists.insert_entry(entry("e2", "d2"))
        for bad in (alert("a1", "missing"), alert("a1", "e2", "d1")):
            with pytest.raises(StoreError):
                async with store.transaction() as tx:
                    await tx.alerts.insert(bad)
        async with store.transaction() as tx:
            assert await tx.alerts.get("a1") is None
            assert await tx.alerts.in_deployment("d1") == []

    async def test_alert_roundtrip_update_and_delete(self, store: Store) -> None:
        """R4, R7, R15: an alert reads back as written and as updated (decision, outcome,
        hold); deleting alerts takes their outbox rows."""
        async with store.transaction() as tx:
            await tx.deployments.insert(deployment())
            await tx.watchlists.insert_entry(entry("e1"))
            rec = alert("a1", "e1")
            await tx.alerts.insert(rec)
            later = alert("a0", "e1")
            later.created_at = T0 + MS
            await tx.alerts.insert(later)
        async with store.transaction() as tx:
            assert await tx.alerts.get("a1") == rec
            assert await tx.alerts.get("nope") is None
            assert [a.id for a in await tx.alerts.in_deployment("d1")] == ["a1", "a0"]
            rec.state, rec.decided_by, rec.decided_at = "confirmed", "op", T0
            rec.outcome, rec.outcome_by, rec.outcome_at = "arrested", "off", T0 + MS
            rec.hold, rec.hold_by, rec.hold_at = True, "cmd", T0 + 2 * MS
            rec.released_by, rec.released_at = "cmd", T0 + 3 * MS
            await tx.alerts.update(rec)
            await tx.outbox.insert("a1", T0)
        async with store.transaction() as tx:
            assert await tx.alerts.get("a1") == rec
            assert await tx.alerts.delete(["a1", "nope"]) == 1
            assert await tx.alerts.delete([]) == 0
        async with store.transaction() as tx:
            assert [a.id for a in await tx.alerts.in_deployment("d1")] == ["a0"]
            assert await tx.outbox.pending(0, 10) == []

    async def test_r5_alerts_in_states_filter_state_list_and_deployment(
            self, store: Store) -> None:
        """R5: the officers' query returns only the asked states, of the asked list, of the
        asked deployment (or all); no states asked, no alerts."""
        async with store.transaction() as tx:
            for dep in ("d1", "d2"):
                await tx.deployments.insert(deployment(dep))
                await tx.watchlists.insert_entry(entry(f"{dep}-e", dep))
                await tx.watchlists.insert_entry(entry(f"{dep}-v", dep, "blue"))
                states: tuple[AlertState, ...] = ("candidate", "confirmed", "rejected")
                for state in states:
                    rec = alert(f"{dep}-{state}", f"{dep}-e", dep)
                    rec.state = state
                    await tx.alerts.insert(rec)
                test = alert(f"{dep}-test", f"{dep}-v", dep)
                test.list, test.category, test.state = "blue", "blue", "test"
                await tx.alerts.insert(test)
        async with store.transaction() as tx:
            confirmed = await tx.alerts.in_states("d1", ["confirmed"])
            assert [a.id for a in confirmed] == ["d1-confirmed"]
            everywhere = await tx.alerts.in_states(None, ["confirmed"])
            assert sorted(a.id for a in everywhere) == ["d1-confirmed", "d2-confirmed"]
            decided = await tx.alerts.in_states("d2", ["confirmed", "rejected"])
            assert sorted(a.id for a in decided) == ["d2-confirmed", "d2-rejected"]
            # a blue-list test event is never in the watch list's answer, whatever is asked
            watch = await tx.alerts.in_states(None, ["candidate", "confirmed", "rejected",
                                                     "test"])
            assert all(a.list == "watch" for a in watch) and len(watch) == 6
            assert [a.id for a in await tx.alerts.in_states("d1", ["test"], "blue")] == [
                "d1-test"]
            assert await tx.alerts.in_states("d1", []) == []
            assert await tx.alerts.in_states("nope", ["confirmed"]) == []

    async def test_alerts_of_entry_in_capture_order_with_episode_fields(
            self, store: Store) -> None:
        """Issue 15: an entry's sightings, in the order they were captured (not stored), of
        that deployment only; ``episode_id`` and ``seen_again`` round-trip."""
        async with store.transaction() as tx:
            for dep in ("d1", "d2"):
                await tx.deployments.insert(deployment(dep))
                await tx.watchlists.insert_entry(entry(f"{dep}-e", dep))
            await tx.watchlists.insert_entry(entry("d1-f", "d1"))
            for i, late in enumerate((3, 1, 2)):
                rec = alert(f"s{i}", "d1-e")
                rec.captured_at = T0 + late * MS
                rec.episode_id, rec.seen_again = "s1", i == 0
                await tx.alerts.insert(rec)
            await tx.alerts.insert(alert("other-entry", "d1-f"))
            await tx.alerts.insert(alert("other-dep", "d2-e", "d2"))
        async with store.transaction() as tx:
            found = await tx.alerts.of_entry("d1", "d1-e")
            assert [a.id for a in found] == ["s1", "s2", "s0"]
            assert [(a.episode_id, a.seen_again) for a in found] == [
                ("s1", False), ("s1", False), ("s1", True)]
            assert await tx.alerts.of_entry("d2", "d1-e") == []
            assert (await tx.alerts.get("other-dep")) is not None
            assert (await tx.alerts.get("other-dep")).episode_id is None  # type: ignore[union-attr]

    # --- outbox (R5, R6) ------------------------------------------------------------------

    async def test_r5_outbox_refuses_unconfirmed(self, store: Store) -> None:
        """R5: the store refuses an outbox row for a candidate, a rejected alert, a blue-list
        test event or a missing alert; it accepts a confirmed watch-list alert."""
        async with store.transaction() as tx:
            await tx.deployments.insert(deployment())
            await tx.watchlists.insert_entry(entry("e1"))
            await tx.watchlists.insert_entry(entry("v1", kind="blue"))
            await tx.alerts.insert(alert("a1", "e1"))
            rejected = alert("a2", "e1")
            rejected.state = "rejected"
            await tx.alerts.insert(rejected)
            test = alert("a3", "v1")
            test.list, test.category, test.state = "blue", "blue", "test"
            await tx.alerts.insert(test)
        for alert_id in ("a1", "a2", "a3", "missing"):
            with pytest.raises(StoreError):
                async with store.transaction() as tx:
                    await tx.outbox.insert(alert_id, T0)
        async with store.transaction() as tx:
            assert await tx.outbox.pending(0, 10) == []
            await confirm(tx, "a1")
            seq = await tx.outbox.insert("a1", T0)
            [notice] = await tx.outbox.pending(0, 10)
            assert notice.seq == seq and notice.alert_id == "a1"
            assert (notice.deployment_id, notice.category, notice.camera_id) == (
                "d1", "wanted", "c")

    async def test_r6_outbox_pages_and_sink_positions(self, store: Store) -> None:
        """R6: notices come in seq order after a position, ``limit`` at a time; each sink's
        position is its own and never goes backwards."""
        async with store.transaction() as tx:
            await tx.deployments.insert(deployment())
            await tx.watchlists.insert_entry(entry("e1"))
            seqs = []
            for i in range(5):
                await tx.alerts.insert(alert(f"a{i}", "e1"))
                await confirm(tx, f"a{i}")
                seqs.append(await tx.outbox.insert(f"a{i}", T0))
        assert seqs == sorted(seqs) and len(set(seqs)) == 5
        async with store.transaction() as tx:
            assert [n.seq for n in await tx.outbox.pending(0, 2)] == seqs[:2]
            assert [n.seq for n in await tx.outbox.pending(seqs[1], 10)] == seqs[2:]
            assert await tx.outbox.pending(seqs[-1], 10) == []
            assert await tx.outbox.position("mqtt") == 0
            await tx.outbox.ack("mqtt", seqs[2])
            await tx.outbox.ack("mqtt", seqs[1])  # never goes backwards
            await tx.outbox.ack("webpush", seqs[0])
        async with store.transaction() as tx:
            assert await tx.outbox.position("mqtt") == seqs[2]
            assert await tx.outbox.position("webpush") == seqs[0]

    # --- audit (R19) ----------------------------------------------------------------------

    async def test_r19_audit_rows_read_back_in_seq_order(self, store: Store) -> None:
        """R19: audit rows read back exactly (subjects and details included), paged by seq."""
        rows = [AuditRecord(seq=i, at=T0 + i * MS, actor="u", action=f"x{i}",
                            subjects={"d": "d1"}, details={"n": i, "s": "t", "l": [1, 2]},
                            prev_hash=f"{i - 1:064d}", hash=f"{i:064d}") for i in (1, 2, 3)]
        async with store.transaction() as tx:
            assert await tx.audit.last() is None
            for rec in rows:
                await tx.audit.insert(rec)
        async with store.transaction() as tx:
            assert await tx.audit.page(0, 10) == rows
            assert await tx.audit.page(1, 1) == rows[1:2]
            assert await tx.audit.page(3, 10) == []
            assert await tx.audit.last() == rows[-1]

    # --- disposals (R17), statistics (R3, R20) --------------------------------------------

    async def test_r17_disposals_listed_all_or_per_deployment(self, store: Store) -> None:
        """R17: disposal records read back in order, all or one deployment's."""
        recs = [DisposalRecord(at=T0, deployment_id=dep, kind="alert", count=n,
                               rule="R13 31 days", actor="system")
                for dep, n in (("d1", 2), ("d2", 1), ("d1", 3))]
        async with store.transaction() as tx:
            assert await tx.disposals.all() == []
            for rec in recs:
                await tx.disposals.insert(rec)
        async with store.transaction() as tx:
            assert await tx.disposals.all() == recs
            assert await tx.disposals.all("d1") == [recs[0], recs[2]]
            assert await tx.disposals.all("nope") == []

    async def test_r20_face_counts_add_up_per_camera_and_minute(self, store: Store) -> None:
        """R3, R20: face counts add up per (camera, minute) and list by camera, then minute."""
        async with store.transaction() as tx:
            await tx.deployments.insert(deployment())
            for camera, minute in (("c2", T0), ("c1", T0 + timedelta(minutes=1)), ("c1", T0),
                                   ("c1", T0)):
                await tx.statistics.add_face_counts(FaceCount(
                    deployment_id="d1", camera_id=camera, minute=minute, seen=3, matched=1))
        async with store.transaction() as tx:
            counts = await tx.statistics.face_counts("d1")
            assert [(c.camera_id, c.minute, c.seen, c.matched) for c in counts] == [
                ("c1", T0, 6, 2), ("c1", T0 + timedelta(minutes=1), 3, 1), ("c2", T0, 3, 1)]
            assert await tx.statistics.face_counts("nope") == []

    async def test_issue13_tallies_count_every_deployment_in_the_store(
            self, store: Store) -> None:
        """Issue 13, the force-wide view: every deployment, oldest first, with its watch-list
        sightings (pending, confirmed once per person, rejected), outcomes by kind, holds,
        faces seen and cameras added up by the store; blue-list test events are no candidates;
        a deployment with nothing has zeros; a wiped one is gone."""
        async with store.transaction() as tx:
            assert await tx.statistics.tallies() == []
            for dep_id in ("d1", "d2", "d3"):
                await tx.deployments.insert(deployment(dep_id))
                await tx.watchlists.insert_entry(entry(f"{dep_id}-e", dep_id))
                await tx.watchlists.insert_entry(entry(f"{dep_id}-b", dep_id, "blue"))
            d3 = deployment("d3")
            d3.created_at = T0 - MS  # oldest first
            await tx.deployments.update(d3)
            sightings: tuple[tuple[AlertState, Outcome | None, bool, bool, str], ...] = (
                    ("candidate", None, False, False, "c1"),
                    ("confirmed", "arrested", True, False, "c2"),
                    ("confirmed", None, False, True, "c2"),      # seen again: same person
                    ("confirmed", "not_stopped", False, False, "c1"),
                    ("rejected", None, False, False, "c1"))
            for i, (state, outcome, hold, again, camera) in enumerate(sightings):
                rec = alert(f"a{i}", "d1-e")
                rec.state, rec.outcome, rec.hold, rec.seen_again = state, outcome, hold, again
                rec.camera_id = camera
                await tx.alerts.insert(rec)
            test = alert("t", "d1-b")
            test.list, test.category, test.state, test.camera_id = "blue", "blue", "test", "c9"
            await tx.alerts.insert(test)
            for camera, minute, seen in (("c1", T0, 5), ("c3", T0, 2), ("c1", T0 + MS, 1)):
                await tx.statistics.add_face_counts(FaceCount(
                    deployment_id="d1", camera_id=camera, minute=minute, seen=seen, matched=0))
            await tx.alerts.insert(alert("x", "d2-e", "d2"))
        async with store.transaction() as tx:
            found = await tx.statistics.tallies()
        zero = DeploymentTally(deployment_id="d3", cameras=(), faces_seen=0, candidates=0,
                               pending=0, confirmed=0, rejected=0, outcomes={}, held=0)
        assert found == [
            zero,
            DeploymentTally(deployment_id="d1", cameras=("c1", "c2", "c3", "c9"),
                            faces_seen=8, candidates=5, pending=1, confirmed=2, rejected=1,
                            outcomes={"arrested": 1, "not_stopped": 1}, held=1),
            DeploymentTally(deployment_id="d2", cameras=("c",), faces_seen=0, candidates=1,
                            pending=1, confirmed=0, rejected=0, outcomes={}, held=0)]
        async with store.transaction() as tx:
            await tx.deployments.delete("d1")
        async with store.transaction() as tx:
            assert [t.deployment_id for t in await tx.statistics.tallies()] == ["d3", "d2"]

    async def test_issue13_face_count_keys_are_claimed_once_and_forgotten_by_age(
            self, store: Store) -> None:
        """Issue 13: the key of an edge's face-counts message is claimed once (a redelivery
        finds it, committed or in the same transaction), a claim rolled back is not kept, and
        keys recorded before a time are forgotten, counted."""
        with pytest.raises(RuntimeError):
            async with store.transaction() as tx:
                assert await tx.statistics.claim_counts_key("k0", T0)
                raise RuntimeError("the counts' transaction failed")
        async with store.transaction() as tx:
            assert await tx.statistics.claim_counts_key("k0", T0)  # the failed claim is gone
            assert not await tx.statistics.claim_counts_key("k0", T0 + timedelta(minutes=1))
            assert await tx.statistics.claim_counts_key("k1", T0 + timedelta(days=1))
        async with store.transaction() as tx:
            assert not await tx.statistics.claim_counts_key("k1", T0)
            assert await tx.statistics.forget_counts_keys(T0 + timedelta(hours=1)) == 1
            assert await tx.statistics.forget_counts_keys(T0 + timedelta(hours=1)) == 0
            assert await tx.statistics.claim_counts_key("k0", T0 + timedelta(days=2))
            assert not await tx.statistics.claim_counts_key("k1", T0 + timedelta(days=2))

    async def test_issue13_edges_keep_one_row_each_the_latest_report(
            self, store: Store) -> None:
        """Issue 13: an edge's row reads back as written; a later report replaces it (read by
        another console too); a write rolled back is not kept; edges list by node id."""
        late = EdgeRecord(node_id="edge-b", console="van-a", cameras=("c1", "c2"),
                          deployments=("d1",), reported_at=T0)
        early = EdgeRecord(node_id="edge-a", console="van-a", cameras=(), deployments=(),
                           reported_at=T0)
        async with store.transaction() as tx:
            assert await tx.statistics.edges() == []
            await tx.statistics.put_edge(late)
            await tx.statistics.put_edge(early)
        moved = EdgeRecord(node_id="edge-b", console="van-b", cameras=("c3",), deployments=(),
                           reported_at=T0 + timedelta(minutes=1))
        async with store.transaction() as tx:
            assert await tx.statistics.edges() == [early, late]
            await tx.statistics.put_edge(moved)
        with pytest.raises(RuntimeError):
            async with store.transaction() as tx:
                await tx.statistics.put_edge(EdgeRecord(
                    node_id="edge-c", console="van-a", cameras=("x",), deployments=("d9",),
                    reported_at=T0))
                raise RuntimeError("the console's transaction failed")
        async with store.transaction() as tx:
            assert await tx.statistics.edges() == [early, moved]

    # --- accounts, sessions, push subscriptions (R6, R23) ---------------------------------

    async def test_r23_users_roundtrip_update_and_list(self, store: Store) -> None:
        """R23: a user reads back as written; an update changes role, hash, enabled and the
        password date, never the name or who created it; users list by name."""
        async with store.transaction() as tx:
            for name in ("zoe", "amir"):
                await tx.accounts.insert(user(name))
        async with store.transaction() as tx:
            assert await tx.accounts.get("zoe") == user("zoe")
            assert await tx.accounts.get("nobody") is None
            assert [u.name for u in await tx.accounts.all()] == ["amir", "zoe"]
            changed = user("zoe", "operator")
            changed.password_hash, changed.enabled = "$argon2id$new", False
            changed.password_changed_at = T0 + MS
            changed.created_by, changed.created_at = "intruder", T0 + MS  # not updatable
            await tx.accounts.update(changed)
        async with store.transaction() as tx:
            got = await tx.accounts.get("zoe")
            assert got is not None
            assert (got.role, got.password_hash, got.enabled, got.password_changed_at) == (
                "operator", "$argon2id$new", False, T0 + MS)
            assert (got.created_by, got.created_at) == ("admin", T0)
            assert await tx.accounts.get("amir") == user("amir")

    async def test_r23_login_failures_put_replace_and_clear(self, store: Store) -> None:
        """R23: a name's failure counter is replaced on each put, kept per name (also for a
        name no user has, so that lockout does not reveal who exists) and cleared."""
        async with store.transaction() as tx:
            assert await tx.accounts.get_login_failures("ghost") is None
            await tx.accounts.put_login_failures(LoginFailures(
                name="ghost", failures=1, last_failure_at=T0))
            locked = LoginFailures(name="ghost", failures=5, last_failure_at=T0 + MS,
                                   locked_until=T0 + timedelta(minutes=15))
            await tx.accounts.put_login_failures(locked)
            await tx.accounts.put_login_failures(LoginFailures(
                name="other", failures=2, last_failure_at=T0))
        async with store.transaction() as tx:
            assert await tx.accounts.get_login_failures("ghost") == locked
            await tx.accounts.clear_login_failures("ghost")
            await tx.accounts.clear_login_failures("never-failed")
        async with store.transaction() as tx:
            assert await tx.accounts.get_login_failures("ghost") is None
            other = await tx.accounts.get_login_failures("other")
            assert other is not None and other.failures == 2

    async def test_r23_sessions_roundtrip_touch_and_delete(self, store: Store) -> None:
        """R23: a session reads back, is listed with its user's (oldest first), is touched,
        deleted alone or with all of its user's."""
        async with store.transaction() as tx:
            for name in ("ann", "bob"):
                await tx.accounts.insert(user(name))
            await tx.sessions.insert(session("s1", "ann", T0, T0))
            await tx.sessions.insert(session("s2", "ann", T0, T0))
            await tx.sessions.insert(session("s3", "bob", T0, T0))
        async with store.transaction() as tx:
            assert await tx.sessions.get("s1") == session("s1", "ann", T0, T0)
            assert await tx.sessions.get("nope") is None
            assert [s.id for s in await tx.sessions.of_user("ann")] == ["s1", "s2"]
            assert await tx.sessions.of_user("nobody") == []
            await tx.sessions.touch("s1", T0 + MS)
            got = await tx.sessions.get("s1")
            assert got is not None and (got.created_at, got.last_seen_at) == (T0, T0 + MS)
            assert await tx.sessions.delete("s1") == 1
            assert await tx.sessions.delete("s1") == 0
            assert await tx.sessions.delete_for_user("ann") == 1
            assert await tx.sessions.delete_for_user("ann") == 0
            assert await tx.sessions.get("s2") is None
            assert await tx.sessions.get("s3") is not None

    async def test_r23_session_expiry_boundaries(self, store: Store) -> None:
        """R23: ``delete_before`` removes sessions created strictly before the absolute bound
        or last seen strictly before the idle bound; one exactly at a bound stays, and a
        millisecond either side decides."""
        absolute, idle = T0, T0 + timedelta(hours=8)
        cases = {
            "created-just-before": (absolute - MS, idle + MS, False),
            "created-at-bound": (absolute, idle + MS, True),
            "created-just-after": (absolute + MS, idle + MS, True),
            "seen-just-before": (absolute + MS, idle - MS, False),
            "seen-at-bound": (absolute + MS, idle, True),
            "both-old": (absolute - timedelta(days=1), idle - timedelta(days=1), False),
        }
        async with store.transaction() as tx:
            await tx.accounts.insert(user("ann"))
            for sid, (created, seen, _) in cases.items():
                await tx.sessions.insert(session(sid, "ann", created, seen))
        async with store.transaction() as tx:
            gone = await tx.sessions.delete_before(absolute, idle)
            assert gone == sum(not keep for *_, keep in cases.values())
            for sid, (*_, keep) in cases.items():
                assert (await tx.sessions.get(sid) is not None) == keep, sid
            assert await tx.sessions.delete_before(absolute, idle) == 0

    async def test_r6_push_subscription_replaced_by_endpoint(self, store: Store) -> None:
        """R6: a device re-subscribing replaces its row by endpoint (even as another user);
        subscriptions list all or per user, oldest first."""
        async with store.transaction() as tx:
            for name in ("ann", "bob"):
                await tx.accounts.insert(user(name))
            await tx.push.put(subscription("https://push/1", "ann", "old", at=T0))
            await tx.push.put(subscription("https://push/2", "ann", "phone", "d1", T0 + MS))
            await tx.push.put(subscription("https://push/3", "bob", "tab", at=T0 + 2 * MS))
            # the first device re-subscribes, now logged in as bob
            await tx.push.put(subscription("https://push/1", "bob", "new", at=T0 + 3 * MS))
        async with store.transaction() as tx:
            everyone = await tx.push.all()
            assert [s.endpoint for s in everyone] == [
                "https://push/2", "https://push/3", "https://push/1"]
            assert everyone[-1] == subscription("https://push/1", "bob", "new",
                                                at=T0 + 3 * MS)
            assert everyone[0].deployment_id == "d1"
            assert [s.endpoint for s in await tx.push.all("ann")] == ["https://push/2"]
            assert [s.device for s in await tx.push.all("bob")] == ["tab", "new"]
            assert await tx.push.all("nobody") == []

    async def test_r6_push_subscription_delete_is_user_scoped(self, store: Store) -> None:
        """R6: a user deletes only their own subscription; without a user (a push service
        saying the endpoint is gone) the endpoint is deleted whoever owns it."""
        async with store.transaction() as tx:
            for name in ("ann", "bob"):
                await tx.accounts.insert(user(name))
            await tx.push.put(subscription("https://push/a", "ann"))
            await tx.push.put(subscription("https://push/b", "bob", at=T0 + MS))
        async with store.transaction() as tx:
            assert await tx.push.delete("https://push/a", "bob") == 0  # not bob's
            assert [s.user for s in await tx.push.all()] == ["ann", "bob"]
            assert await tx.push.delete("https://push/a", "ann") == 1
            assert await tx.push.delete("https://push/b") == 1
            assert await tx.push.delete("https://push/none") == 0
            assert await tx.push.all() == []


    # --- enrolled devices (issue 14, R23) ----------------------------------------------------

    async def test_r23_devices_roundtrip_by_token_update_and_list(self, store: Store) -> None:
        """R23: a device reads back by id and by its token's hash, is updated in every field
        (revoked), and devices list oldest enrolment first."""
        async with store.transaction() as tx:
            await tx.accounts.insert(user("ann"))
            await tx.devices.insert(device("dev-2", "ann", T0 + MS))
            await tx.devices.insert(device("dev-1", "ann", T0))
        async with store.transaction() as tx:
            got = await tx.devices.get("dev-2")
            assert got == device("dev-2", "ann", T0 + MS)
            assert await tx.devices.get("nope") is None
            assert await tx.devices.by_token("token-dev-1") == device("dev-1", "ann")
            assert await tx.devices.by_token("token-none") is None
            assert got is not None
            got.last_seen_at, got.app_version, got.delivery = T0 + 2 * MS, "shell-v4", "mqtt"
            got.revoked_at, got.revoked_by, got.label = T0 + 3 * MS, "tech", "lost one"
            await tx.devices.update(got)
        async with store.transaction() as tx:
            assert await tx.devices.get("dev-2") == got
            assert [d.id for d in await tx.devices.all()] == ["dev-1", "dev-2"]

    async def test_r23_enrolment_code_is_taken_once_and_expired_ones_swept(
            self, store: Store) -> None:
        """R23: a code is returned once (taking deletes it); codes expired strictly before a
        time are swept, one expiring exactly then stays."""
        async with store.transaction() as tx:
            await tx.accounts.insert(user("ann"))
            await tx.devices.put_code(code("h-old", "ann", T0 - MS))
            await tx.devices.put_code(code("h-edge", "ann", T0))
            await tx.devices.put_code(code("h-new", "ann", T0 + MS))
        async with store.transaction() as tx:
            assert await tx.devices.take_code("h-new") == code("h-new", "ann", T0 + MS)
            assert await tx.devices.take_code("h-new") is None
            assert await tx.devices.take_code("h-none") is None
            assert await tx.devices.delete_codes_before(T0) == 1
            assert await tx.devices.take_code("h-old") is None
            assert await tx.devices.take_code("h-edge") is not None

    async def test_r23_a_devices_sessions_and_push_go_with_it(self, store: Store) -> None:
        """R23, R6: sessions and push subscriptions carry their device and are deleted by it,
        leaving the owner's other sessions and subscriptions alone."""
        async with store.transaction() as tx:
            await tx.accounts.insert(user("ann"))
            await tx.devices.insert(device("dev-1", "ann"))
            await tx.devices.insert(device("dev-2", "ann"))
            on_device = session("s1", "ann", T0, T0)
            on_device.device_id = "dev-1"
            await tx.sessions.insert(on_device)
            await tx.sessions.insert(session("s2", "ann", T0, T0))
            await tx.push.put(subscription("https://push/1", "ann", device_id="dev-1"))
            await tx.push.put(subscription("https://push/2", "ann", at=T0 + MS,
                                           device_id="dev-2"))
        async with store.transaction() as tx:
            assert await tx.sessions.get("s1") == on_device
            assert [s.device_id for s in await tx.push.all()] == ["dev-1", "dev-2"]
            assert await tx.sessions.delete_for_device("dev-1") == 1
            assert await tx.sessions.delete_for_device("dev-1") == 0
            assert await tx.push.delete_for_device("dev-1") == 1
            assert await tx.push.delete_for_device("dev-1") == 0
            assert await tx.sessions.get("s2") is not None
            assert [s.endpoint for s in await tx.push.all()] == ["https://push/2"]

    async def test_issue14_receipts_once_per_alert_device_kind_and_go_with_the_alert(
            self, store: Store) -> None:
        """Issue 14: a device's receipt is stored once per alert and kind (a replay is
        refused with ``False``, the first kept), read per deployment or alert oldest first,
        and deleted with its alert (a wipe or the retention rules); a device's deployment
        round-trips."""
        async with store.transaction() as tx:
            await populate(tx, "d1")
            await populate(tx, "d2")
            await tx.accounts.insert(user("ann"))
            dev = device("dev-1", "ann")
            dev.deployment_id = "d1"
            await tx.devices.insert(dev)
            await tx.devices.insert(device("dev-2", "ann"))
        first = ReceiptRecord(alert_id="d1-a", device_id="dev-1", user="ann", kind="delivered",
                              path="mqtt", at=T0)
        opened = ReceiptRecord(alert_id="d1-a", device_id="dev-1", user="ann", kind="opened",
                               path="mqtt", at=T0 + MS)
        other = ReceiptRecord(alert_id="d2-a", device_id="dev-2", user="ann", kind="delivered",
                              path="feed", at=T0)
        async with store.transaction() as tx:
            assert (await tx.devices.get("dev-1")) == dev
            assert await tx.devices.put_receipt(opened)
            assert await tx.devices.put_receipt(first)
            assert not await tx.devices.put_receipt(msgspec.structs.replace(
                first, path="feed", at=T0 + 2 * MS))  # a replay: the first stays
            assert await tx.devices.put_receipt(other)
        async with store.transaction() as tx:
            assert await tx.devices.receipts("d1") == [first, opened]
            assert await tx.devices.receipts("d1", "d1-a") == [first, opened]
            assert await tx.devices.receipts("d1", "d2-a") == []  # not of that deployment
            assert await tx.devices.receipts("d2") == [other]
            assert await tx.alerts.delete(["d1-a"]) == 1
        async with store.transaction() as tx:
            assert await tx.devices.receipts("d1") == []
            assert await tx.devices.receipts("d2") == [other]


# --- checking that the kit reaches every repository method -----------------------------------

def repository_methods() -> set[str]:
    """Every method of every repository Protocol, as ``"<tx attribute>.<method>"`` (e.g.
    ``"alerts.insert"``), read from :class:`kernel.protocols.store.StoreTx` by introspection:
    its properties name the repositories, their return annotations the Protocols."""
    names: set[str] = set()
    for attr, member in vars(StoreTx).items():
        if not isinstance(member, property) or member.fget is None:
            continue
        protocol = get_type_hints(member.fget)["return"]
        for name, value in vars(protocol).items():
            if not name.startswith("_") and inspect.isfunction(value):
                names.add(f"{attr}.{name}")
    return names


class _RecordingRepository:
    def __init__(self, repo: object, name: str, calls: set[str]) -> None:
        self._repo, self._name, self._calls = repo, name, calls

    def __getattr__(self, method: str) -> Any:
        target = getattr(self._repo, method)
        if method.startswith("_") or not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self._calls.add(f"{self._name}.{method}")
            return target(*args, **kwargs)

        return call


class _RecordingTx:
    def __init__(self, tx: StoreTx, calls: set[str]) -> None:
        self._tx, self._calls = tx, calls

    def __getattr__(self, name: str) -> Any:
        return _RecordingRepository(getattr(self._tx, name), name, self._calls)


class RecordingStore:
    """A :class:`Store` that passes everything to ``store`` and adds each repository method
    called inside its transactions to ``calls`` (as ``"alerts.insert"``, ...)."""

    def __init__(self, store: Store, calls: set[str]) -> None:
        self.store, self.calls = store, calls

    async def open(self) -> None:
        await self.store.open()

    def transaction(self) -> AbstractAsyncContextManager[StoreTx]:
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[StoreTx]:
        async with self.store.transaction() as tx:
            yield cast(StoreTx, _RecordingTx(tx, self.calls))

    async def compact(self) -> None:
        await self.store.compact()

    async def close(self) -> None:
        await self.store.close()


def kit_tests() -> list[str]:
    """The names of the kit's test methods."""
    return sorted(name for name in dir(StoreContract) if name.startswith("test_"))


async def run_kit(make_store: Callable[[str], Awaitable[Store]]) -> set[str]:
    """Run every kit test once, each on a fresh store from ``make_store(test_name)`` (opened
    by the factory, closed here), and return the repository methods they called. A failing
    kit test raises, as under pytest."""
    calls: set[str] = set()
    kit = StoreContract()
    for name in kit_tests():
        store = await make_store(name)
        try:
            await getattr(kit, name)(RecordingStore(store, calls))
        finally:
            await store.close()
    return calls
