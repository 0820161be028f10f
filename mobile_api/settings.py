"""The API's settings: the ``service.http`` section of ``config.toml`` (``[[services]]`` with
``type = "http"``). Host, port and TLS fall back to ``[server]`` when left out."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from kernel.adapter_kit.redaction import config_repr, config_rich_repr
from kernel.bounds import Bytes, Count, Fraction, Port, Seconds


class Calibration(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A calibration figure to show beside the threshold setting (R22): the false-positive
    identification rate measured at ``threshold`` on ``faces`` non-watch-list faces."""

    threshold: Annotated[float, msgspec.Meta(ge=-1.0, le=1.0)]  # a cosine
    fpir: Fraction
    faces: Annotated[int, msgspec.Meta(ge=1, le=1_000_000_000)]
    source: str = ""


class DynsecSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How the API reaches Mosquitto's dynamic-security plugin to make officers' accounts
    (:mod:`mobile_api.mosquitto_accounts`): the broker's plain-MQTT listener (loopback, or TLS
    trusting only ``ca_file``) and the plugin's admin account (``mosquitto_ctrl dynsec
    init``). ``password_file`` keeps the secret out of the config (both files relative to the
    data directory);
    ``timeout_s`` bounds one change (connect, command, answer)."""

    type: Literal["mosquitto_dynsec"] = "mosquitto_dynsec"
    host: Annotated[str, msgspec.Meta(min_length=1, max_length=253)] = "127.0.0.1"
    port: Port = 1883
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] = "pinchpoint-admin"
    password: str | None = None
    password_file: str | None = None
    ca_file: str | None = None
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 5.0

    def __repr__(self) -> str:
        return config_repr(self, frozenset({"password"}))

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return config_rich_repr(self, frozenset({"password"}))


WsUrl = Annotated[str, msgspec.Meta(pattern=r"^wss?://[A-Za-z0-9.\[\]:-]+(/[A-Za-z0-9._~/-]*)?$",
                                    max_length=300)]
"""A broker's MQTT-over-WebSockets URL (``wss://`` on a site, ``ws://`` on loopback in tests);
no query, fragment or credentials, so it can stand in a CSP ``connect-src`` as it is."""


class OfficerMqttSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """MQTT over WebSockets for the officers' PWA (R6, issue 14): ``ws_url`` is what the
    browser connects to (the one place it is configured: the credentials route hands it to
    the PWA and the PWA's CSP ``connect-src`` allows its origin), ``topic`` the alert topic
    template (as ``sink.mqtt``'s), ``accounts`` where per-session accounts are made."""

    ws_url: WsUrl
    topic: Annotated[str, msgspec.Meta(pattern=r"^[^#+]*\{deployment_id\}[^#+]*$",
                                       max_length=200)] = "pinchpoint/{deployment_id}/alerts"
    accounts: DynsecSettings = msgspec.field(default_factory=DynsecSettings)

    @property
    def ws_origin(self) -> str:
        """``scheme://host[:port]`` of ``ws_url``: what the PWA's CSP ``connect-src`` must
        allow besides ``'self'``."""
        scheme, _, rest = self.ws_url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}"


class ApiSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Everything the HTTP API needs besides the domain.

    - ``host``/``port``/``tls_cert``/``tls_key``: ``None`` means "as in ``[server]``". With a
      certificate and key the API speaks HTTPS only (R23: TLS on the closed network).
    - ``session_idle_s``/``session_absolute_s``: a session ends after this long unused, and
      this long after login whatever happens (R23).
    - Login throttling (R23, :mod:`kernel.auth.lockout`): ``lockout_after`` failed logins in a
      row from one client for one name lock that client out of that name for
      ``lockout_base_s``, doubling with each further failure up to ``lockout_max_s``;
      ``lockout_client_after`` failures from one client over all names lock that client out
      of every name; ``lockout_account_after`` failures of one account from all clients lock
      it, but only for the clients that failed for it (the real user's device, which did
      not, still logs in). Existing sessions are never touched; an admin unlocks with
      ``POST /api/users/{name}/unlock`` or ``pinchpoint user unlock``.
    - ``password_workers``/``password_queue``: the threads Argon2id runs in (its own pool,
      never the face engine's) and how many more logins may wait for one; beyond that a
      login is answered 503 with ``Retry-After`` at once (issue 12, finding 2).
      ``password_reserved`` more places take only the login of a client with no recent
      failure, so a flood of failing clients cannot keep the real user out (0 turns the
      reservation off).
    - ``secure_cookie``: ``Secure`` on the session cookie over plain HTTP too. Turn it off ONLY
      for plain-HTTP development on ``http://127.0.0.1`` (browsers drop Secure cookies on plain
      HTTP). A request that came over TLS always gets ``Secure``, whatever this says.
    - ``max_upload_bytes``: request bodies above this get 413 (watch-list photos, R10).
    - ``pwa_dir``: static PWA files served at ``/`` (relative to the working directory).
    - ``vapid_public_key``: the Web Push application server key (base64url) for the PWA; when
      unset, the one the Web Push sink wrote (``<data_dir>/keys/vapid_public.txt``, named by
      :mod:`kernel.delivery.vapid`) is read if present.
    - ``argon2_*``: Argon2id cost (RFC 9106 second recommendation's time and memory by
      default; ``argon2_time_cost`` 1–20, ``argon2_memory_kib`` 8 KiB–1 GiB).
      ``argon2_parallelism`` is 1 (at most 4): each lane is a thread of its own, so with
      more lanes one login would use several cores beside the face engine whatever
      ``password_workers`` says. Hashes made with other parameters still verify and are
      re-made with these at the next successful login.
    - ``feed_poll_s``: how often the commits of *other* processes (the ``pinchpoint`` CLI)
      are looked for: one read of the audit chain's head, then only the new rows
      (:meth:`kernel.domain.events.DomainEvents.follow`); this process's own commits reach
      the feed at once. Positive, at most 60. ``feed_ping_s``: SSE keep-alive.
    - ``mqtt``: alerts to the officers' PWA over MQTT/WebSockets (:class:`OfficerMqttSettings`);
      unset, the PWA uses the live feed only.
    """

    host: str | None = None
    port: Port | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    session_idle_s: Seconds = 30 * 60
    session_absolute_s: Seconds = 12 * 3600
    lockout_after: Annotated[int, msgspec.Meta(ge=1, le=100)] = 5
    lockout_client_after: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 20
    lockout_account_after: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 100
    lockout_base_s: Annotated[float, msgspec.Meta(gt=0, le=86_400)] = 30.0
    lockout_max_s: Annotated[float, msgspec.Meta(gt=0, le=7 * 86_400)] = 3600.0
    password_workers: Annotated[int, msgspec.Meta(ge=1, le=8)] = 1
    password_queue: Annotated[int, msgspec.Meta(ge=1, le=64)] = 4
    password_reserved: Annotated[int, msgspec.Meta(ge=0, le=8)] = 1
    secure_cookie: bool = True
    max_upload_bytes: Bytes = 15_000_000
    pwa_dir: str = "pwa"
    vapid_public_key: str | None = None
    argon2_time_cost: Annotated[int, msgspec.Meta(ge=1, le=20)] = 3
    argon2_memory_kib: Annotated[int, msgspec.Meta(ge=8, le=1_048_576)] = 65536
    argon2_parallelism: Annotated[int, msgspec.Meta(ge=1, le=4)] = 1
    feed_poll_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 0.5
    feed_ping_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 15.0
    feed_buffer: Count = 1000
    feed_queue: Count = 256
    calibration: Calibration | None = None
    mqtt: OfficerMqttSettings | None = None
