"""SQLite store on aiosqlite: one database file under the data directory.

Opening is careful: an existing file is first inspected without writing to it (its header read
in Python, then a read-only ``immutable`` connection), so that a damaged file or another
program's database is reported with :class:`StoreError` and left exactly as it was. Only a
file that is empty, or already marked ``application_id`` = Pinchpoint, is migrated and used.

Settings: WAL journal, ``foreign_keys`` on, ``secure_delete`` on (deleted rows are overwritten,
so ciphertext of destroyed data does not linger in free pages), ``synchronous=FULL`` (a
committed candidate survives power loss: persist before announce).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import struct
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite
import msgspec

from adapters.store.sqlite_migrations import APPLICATION_ID, MIGRATIONS
from kernel.errors import StoreError
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.sink import AlertNotice
from kernel.protocols.store import (
    AlertRecord,
    AuditRecord,
    BlobRecord,
    BlueWalk,
    DeploymentRecord,
    DisposalRecord,
    EntryRecord,
    FaceCount,
    ListKind,
    LoginFailures,
    PhotoGate,
    PhotoRecord,
    PushSubscriptionRecord,
    ReviewRecord,
    SessionRecord,
    TransitionRecord,
    UserRecord,
)

_HEADER = b"SQLite format 3\x00"

log = logging.getLogger("pinchpoint.store.sqlite")


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _req_dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


def inspect_file(path: Path) -> str:
    """Decide, without writing, what ``path`` is: ``"new"`` (absent or empty, or an SQLite
    database with no schema), ``"ours"``; anything else raises :class:`StoreError`."""
    if not path.exists():
        return "new"
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            header = fh.read(100)
    except OSError as exc:
        raise StoreError(f"cannot read database {path}: {exc.strerror}") from None
    if size == 0:
        return "new"
    if len(header) < 100 or not header.startswith(_HEADER):
        raise StoreError(f"{path} is not an SQLite database (damaged or another kind of file); "
                         "it was left untouched")
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    pages, = struct.unpack(">I", header[28:32])
    change, valid_for = struct.unpack(">I", header[24:28])[0], struct.unpack(">I", header[92:96])[0]
    if page_size < 512 or page_size & (page_size - 1):
        raise StoreError(f"{path} has a damaged SQLite header (page size {page_size}); "
                         "it was left untouched")
    if size % page_size or (change == valid_for and pages and size < pages * page_size):
        raise StoreError(f"{path} is truncated ({size} bytes; the header promises "
                         f"{pages * page_size}); restore it from a backup. It was left untouched")
    app_id, = struct.unpack(">I", header[68:72])
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    try:
        con = sqlite3.connect(uri, uri=True)
        try:
            tables = con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            check_integrity = not Path(f"{path}-wal").exists()
            if check_integrity:
                result = con.execute("PRAGMA quick_check").fetchone()[0]
                if result != "ok":
                    raise StoreError(f"{path} is damaged (SQLite quick_check: {result}); "
                                     "restore it from a backup. It was left untouched")
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is damaged or not a database ({exc}); "
                         "it was left untouched") from None
    if app_id == APPLICATION_ID:
        version, = struct.unpack(">I", header[60:64])
        if version > len(MIGRATIONS):
            raise StoreError(f"{path} has schema version {version}, newer than this "
                             f"Pinchpoint understands ({len(MIGRATIONS)}); upgrade Pinchpoint. "
                             "It was left untouched")
        return "ours"
    if app_id == 0 and tables == 0:
        return "new"
    raise StoreError(f"{path} is another program's SQLite database (application_id "
                     f"{app_id:#x}, {tables} schema objects), not Pinchpoint's; point [store] "
                     "path at another file. It was left untouched")


class SqliteStore:
    """The ``store.sqlite`` adapter. ``path`` is relative to the data directory."""

    class Config(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
        path: str = "pinchpoint.db"
        busy_timeout_ms: int = 5000

    def __init__(self, config: SqliteStore.Config, context: AdapterContext) -> None:
        self.config = config
        path = Path(config.path)
        self.path = path if path.is_absolute() else context.data_dir / path
        self._con: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._undo: set[asyncio.Future[Any]] = set()

    @property
    def schema_version(self) -> int:
        return len(MIGRATIONS)

    async def open(self) -> None:
        """Check the file read-only, then connect, set pragmas and migrate."""
        kind = await asyncio.to_thread(inspect_file, self.path)
        del kind  # both "new" and "ours" proceed; every other case raised
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = await aiosqlite.connect(self.path, isolation_level=None)
        con.row_factory = sqlite3.Row
        try:
            for pragma in ("journal_mode = WAL", "foreign_keys = ON", "secure_delete = ON",
                           "synchronous = FULL",
                           f"busy_timeout = {int(self.config.busy_timeout_ms)}"):
                await con.execute(f"PRAGMA {pragma}")
            await self._migrate(con)
        except BaseException:
            await con.close()
            raise
        self._con = con

    async def _migrate(self, con: aiosqlite.Connection) -> None:
        async with con.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = int(row[0]) if row else 0
        if version > len(MIGRATIONS):
            raise StoreError(f"{self.path} has schema version {version}, newer than this "
                             f"Pinchpoint understands ({len(MIGRATIONS)}); upgrade Pinchpoint")
        for number in range(version + 1, len(MIGRATIONS) + 1):
            script = (f"BEGIN IMMEDIATE;\n{MIGRATIONS[number - 1]}\n"
                      f"PRAGMA user_version = {number};\nCOMMIT;")
            try:
                await con.executescript(script)
            except sqlite3.Error as exc:
                if con.in_transaction:
                    await con.execute("ROLLBACK")
                raise StoreError(f"schema migration {number} failed on {self.path}: {exc}"
                                 ) from None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTx]:
        if self._con is None:
            raise StoreError("the store is not open")
        con = self._con
        async with self._lock:
            try:
                await con.execute("BEGIN IMMEDIATE")
            except asyncio.CancelledError:
                # aiosqlite queued BEGIN on the connection's thread before we were cancelled,
                # so it still runs: queue its undo behind it before the lock is released.
                undo = asyncio.ensure_future(con.execute("ROLLBACK"))
                self._undo.add(undo)
                undo.add_done_callback(self._forget_undo)
                raise
            try:
                yield SqliteTx(con)
            except BaseException:
                await con.execute("ROLLBACK")
                raise
            else:
                await con.execute("COMMIT")

    def _forget_undo(self, task: asyncio.Future[Any]) -> None:
        self._undo.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("rollback after a cancelled BEGIN failed: %s", task.exception())

    async def compact(self) -> None:
        if self._con is None:
            return
        async with self._lock:
            await self._con.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def close(self) -> None:
        if self._con is not None:
            con, self._con = self._con, None
            async with self._lock:
                await con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                await con.close()


class SqliteTx:
    """The operations of :class:`kernel.protocols.store.StoreTx`, on one open transaction."""

    def __init__(self, con: aiosqlite.Connection) -> None:
        self._con = con

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        async with self._con.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    async def _run(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self._con.execute(sql, params) as cur:
            return cur.rowcount

    async def _delete_in(self, table: str, column: str, ids: list[str]) -> int:
        total = 0
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            total += await self._run(f"DELETE FROM {table} WHERE {column} IN ({marks})", chunk)
        return total

    # deployments ----------------------------------------------------------------------
    @staticmethod
    def _dep_row(rec: DeploymentRecord) -> tuple[Any, ...]:
        return (rec.name, rec.authorising_officer, rec.location, _ts(rec.starts_at),
                _ts(rec.ends_at), rec.objectives, rec.case_reference,
                json.dumps(rec.command_team), rec.state, _ts(rec.created_at), rec.created_by,
                rec.watchlist_version, rec.match_threshold, _ts(rec.live_at),
                _ts(rec.ended_at), rec.id)

    async def insert_deployment(self, rec: DeploymentRecord) -> None:
        await self._run(
            "INSERT INTO deployments (name, authorising_officer, location, starts_at, ends_at,"
            " objectives, case_reference, command_team, state, created_at, created_by,"
            " watchlist_version, match_threshold, live_at, ended_at, id)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", self._dep_row(rec))

    async def update_deployment(self, rec: DeploymentRecord) -> None:
        await self._run(
            "UPDATE deployments SET name=?, authorising_officer=?, location=?, starts_at=?,"
            " ends_at=?, objectives=?, case_reference=?, command_team=?, state=?,"
            " created_at=?, created_by=?, watchlist_version=?, match_threshold=?, live_at=?,"
            " ended_at=? WHERE id=?", self._dep_row(rec))

    @staticmethod
    def _dep(row: sqlite3.Row) -> DeploymentRecord:
        return DeploymentRecord(
            id=row["id"], name=row["name"], authorising_officer=row["authorising_officer"],
            location=row["location"], starts_at=_req_dt(row["starts_at"]),
            ends_at=_req_dt(row["ends_at"]), objectives=row["objectives"],
            case_reference=row["case_reference"], command_team=json.loads(row["command_team"]),
            state=row["state"], created_at=_req_dt(row["created_at"]),
            created_by=row["created_by"], watchlist_version=row["watchlist_version"],
            match_threshold=row["match_threshold"], live_at=_dt(row["live_at"]),
            ended_at=_dt(row["ended_at"]))

    async def get_deployment(self, deployment_id: str) -> DeploymentRecord | None:
        row = await self._one("SELECT * FROM deployments WHERE id=?", (deployment_id,))
        return None if row is None else self._dep(row)

    async def list_deployments(self) -> list[DeploymentRecord]:
        rows = await self._all("SELECT * FROM deployments ORDER BY created_at, id")
        return [self._dep(r) for r in rows]

    async def insert_transition(self, rec: TransitionRecord) -> None:
        await self._run("INSERT INTO transitions (deployment_id, from_state, to_state, actor, at)"
                        " VALUES (?,?,?,?,?)", (rec.deployment_id, rec.from_state, rec.to_state,
                                                rec.actor, _ts(rec.at)))

    async def list_transitions(self, deployment_id: str) -> list[TransitionRecord]:
        rows = await self._all("SELECT * FROM transitions WHERE deployment_id=? ORDER BY id",
                               (deployment_id,))
        return [TransitionRecord(deployment_id=r["deployment_id"], from_state=r["from_state"],
                                 to_state=r["to_state"], actor=r["actor"], at=_req_dt(r["at"]))
                for r in rows]

    async def delete_deployment(self, deployment_id: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        params = (deployment_id,)
        # children first, so that the counts are exact and RESTRICT keys never fire
        counts["outbox"] = await self._run("DELETE FROM outbox WHERE deployment_id=?", params)
        counts["alert"] = await self._run("DELETE FROM alerts WHERE deployment_id=?", params)
        counts["blue_walk"] = await self._run("DELETE FROM blue_walks WHERE deployment_id=?",
                                              params)
        counts["photo"] = await self._run("DELETE FROM photos WHERE deployment_id=?", params)
        counts["entry"] = await self._run("DELETE FROM entries WHERE deployment_id=?", params)
        counts["review"] = await self._run("DELETE FROM reviews WHERE deployment_id=?", params)
        counts["face_count"] = await self._run("DELETE FROM face_counts WHERE deployment_id=?",
                                               params)
        counts["blob"] = await self._run("DELETE FROM blobs WHERE deployment_id=?", params)
        counts["transition"] = await self._run("DELETE FROM transitions WHERE deployment_id=?",
                                               params)
        counts["deployment"] = await self._run("DELETE FROM deployments WHERE id=?", params)
        return counts

    # blobs ------------------------------------------------------------------------------
    async def insert_blob(self, rec: BlobRecord) -> None:
        await self._run("INSERT INTO blobs (id, deployment_id, kind, nonce, ciphertext)"
                        " VALUES (?,?,?,?,?)",
                        (rec.id, rec.deployment_id, rec.kind, rec.nonce, rec.ciphertext))

    async def get_blob(self, blob_id: str) -> BlobRecord | None:
        r = await self._one("SELECT * FROM blobs WHERE id=?", (blob_id,))
        if r is None:
            return None
        return BlobRecord(id=r["id"], deployment_id=r["deployment_id"], kind=r["kind"],
                          nonce=bytes(r["nonce"]), ciphertext=bytes(r["ciphertext"]))

    async def delete_blobs(self, blob_ids: list[str]) -> int:
        return await self._delete_in("blobs", "id", blob_ids)

    async def list_blob_ids(self, deployment_id: str) -> list[str]:
        rows = await self._all("SELECT id FROM blobs WHERE deployment_id=? ORDER BY id",
                               (deployment_id,))
        return [r["id"] for r in rows]

    # watch lists --------------------------------------------------------------------------
    @staticmethod
    def _entry(r: sqlite3.Row) -> EntryRecord:
        return EntryRecord(id=r["id"], deployment_id=r["deployment_id"], list=r["list"],
                           category=r["category"], marking=r["marking"],
                           details_blob=r["details_blob"], created_at=_req_dt(r["created_at"]),
                           created_by=r["created_by"])

    async def insert_entry(self, rec: EntryRecord) -> None:
        await self._run("INSERT INTO entries (id, deployment_id, list, category, marking,"
                        " details_blob, created_at, created_by) VALUES (?,?,?,?,?,?,?,?)",
                        (rec.id, rec.deployment_id, rec.list, rec.category, rec.marking,
                         rec.details_blob, _ts(rec.created_at), rec.created_by))

    async def get_entry(self, entry_id: str) -> EntryRecord | None:
        r = await self._one("SELECT * FROM entries WHERE id=?", (entry_id,))
        return None if r is None else self._entry(r)

    async def list_entries(self, deployment_id: str, list_kind: ListKind | None = None
                           ) -> list[EntryRecord]:
        if list_kind is None:
            rows = await self._all("SELECT * FROM entries WHERE deployment_id=?"
                                   " ORDER BY created_at, id", (deployment_id,))
        else:
            rows = await self._all("SELECT * FROM entries WHERE deployment_id=? AND list=?"
                                   " ORDER BY created_at, id", (deployment_id, list_kind))
        return [self._entry(r) for r in rows]

    async def delete_entries(self, entry_ids: list[str]) -> int:
        return await self._delete_in("entries", "id", entry_ids)

    async def insert_photo(self, rec: PhotoRecord) -> int:
        async with self._con.execute(
            "INSERT INTO photos (entry_id, deployment_id, photo_blob, template_blob, model_id,"
            " quality, created_at, gate) VALUES (?,?,?,?,?,?,?,?)",
            (rec.entry_id, rec.deployment_id, rec.photo_blob, rec.template_blob, rec.model_id,
             json.dumps(rec.quality), _ts(rec.created_at),
             msgspec.json.encode(rec.gate).decode())) as cur:
            return int(cur.lastrowid or 0)

    async def list_photos(self, deployment_id: str, entry_id: str | None = None
                          ) -> list[PhotoRecord]:
        if entry_id is None:
            rows = await self._all("SELECT * FROM photos WHERE deployment_id=? ORDER BY key",
                                   (deployment_id,))
        else:
            rows = await self._all("SELECT * FROM photos WHERE deployment_id=? AND entry_id=?"
                                   " ORDER BY key", (deployment_id, entry_id))
        return [PhotoRecord(key=r["key"], entry_id=r["entry_id"],
                            deployment_id=r["deployment_id"], photo_blob=r["photo_blob"],
                            template_blob=r["template_blob"], model_id=r["model_id"],
                            quality=json.loads(r["quality"]),
                            created_at=_req_dt(r["created_at"]),
                            gate=msgspec.json.decode(r["gate"], type=PhotoGate))
                for r in rows]

    async def clear_template(self, key: int) -> None:
        await self._run("UPDATE photos SET template_blob=NULL WHERE key=?", (key,))

    async def insert_review(self, rec: ReviewRecord) -> None:
        await self._run("INSERT INTO reviews (deployment_id, reviewer, reviewed_at,"
                        " watchlist_version, entries) VALUES (?,?,?,?,?)",
                        (rec.deployment_id, rec.reviewer, _ts(rec.reviewed_at),
                         rec.watchlist_version, rec.entries))

    async def last_review(self, deployment_id: str) -> ReviewRecord | None:
        r = await self._one("SELECT * FROM reviews WHERE deployment_id=? ORDER BY id DESC"
                            " LIMIT 1", (deployment_id,))
        if r is None:
            return None
        return ReviewRecord(deployment_id=r["deployment_id"], reviewer=r["reviewer"],
                            reviewed_at=_req_dt(r["reviewed_at"]),
                            watchlist_version=r["watchlist_version"], entries=r["entries"])

    async def insert_blue_walk(self, rec: BlueWalk) -> None:
        await self._run("INSERT INTO blue_walks (deployment_id, entry_id, at) VALUES (?,?,?)",
                        (rec.deployment_id, rec.entry_id, _ts(rec.at)))

    async def list_blue_walks(self, deployment_id: str) -> list[BlueWalk]:
        rows = await self._all("SELECT * FROM blue_walks WHERE deployment_id=? ORDER BY id",
                               (deployment_id,))
        return [BlueWalk(deployment_id=r["deployment_id"], entry_id=r["entry_id"],
                         at=_req_dt(r["at"])) for r in rows]

    # alerts -------------------------------------------------------------------------------
    @staticmethod
    def _alert_row(rec: AlertRecord) -> tuple[Any, ...]:
        return (rec.deployment_id, rec.entry_id, rec.list, rec.category, rec.camera_id,
                rec.score, _ts(rec.captured_at), _ts(rec.created_at), rec.state, rec.face_blob,
                rec.torso_blob, rec.decided_by, _ts(rec.decided_at), rec.outcome,
                rec.outcome_by, _ts(rec.outcome_at), int(rec.hold), rec.hold_by,
                _ts(rec.hold_at), rec.released_by, _ts(rec.released_at), rec.id)

    _ALERT_COLS = ("deployment_id, entry_id, list, category, camera_id, score, captured_at,"
                   " created_at, state, face_blob, torso_blob, decided_by, decided_at, outcome,"
                   " outcome_by, outcome_at, hold, hold_by, hold_at, released_by, released_at,"
                   " id")

    async def insert_alert(self, rec: AlertRecord) -> None:
        try:
            await self._run(f"INSERT INTO alerts ({self._ALERT_COLS}) VALUES"
                            f" ({','.join('?' * 22)})", self._alert_row(rec))
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"alert refused: entry {rec.entry_id} is not an entry of "
                             f"deployment {rec.deployment_id} ({exc})") from None

    async def update_alert(self, rec: AlertRecord) -> None:
        sets = ", ".join(f"{c.strip()}=?" for c in self._ALERT_COLS.split(",")[:-1])
        await self._run(f"UPDATE alerts SET {sets} WHERE id=?", self._alert_row(rec))

    @staticmethod
    def _alert(r: sqlite3.Row) -> AlertRecord:
        return AlertRecord(
            id=r["id"], deployment_id=r["deployment_id"], entry_id=r["entry_id"],
            list=r["list"], category=r["category"], camera_id=r["camera_id"], score=r["score"],
            captured_at=_req_dt(r["captured_at"]), created_at=_req_dt(r["created_at"]),
            state=r["state"], face_blob=r["face_blob"], torso_blob=r["torso_blob"],
            decided_by=r["decided_by"], decided_at=_dt(r["decided_at"]), outcome=r["outcome"],
            outcome_by=r["outcome_by"], outcome_at=_dt(r["outcome_at"]), hold=bool(r["hold"]),
            hold_by=r["hold_by"], hold_at=_dt(r["hold_at"]), released_by=r["released_by"],
            released_at=_dt(r["released_at"]))

    async def get_alert(self, alert_id: str) -> AlertRecord | None:
        r = await self._one("SELECT * FROM alerts WHERE id=?", (alert_id,))
        return None if r is None else self._alert(r)

    async def list_alerts(self, deployment_id: str) -> list[AlertRecord]:
        rows = await self._all("SELECT * FROM alerts WHERE deployment_id=?"
                               " ORDER BY created_at, id", (deployment_id,))
        return [self._alert(r) for r in rows]

    async def delete_alerts(self, alert_ids: list[str]) -> int:
        return await self._delete_in("alerts", "id", alert_ids)

    # outbox -------------------------------------------------------------------------------
    async def insert_outbox(self, alert_id: str, confirmed_at: datetime) -> int:
        try:
            async with self._con.execute(
                "INSERT INTO outbox (alert_id, deployment_id, category, camera_id, confirmed_at)"
                " SELECT id, deployment_id, category, camera_id, ? FROM alerts WHERE id=?",
                (_ts(confirmed_at), alert_id)) as cur:
                if cur.rowcount != 1:
                    raise StoreError(f"outbox: no alert {alert_id}")
                return int(cur.lastrowid or 0)
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"outbox refused alert {alert_id}: {exc}") from None

    async def outbox_pending(self, after_seq: int, limit: int) -> list[AlertNotice]:
        rows = await self._all("SELECT * FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                               (after_seq, limit))
        return [AlertNotice(seq=r["seq"], alert_id=r["alert_id"],
                            deployment_id=r["deployment_id"], category=r["category"],
                            camera_id=r["camera_id"], confirmed_at=r["confirmed_at"])
                for r in rows]

    async def outbox_ack(self, sink_name: str, seq: int) -> None:
        await self._run("INSERT INTO sink_positions (sink_name, seq) VALUES (?, ?)"
                        " ON CONFLICT(sink_name) DO UPDATE SET seq=max(seq, excluded.seq)",
                        (sink_name, seq))

    async def outbox_position(self, sink_name: str) -> int:
        r = await self._one("SELECT seq FROM sink_positions WHERE sink_name=?", (sink_name,))
        return 0 if r is None else int(r["seq"])

    # audit --------------------------------------------------------------------------------
    @staticmethod
    def _audit(r: sqlite3.Row) -> AuditRecord:
        return AuditRecord(seq=r["seq"], at=_req_dt(r["at"]), actor=r["actor"],
                           action=r["action"], subjects=json.loads(r["subjects"]),
                           details=json.loads(r["details"]), prev_hash=r["prev_hash"],
                           hash=r["hash"])

    async def last_audit(self) -> AuditRecord | None:
        r = await self._one("SELECT * FROM audit ORDER BY seq DESC LIMIT 1")
        return None if r is None else self._audit(r)

    async def insert_audit(self, rec: AuditRecord) -> None:
        await self._run("INSERT INTO audit (seq, at, actor, action, subjects, details,"
                        " prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)",
                        (rec.seq, _ts(rec.at), rec.actor, rec.action,
                         json.dumps(rec.subjects, sort_keys=True),
                         json.dumps(rec.details, sort_keys=True), rec.prev_hash, rec.hash))

    async def audit_page(self, after_seq: int, limit: int) -> list[AuditRecord]:
        rows = await self._all("SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
                               (after_seq, limit))
        return [self._audit(r) for r in rows]

    # disposals and statistics ---------------------------------------------------------------
    async def insert_disposal(self, rec: DisposalRecord) -> None:
        await self._run("INSERT INTO disposals (at, deployment_id, kind, count, rule, actor)"
                        " VALUES (?,?,?,?,?,?)", (_ts(rec.at), rec.deployment_id, rec.kind,
                                                  rec.count, rec.rule, rec.actor))

    async def list_disposals(self, deployment_id: str | None = None) -> list[DisposalRecord]:
        if deployment_id is None:
            rows = await self._all("SELECT * FROM disposals ORDER BY id")
        else:
            rows = await self._all("SELECT * FROM disposals WHERE deployment_id=? ORDER BY id",
                                   (deployment_id,))
        return [DisposalRecord(at=_req_dt(r["at"]), deployment_id=r["deployment_id"],
                               kind=r["kind"], count=r["count"], rule=r["rule"],
                               actor=r["actor"]) for r in rows]

    async def add_face_counts(self, rec: FaceCount) -> None:
        await self._run("INSERT INTO face_counts (deployment_id, camera_id, minute, seen,"
                        " matched) VALUES (?,?,?,?,?) ON CONFLICT(deployment_id, camera_id,"
                        " minute) DO UPDATE SET seen=seen+excluded.seen,"
                        " matched=matched+excluded.matched",
                        (rec.deployment_id, rec.camera_id, _ts(rec.minute), rec.seen,
                         rec.matched))

    async def list_face_counts(self, deployment_id: str) -> list[FaceCount]:
        rows = await self._all("SELECT * FROM face_counts WHERE deployment_id=?"
                               " ORDER BY camera_id, minute", (deployment_id,))
        return [FaceCount(deployment_id=r["deployment_id"], camera_id=r["camera_id"],
                          minute=_req_dt(r["minute"]), seen=r["seen"], matched=r["matched"])
                for r in rows]

    # officers' list: R5 enforced in the query ----------------------------------------------
    async def list_alerts_in_states(self, deployment_id: str | None, states: list[str],
                                    list_kind: ListKind = "watch") -> list[AlertRecord]:
        if not states:
            return []
        marks = ",".join("?" * len(states))
        sql = f"SELECT * FROM alerts WHERE list=? AND state IN ({marks})"
        params: list[Any] = [list_kind, *states]
        if deployment_id is not None:
            sql += " AND deployment_id=?"
            params.append(deployment_id)
        rows = await self._all(sql + " ORDER BY created_at, id", params)
        return [self._alert(r) for r in rows]

    # accounts (R23) -------------------------------------------------------------------------
    @staticmethod
    def _user(r: sqlite3.Row) -> UserRecord:
        return UserRecord(name=r["name"], role=r["role"], password_hash=r["password_hash"],
                          enabled=bool(r["enabled"]), created_at=_req_dt(r["created_at"]),
                          created_by=r["created_by"],
                          password_changed_at=_req_dt(r["password_changed_at"]))

    async def insert_user(self, rec: UserRecord) -> None:
        await self._run("INSERT INTO users (name, role, password_hash, enabled, created_at,"
                        " created_by, password_changed_at) VALUES (?,?,?,?,?,?,?)",
                        (rec.name, rec.role, rec.password_hash, int(rec.enabled),
                         _ts(rec.created_at), rec.created_by, _ts(rec.password_changed_at)))

    async def update_user(self, rec: UserRecord) -> None:
        await self._run("UPDATE users SET role=?, password_hash=?, enabled=?,"
                        " password_changed_at=? WHERE name=?",
                        (rec.role, rec.password_hash, int(rec.enabled),
                         _ts(rec.password_changed_at), rec.name))

    async def get_user(self, name: str) -> UserRecord | None:
        row = await self._one("SELECT * FROM users WHERE name=?", (name,))
        return None if row is None else self._user(row)

    async def list_users(self) -> list[UserRecord]:
        return [self._user(r) for r in await self._all("SELECT * FROM users ORDER BY name")]

    @staticmethod
    def _session(r: sqlite3.Row) -> SessionRecord:
        return SessionRecord(id=r["id"], user=r["user_name"], csrf=r["csrf"],
                             created_at=_req_dt(r["created_at"]),
                             last_seen_at=_req_dt(r["last_seen_at"]))

    async def insert_session(self, rec: SessionRecord) -> None:
        await self._run("INSERT INTO sessions (id, user_name, csrf, created_at, last_seen_at)"
                        " VALUES (?,?,?,?,?)", (rec.id, rec.user, rec.csrf,
                                                _ts(rec.created_at), _ts(rec.last_seen_at)))

    async def get_session(self, session_id: str) -> SessionRecord | None:
        row = await self._one("SELECT * FROM sessions WHERE id=?", (session_id,))
        return None if row is None else self._session(row)

    async def touch_session(self, session_id: str, at: datetime) -> None:
        await self._run("UPDATE sessions SET last_seen_at=? WHERE id=?", (_ts(at), session_id))

    async def delete_session(self, session_id: str) -> int:
        return await self._run("DELETE FROM sessions WHERE id=?", (session_id,))

    async def delete_user_sessions(self, name: str) -> int:
        return await self._run("DELETE FROM sessions WHERE user_name=?", (name,))

    async def delete_sessions_before(self, created_before: datetime,
                                     seen_before: datetime) -> int:
        # ISO-8601 UTC strings of one format compare in time order
        return await self._run("DELETE FROM sessions WHERE created_at < ? OR last_seen_at < ?",
                               (_ts(created_before), _ts(seen_before)))

    async def get_login_failures(self, name: str) -> LoginFailures | None:
        r = await self._one("SELECT * FROM login_failures WHERE name=?", (name,))
        if r is None:
            return None
        return LoginFailures(name=r["name"], failures=r["failures"],
                             last_failure_at=_req_dt(r["last_failure_at"]),
                             locked_until=_dt(r["locked_until"]))

    async def put_login_failures(self, rec: LoginFailures) -> None:
        await self._run("INSERT INTO login_failures (name, failures, last_failure_at,"
                        " locked_until) VALUES (?,?,?,?) ON CONFLICT(name) DO UPDATE SET"
                        " failures=excluded.failures, last_failure_at=excluded.last_failure_at,"
                        " locked_until=excluded.locked_until",
                        (rec.name, rec.failures, _ts(rec.last_failure_at),
                         _ts(rec.locked_until)))

    async def clear_login_failures(self, name: str) -> None:
        await self._run("DELETE FROM login_failures WHERE name=?", (name,))

    @staticmethod
    def _push(r: sqlite3.Row) -> PushSubscriptionRecord:
        return PushSubscriptionRecord(endpoint=r["endpoint"], user=r["user_name"],
                                      p256dh=r["p256dh"], auth=r["auth"], device=r["device"],
                                      deployment_id=r["deployment_id"],
                                      created_at=_req_dt(r["created_at"]))

    async def put_push_subscription(self, rec: PushSubscriptionRecord) -> None:
        await self._run("INSERT OR REPLACE INTO push_subscriptions (endpoint, user_name, p256dh,"
                        " auth, device, deployment_id, created_at) VALUES (?,?,?,?,?,?,?)",
                        (rec.endpoint, rec.user, rec.p256dh, rec.auth, rec.device,
                         rec.deployment_id, _ts(rec.created_at)))

    async def delete_push_subscription(self, endpoint: str, name: str | None = None) -> int:
        if name is None:
            return await self._run("DELETE FROM push_subscriptions WHERE endpoint=?",
                                   (endpoint,))
        return await self._run("DELETE FROM push_subscriptions WHERE endpoint=? AND"
                               " user_name=?", (endpoint, name))

    async def list_push_subscriptions(self, name: str | None = None
                                      ) -> list[PushSubscriptionRecord]:
        if name is None:
            rows = await self._all("SELECT * FROM push_subscriptions ORDER BY created_at")
        else:
            rows = await self._all("SELECT * FROM push_subscriptions WHERE user_name=?"
                                   " ORDER BY created_at", (name,))
        return [self._push(r) for r in rows]
