"""The tamper-evident audit log (R19): a hash chain over every action.

Each row holds ``seq`` (1, 2, 3, ... without gaps), time, actor, action, the ids it concerns
(``subjects``), non-personal ``details`` and ``prev_hash``; its ``hash`` is SHA-256 over a
canonical JSON encoding of all of those. Editing a row breaks its hash; deleting or reordering
rows breaks ``seq`` continuity or the link to ``prev_hash``. :func:`verify` names the first bad
row. Cutting rows off the end leaves a valid shorter chain: publish the head hash that
``verify`` reports (the CLI prints it) to detect that too.

Details never hold personal data: ids, states, counts, reasons, settings only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import msgspec

from kernel.clock import Clock
from kernel.domain.records import AuditRecord
from kernel.protocols.store import Store, StoreTx

GENESIS = "0" * 64
JsonScalar = str | int | float | bool | None


def canonical(seq: int, at: str, actor: str, action: str, subjects: Mapping[str, str],
              details: Mapping[str, object], prev_hash: str) -> bytes:
    """The exact bytes that a row's hash covers."""
    return json.dumps([seq, at, actor, action, dict(subjects), dict(details), prev_hash],
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(rec: AuditRecord) -> str:
    return hashlib.sha256(canonical(rec.seq, rec.at.isoformat(), rec.actor, rec.action,
                                    rec.subjects, rec.details, rec.prev_hash)).hexdigest()


async def append(tx: StoreTx, clock: Clock, actor: str, action: str,
                 subjects: Mapping[str, str] | None = None,
                 details: Mapping[str, object] | None = None) -> AuditRecord:
    """Append one action to the chain inside the caller's transaction, so that the action and
    its audit row commit together."""
    last = await tx.audit.last()
    seq = 1 if last is None else last.seq + 1
    prev = GENESIS if last is None else last.hash
    # a JSON round trip makes what is hashed exactly what the store gives back
    subj = {str(k): str(v) for k, v in (subjects or {}).items()}
    det = json.loads(json.dumps(dict(details or {}), sort_keys=True))
    draft = AuditRecord(seq=seq, at=clock.now(), actor=actor, action=action, subjects=subj,
                        details=det, prev_hash=prev, hash="")
    rec = msgspec.structs.replace(draft, hash=row_hash(draft))
    await tx.audit.insert(rec)
    return rec


class AuditReport(msgspec.Struct, frozen=True):
    """The result of :func:`verify`: ``first_bad_seq`` is None when the chain is intact.
    ``head`` is the last row as ``seq:hash``, the anchor to write down (see :class:`Anchor`)."""

    ok: bool
    rows: int
    head_hash: str
    first_bad_seq: int | None = None
    message: str = ""

    @property
    def head(self) -> str:
        return f"{self.rows}:{self.head_hash}"


class Anchor(msgspec.Struct, frozen=True):
    """A head recorded outside the database (printed in a report, kept by the DPO): the chain
    must still hold row ``seq`` with this ``hash``. The chain alone cannot tell rows deleted
    off its end (what is left is a valid shorter chain), nor a chain rewritten and re-hashed
    from the first edited row on; an anchor taken before either does."""

    seq: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """``SEQ:HASH`` as ``pinchpoint audit head`` prints it; ``ValueError`` otherwise."""
        seq, sep, digest = text.strip().partition(":")
        if not sep or not seq.isdigit() or int(seq) < 1 or len(digest) != 64 or any(
                c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"expected SEQ:HASH (a row number and 64 hex digits), got {text!r}")
        return cls(int(seq), digest)


async def verify(store: Store, page: int = 1000, anchor: Anchor | None = None) -> AuditReport:
    """Walk the whole chain and report the first row that is edited, missing or out of place;
    with an ``anchor``, also that its row is still there, unchanged."""
    expected_seq, prev, rows, after = 1, GENESIS, 0, 0
    while True:
        async with store.transaction() as tx:
            batch = await tx.audit.page(after, page)
        if not batch:
            break
        for rec in batch:
            if rec.seq != expected_seq:
                what = "missing" if rec.seq > expected_seq else "out of order"
                return AuditReport(False, rows, prev, expected_seq,
                                   f"audit row {expected_seq} is {what} (found seq {rec.seq} "
                                   "in its place)")
            if rec.prev_hash != prev:
                return AuditReport(False, rows, prev, rec.seq,
                                   f"audit row {rec.seq} does not link to row {rec.seq - 1} "
                                   "(deleted, inserted or reordered rows)")
            if row_hash(rec) != rec.hash:
                return AuditReport(False, rows, prev, rec.seq,
                                   f"audit row {rec.seq} was edited (its hash does not match)")
            if anchor is not None and rec.seq == anchor.seq and rec.hash != anchor.hash:
                return AuditReport(False, rows, prev, rec.seq,
                                   f"audit row {rec.seq} is not the row anchored as "
                                   f"{anchor.seq}:{anchor.hash[:12]}…: the log was rewritten")
            prev, rows, expected_seq = rec.hash, rows + 1, expected_seq + 1
            after = rec.seq
    if anchor is not None and rows < anchor.seq:
        return AuditReport(False, rows, prev, rows + 1,
                           f"the audit log ends at row {rows} but row {anchor.seq} was "
                           "anchored: rows were deleted off its end")
    anchored = f", anchored row {anchor.seq} present" if anchor is not None else ""
    return AuditReport(True, rows, prev, None,
                       f"audit log intact: {rows} rows{anchored}, head {rows}:{prev}")
