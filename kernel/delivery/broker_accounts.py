"""The broker accounts of officers' devices (R6, R23): the seam between whoever hands a device
its MQTT login (today the API, per officer session; later device enrolment, issue 14) and the
broker that checks it.

An account may read one deployment's alert topic and publish nothing; revoking it must make the
broker refuse the next login and drop a connection that is open (a lost tablet stops hearing
alerts at once, not at its next reconnect).
"""

from __future__ import annotations

import re
from typing import Protocol, runtime_checkable

import msgspec

#: What a deployment id may be to become a topic level: no MQTT wildcard (``+``, ``#``), no
#: level separator, no ``$`` prefix (broker-internal topics).
TOPIC_LEVEL = re.compile(r"[A-Za-z0-9_.-]{1,128}")


class BrokerCredentials(msgspec.Struct, frozen=True, kw_only=True):
    """One device's MQTT login: it may subscribe to ``topic`` only, with client id
    ``client_id`` only (the broker refuses another id with this username)."""

    username: str
    password: str
    client_id: str
    topic: str


class BrokerAccountError(Exception):
    """The broker could not be reached or refused the change; nothing was granted."""


@runtime_checkable
class BrokerAccounts(Protocol):
    """Creates and deletes devices' broker accounts."""

    async def grant(self, holder: str, deployment_id: str) -> BrokerCredentials:
        """A fresh account for ``holder`` (an opaque key: a session id today, a device id
        later) that may read ``deployment_id``'s alerts; an earlier account of the same
        holder is replaced (its password stops working, its connection is dropped).
        Raises :class:`BrokerAccountError`."""
        ...

    async def revoke(self, holder: str) -> None:
        """Delete ``holder``'s account and drop its connection; unknown holders are fine.
        Raises :class:`BrokerAccountError`."""
        ...


def alert_topic(template: str, deployment_id: str) -> str:
    """``template`` (with ``{deployment_id}``) for one deployment; refuses ids that could
    widen the topic (wildcards, separators)."""
    if not TOPIC_LEVEL.fullmatch(deployment_id):
        raise ValueError(f"deployment id {deployment_id!r} cannot be an MQTT topic level")
    return template.format(deployment_id=deployment_id)
