"""Officers' broker accounts in Mosquitto's dynamic-security plugin (``mosquitto_ctrl dynsec``,
shipped by Debian's mosquitto 2.0 as ``mosquitto_dynamic_security.so``).

Chosen over a password file + ACL file + SIGHUP: a dynsec change takes effect at once without
a reload, and deleting a client disconnects it (a revoked tablet's open connection is cut, not
only its next login refused). The commands go over MQTT itself: JSON on
``$CONTROL/dynamic-security/v1``, answers on ``.../response``, as the plugin's admin account
(``mosquitto_ctrl dynsec init`` makes it). One short connection per change: grants happen at
officer logins, a handful a minute, and a long-lived admin connection would be one more thing
to supervise.

Each deployment gets a role ``pinchpoint-read-<deployment>`` allowing *subscribeLiteral*
``pinchpoint/<deployment>/alerts`` only: a subscription to a wildcard or another deployment is
refused (SUBACK 0x80), and with the plugin's default ACL (publish denied) the account can
publish nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import ssl
from pathlib import Path
from typing import Any

import aiomqtt

from kernel.delivery.broker_accounts import BrokerAccountError, BrokerCredentials, alert_topic
from mobile_api.settings import DynsecSettings

CONTROL = "$CONTROL/dynamic-security/v1"
RESPONSE = f"{CONTROL}/response"
#: dynsec answers these for a create of something that is there / a delete of nothing
ALREADY = "already exists"
NOT_FOUND = "not found"


class MosquittoDynsecAccounts:
    """:class:`kernel.delivery.broker_accounts.BrokerAccounts` in Mosquitto's dynsec plugin."""

    def __init__(self, settings: DynsecSettings, password: str, topic_template: str,
                 ca_file: Path | None = None) -> None:
        """``ca_file``: connect with TLS trusting only it (reads it: build off the loop)."""
        self.settings = settings
        self._password = password
        self._topic = topic_template
        self._tls: ssl.SSLContext | None = None
        if ca_file is not None:
            self._tls = ssl.create_default_context(cafile=str(ca_file))
        # one change at a time: a grant's delete+create must not interleave with a revoke
        self._lock = asyncio.Lock()

    def username(self, holder: str) -> str:
        """The account name of ``holder``: a hash, so a session id never reaches the broker
        or its logs."""
        return "officer-s-" + hashlib.sha256(holder.encode()).hexdigest()[:20]

    async def grant(self, holder: str, deployment_id: str) -> BrokerCredentials:
        topic = alert_topic(self._topic, deployment_id)
        role = f"pinchpoint-read-{deployment_id}"
        user = self.username(holder)
        password = secrets.token_urlsafe(24)
        await self._run([
            {"command": "createRole", "rolename": role,
             "acls": [{"acltype": "subscribeLiteral", "topic": topic, "allow": True}]},
            {"command": "deleteClient", "username": user},
            {"command": "createClient", "username": user, "password": password,
             "clientid": user, "roles": [{"rolename": role}]},
        ], tolerate={"createRole": ALREADY, "deleteClient": NOT_FOUND})
        return BrokerCredentials(username=user, password=password, client_id=user, topic=topic)

    async def revoke(self, holder: str) -> None:
        await self._run([{"command": "deleteClient", "username": self.username(holder)}],
                        tolerate={"deleteClient": NOT_FOUND})

    async def _run(self, commands: list[dict[str, Any]], tolerate: dict[str, str]) -> None:
        s = self.settings
        answer: dict[str, Any] = {}
        async with self._lock:
            try:
                async with asyncio.timeout(s.timeout_s):
                    async with aiomqtt.Client(
                            s.host, s.port, username=s.username, password=self._password,
                            identifier=f"pinchpoint-dynsec-{secrets.token_hex(4)}",
                            clean_session=True, tls_context=self._tls,
                            timeout=s.timeout_s) as client:
                        await client.subscribe(RESPONSE, qos=1)
                        await client.publish(CONTROL, json.dumps({"commands": commands}), qos=1)
                        async for message in client.messages:
                            if str(message.topic) == RESPONSE:
                                payload = message.payload
                                assert isinstance(payload, bytes | bytearray)
                                answer = json.loads(payload)
                                break
            except (aiomqtt.MqttError, TimeoutError, OSError) as exc:
                raise BrokerAccountError(f"MQTT broker {s.host}:{s.port} (dynsec): {exc}"
                                         ) from None
        for response in answer.get("responses", []):
            error = response.get("error")
            if not error:
                continue
            if tolerate.get(response.get("command", ""), "\0") in error.lower():
                continue
            raise BrokerAccountError(f"dynsec {response.get('command')}: {error}")
