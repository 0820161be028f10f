"""THE access matrix: every route of the API and who may call it (R11, R23).

The guard (:func:`mobile_api.security.authorize`) and the matrix test read this table and
nothing else. A route that is not here is refused to everyone (fail closed) and fails the
test. Keys are ``"METHOD /path/{param}"`` as Litestar formats the route's path.

- ``PUBLIC``: no session needed (the login form, the PWA's static files, the OpenAPI schema).
- ``CAMERA``: WHIP ingest; the camera's bearer token is checked by the WHIP endpoint instead
  of a user session.
- otherwise the set of roles whose session may call it.

Why these roles (R11: watch-list data only to roles that need it): officers see confirmed
alerts and record outcomes (R5, R7); the operator decides candidates; the technical lead
runs enrolment quality checks, the blue list and thresholds (R10, R21, R22); the commander
creates, authorises and runs deployments, approves the watch list, exports and wipes (R9, R16,
R18, R19, R20); the admin administers accounts (create with a role, reset a password, disable,
enable, unlock after lockout, end sessions) and reads audit and statistics, but no watch-list
or alert content. docs/roles.md has the table.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

from kernel.auth.roles import Role

ROLES: Final[tuple[Role, ...]] = get_args(Role)
PUBLIC: Final = "public"
CAMERA: Final = "camera"
Access = frozenset[Role] | Literal["public", "camera"]

ANY: Final[frozenset[Role]] = frozenset(ROLES)
OFFICER: Final[frozenset[Role]] = frozenset({"officer"})
OPERATOR: Final[frozenset[Role]] = frozenset({"operator"})
TECHNICAL: Final[frozenset[Role]] = frozenset({"technical"})
COMMANDER: Final[frozenset[Role]] = frozenset({"commander"})
WATCHLIST: Final[frozenset[Role]] = frozenset({"technical", "commander"})
ALERT_VIEWERS: Final[frozenset[Role]] = frozenset({"officer", "operator", "commander"})
FEED: Final[frozenset[Role]] = frozenset({"officer", "operator", "technical"})
HEALTH: Final[frozenset[Role]] = frozenset({"operator", "technical", "commander", "admin"})
AUDITORS: Final[frozenset[Role]] = frozenset({"commander", "admin"})
STATS: Final[frozenset[Role]] = frozenset({"technical", "commander", "admin"})
ADMIN: Final[frozenset[Role]] = frozenset({"admin"})
BLUE_VIEWERS: Final[frozenset[Role]] = frozenset({"operator", "technical"})
DEVICE_ADMINS: Final[frozenset[Role]] = frozenset({"technical", "admin"})
PLACEMENT: Final[frozenset[Role]] = frozenset({"technical", "admin"})

MATRIX: Final[dict[str, Access]] = {
    # sessions (R23)
    "POST /api/auth/login": PUBLIC,
    "POST /api/auth/logout": ANY,
    "GET /api/auth/me": ANY,
    # user administration (R23): the admin only (issue 15; unlock: issue 12, finding 1)
    "GET /api/users": ADMIN,
    "POST /api/users": ADMIN,
    "POST /api/users/{name}/password": ADMIN,
    "POST /api/users/{name}/disable": ADMIN,
    "POST /api/users/{name}/enable": ADMIN,
    "DELETE /api/users/{name}/sessions": ADMIN,
    "POST /api/users/{name}/unlock": ADMIN,
    # deployments (R18, R9)
    "GET /api/deployments": ANY,
    "POST /api/deployments": COMMANDER,
    "GET /api/deployments/{deployment_id}": ANY,
    "POST /api/deployments/{deployment_id}/authorise": COMMANDER,
    "POST /api/deployments/{deployment_id}/live": COMMANDER,
    "POST /api/deployments/{deployment_id}/end": COMMANDER,
    # wipe (R16): destroys held alerts too, so only the role that authorises deployments and
    # places and releases legal holds (R14, R18); never the admin, who sees no alert content
    "POST /api/deployments/{deployment_id}/wipe": COMMANDER,
    # watch list and blue list (R8-R11, R21)
    "GET /api/deployments/{deployment_id}/watchlist": WATCHLIST,
    "POST /api/deployments/{deployment_id}/watchlist": WATCHLIST,
    "GET /api/deployments/{deployment_id}/watchlist/review": WATCHLIST,
    "POST /api/deployments/{deployment_id}/watchlist/review": COMMANDER,
    "GET /api/deployments/{deployment_id}/bluelist": TECHNICAL,
    "POST /api/deployments/{deployment_id}/bluelist": TECHNICAL,
    "POST /api/deployments/{deployment_id}/bluelist/walks": TECHNICAL,
    "GET /api/deployments/{deployment_id}/bluelist/walks": TECHNICAL,
    "GET /api/deployments/{deployment_id}/test-events": BLUE_VIEWERS,
    "POST /api/watchlist/entries/{entry_id}/photos": WATCHLIST,
    "GET /api/watchlist/entries/{entry_id}/photos/{index}": WATCHLIST,
    "DELETE /api/watchlist/entries/{entry_id}": WATCHLIST,
    # candidates: the operator decides (R4, R5)
    "GET /api/candidates": OPERATOR,
    "POST /api/candidates/{alert_id}/confirm": OPERATOR,
    "POST /api/candidates/{alert_id}/reject": OPERATOR,
    # episodes (issue 15): the operator's view of one person's sightings
    "GET /api/deployments/{deployment_id}/episodes": OPERATOR,
    "GET /api/deployments/{deployment_id}/episodes/{episode_id}": OPERATOR,
    # alerts (R5: officers see confirmed only; R6 images; R7 outcome; R14 hold)
    "GET /api/alerts": ALERT_VIEWERS,
    "GET /api/alerts/{alert_id}": ALERT_VIEWERS,
    "GET /api/alerts/{alert_id}/images/{kind}": ALERT_VIEWERS,
    "GET /api/alerts/{alert_id}/sightings": ALERT_VIEWERS,
    "POST /api/alerts/{alert_id}/outcome": OFFICER,
    "POST /api/alerts/{alert_id}/hold": COMMANDER,
    "POST /api/alerts/{alert_id}/release": COMMANDER,
    # reports and audit (R19, R20)
    "GET /api/deployments/{deployment_id}/report": AUDITORS,
    "GET /api/deployments/{deployment_id}/stats": STATS,
    "GET /api/deployments/{deployment_id}/published": STATS,
    "GET /api/deployments/{deployment_id}/retention": STATS,
    "GET /api/alerts/{alert_id}/export": COMMANDER,
    "GET /api/watchlist/entries/{entry_id}/export": COMMANDER,
    "GET /api/audit/verify": AUDITORS,
    # the force-wide view (issue 13): every deployment's state and counts, no personal data,
    # to whoever reads statistics and retention status (the admin too, who sees no content)
    "GET /api/force": STATS,
    # settings (R22)
    "GET /api/deployments/{deployment_id}/settings": WATCHLIST,
    # the technical lead tunes; on a LIVE deployment only the commander may (the domain
    # refuses the technical role there: kernel.domain.thresholds)
    "PUT /api/deployments/{deployment_id}/settings": WATCHLIST,
    # camera health
    "GET /api/health/cameras": HEALTH,
    "GET /api/health/sinks": HEALTH,
    "GET /api/health/edges": HEALTH,
    # the store's fault and the held candidates (issue 12, finding 7)
    "GET /api/health": HEALTH,
    # the camera placement view: boxes and widths, to aim a camera (issue 15)
    "GET /api/cameras/{camera_id}/placement": PLACEMENT,
    # Web Push (R6)
    "GET /api/push/vapid-public-key": ANY,
    "POST /api/push/subscriptions": OFFICER,
    "DELETE /api/push/subscriptions": OFFICER,
    # MQTT over WebSockets: this session's broker login (R6, issue 14)
    "POST /api/mqtt/credentials": OFFICER,
    # officers' enrolled devices (issue 14): the admin or the technical lead enrols and
    # revokes; the tablet enrols with its one-time code (public: it has no session yet;
    # throttled per client); an enrolled officer's device reports its delivery path
    "POST /api/devices/codes": DEVICE_ADMINS,
    "POST /api/devices/enrol": PUBLIC,
    "GET /api/devices": DEVICE_ADMINS,
    "POST /api/devices/{device_id}/revoke": DEVICE_ADMINS,
    "PUT /api/devices/current": OFFICER,
    # the officer's alarm mute, audited (issue 14): the session's own device only
    "POST /api/devices/current/alarm": OFFICER,
    # receipts (issue 14): an officer's enrolled device gives its own (the domain refuses a
    # session of no device); the alert's viewers see who has it and who is responding
    "POST /api/alerts/{alert_id}/receipts": OFFICER,
    "GET /api/deployments/{deployment_id}/receipts": ALERT_VIEWERS,
    # live feed (R4, R5, R21)
    "GET /api/feed": FEED,
    # WebRTC cameras (R1)
    "POST /whip/{camera_id}": CAMERA,
    "DELETE /whip/{camera_id}/{resource_id}": CAMERA,
    # OpenAPI and the PWA
    "GET /schema": PUBLIC,
    "GET /schema/openapi.json": PUBLIC,
    "GET /schema/openapi.yaml": PUBLIC,
    "GET /schema/openapi.yml": PUBLIC,
    "GET /schema/swagger": PUBLIC,
    "GET /schema/{path}": PUBLIC,
    "GET /schema/oauth2-redirect.html": PUBLIC,
    "GET /": PUBLIC,
    "GET /{path}": PUBLIC,
}

FEED_TOPICS: Final[dict[Role, frozenset[str]]] = {
    # R5: officers hear of confirmed alerts only; R21: blue test events never reach them
    "officer": frozenset({"alert"}),
    "operator": frozenset({"candidate", "test", "decision"}),
    "technical": frozenset({"test"}),
}


def access(method: str, path_format: str) -> Access | None:
    """The matrix entry of a route; ``None`` when it is missing (the guard then refuses).
    ``OPTIONS`` (CORS pre-flight, answered by the framework) is public on every path."""
    if method == "OPTIONS":
        return PUBLIC
    return MATRIX.get(f"{method} {path_format}")
