"""Node-link seam: what an edge and a console exchange through a broker (issue 13).

An edge publishes candidate evidence (already sealed by :mod:`kernel.link.cipher`) and a
report of what it holds; a console consumes the evidence durably (persist, then acknowledge),
publishes each live deployment's sealed watch-list bundle with a version and reads the edges'
reports. The kernel only ever hands this seam opaque sealed bytes and ids: the transport sees
no image, template or name in clear, and nothing of a non-match reaches it (R3).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


class LinkDown(Exception):
    """The broker cannot be reached, or did not acknowledge in time: try again later.

    A publish that raised this may still have landed; publishing again with the same key is
    safe (the broker deduplicates by key, the console's insert is idempotent by it)."""


class Delivery(Protocol):
    """One message of the candidate stream handed to the console, until it settles it."""

    @property
    def data(self) -> bytes:
        """The message body as published (untrusted: anyone on the broker may publish)."""
        ...

    @property
    def key(self) -> str | None:
        """The idempotency key the publisher set (the broker's dedup id), if any."""
        ...

    @property
    def seq(self) -> int:
        """The stream's sequence number of the message (for logs and dead letters)."""
        ...

    @property
    def attempts(self) -> int:
        """How many times it has been delivered, this time included."""
        ...

    async def ack(self) -> None:
        """Settled: persisted (or refused for good); never delivered again."""
        ...

    async def retry(self, delay_s: float) -> None:
        """Not settled (storage refused it for now): deliver it again after ``delay_s``."""
        ...

    async def reject(self) -> None:
        """Never deliver it again (it was dead-lettered)."""
        ...


@runtime_checkable
class NodeLink(Protocol):
    """The transport between edges and consoles. One instance per process; both roles use
    the same class (an edge calls the first group of methods, a console the second)."""

    async def open(self) -> None:
        """Connect, and create the streams and buckets when missing (idempotent)."""
        ...

    async def close(self) -> None:
        """Disconnect; idempotent."""
        ...

    # -- edge ---------------------------------------------------------------------------
    async def publish_candidate(self, node_id: str, key: str, data: bytes) -> None:
        """Append one sealed candidate to the durable stream, deduplicated by ``key``;
        returns once the broker acknowledged it. Raises :class:`LinkDown`."""
        ...

    async def list_versions(self) -> dict[str, int]:
        """deployment id → version of every watch-list bundle published now (a dropped
        deployment is absent). Raises :class:`LinkDown`."""
        ...

    async def fetch_list(self, deployment_id: str) -> tuple[int, bytes] | None:
        """The current (version, sealed bundle) of a deployment; None when it was dropped.
        Raises :class:`LinkDown`."""
        ...

    async def fetch_list_key(self, deployment_id: str) -> bytes | None:
        """The deployment's sealed list secret, from the broker's memory; None when it is
        not there (withdrawn, or the broker restarted and the console has not put it back
        yet). Raises :class:`LinkDown`."""
        ...

    async def publish_counts(self, node_id: str, key: str, data: bytes) -> None:
        """Append one face-counts message (ids and numbers only) to its durable stream,
        deduplicated by ``key``. Raises :class:`LinkDown`."""
        ...

    async def put_report(self, node_id: str, data: bytes) -> None:
        """Replace this edge's report (what it holds, its cameras). Raises :class:`LinkDown`."""
        ...

    # -- console ------------------------------------------------------------------------
    async def fetch_candidates(self, batch: int, timeout_s: float) -> Sequence[Delivery]:
        """Up to ``batch`` unsettled candidates of the durable consumer, oldest first; empty
        after ``timeout_s`` without any. An unsettled one comes again after the ack wait
        (a console killed before acknowledging gets it again on restart)."""
        ...

    async def fetch_counts(self, batch: int, timeout_s: float) -> Sequence[Delivery]:
        """As :meth:`fetch_candidates`, for the edges' face-counts messages (a durable
        consumer of their own)."""
        ...

    async def put_list(self, deployment_id: str, data: bytes) -> int:
        """Publish a deployment's sealed bundle; its new version (strictly increasing)."""
        ...

    async def put_list_key(self, deployment_id: str, data: bytes) -> None:
        """Keep a deployment's sealed list secret in the broker's memory only: never written
        to its disk, gone when the broker restarts (the console puts it back)."""
        ...

    async def list_key_ids(self) -> set[str]:
        """The deployments whose sealed list secret the broker holds now."""
        ...

    async def drop_list(self, deployment_id: str) -> None:
        """Remove a deployment's bundle with its history, and its list secret, from the
        broker (ended, wiped)."""
        ...

    async def reports(self) -> dict[str, bytes]:
        """node id → its latest report."""
        ...

    async def dead_letter(self, data: bytes) -> None:
        """Keep a record of a refused message (metadata only, never its body)."""
        ...
