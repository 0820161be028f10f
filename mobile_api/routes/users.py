"""User administration by the admin (R23): list, create with a role, reset a password,
disable and enable, unlock after lockout, end a user's sessions.

Each route is the CLI's domain call (:class:`kernel.auth.accounts.Accounts`, as
``pinchpoint user``) audited under the CLI's action name (``user.add``, ``user.passwd``,
``user.disable``, ``user.enable``, ``user.unlock``, ``user.end_sessions``; R19) with the
admin as actor. Passwords go through the password policy and the Argon2id pool (503 with
``Retry-After`` when it is full). An unknown user is 400 (as unlock always answered); disabling
the last enabled admin is 409. Disabling a user, resetting their password or ending their
sessions ends their open live feed at its next event (the feed re-checks the session).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, get, post
from litestar.params import FromPath, JSONBody

from kernel.auth.accounts import UserStatus
from mobile_api.schemas import PasswordIn, UnlockOut, UserChangeOut, UserIn
from mobile_api.views import NO_STORE, context


@get("/api/users", tags=["users"])
async def list_users(request: Request[Any, Any, Any]) -> Response[list[UserStatus]]:
    """Every account: role, enabled, its stored failed-login count and lock, and how many
    clients this server now throttles for it. No password hash."""
    backend, _ = context(request)
    return Response(await backend.accounts.statuses(), headers=NO_STORE)


@post("/api/users", status_code=201, tags=["users"])
async def create_user(data: JSONBody[UserIn], request: Request[Any, Any, Any]
                      ) -> Response[UserChangeOut]:
    """Create an account with a role and a first password (the password policy applies:
    400 with the reason). 400 when the name exists."""
    backend, s = context(request)
    await backend.accounts.add_user(data.name, data.role, data.password, s.user)
    await backend.governance.log_action(s.user, "user.add", {"user": data.name},
                                        {"role": data.role})
    return Response(UserChangeOut(user=data.name, action="add"), status_code=201,
                    headers=NO_STORE)


async def _audited(request: Request[Any, Any, Any], name: str, action: str, ended: int,
                   details: dict[str, object] | None = None) -> Response[UserChangeOut]:
    backend, s = context(request)
    await backend.governance.log_action(s.user, f"user.{action}", {"user": name},
                                        {"sessions_ended": ended, **(details or {})})
    return Response(UserChangeOut(user=name, action=action, sessions_ended=ended),
                    headers=NO_STORE)


@post("/api/users/{name:str}/password", status_code=200, tags=["users"])
async def reset_password(name: FromPath[str], data: JSONBody[PasswordIn],
                         request: Request[Any, Any, Any]) -> Response[UserChangeOut]:
    """Set a new password (policy: 400 with the reason); every session of the user ends and
    its failed-login count is cleared."""
    backend, _ = context(request)
    ended = await backend.accounts.set_password(name, data.password)
    return await _audited(request, name, "passwd", ended)


@post("/api/users/{name:str}/disable", status_code=200, tags=["users"])
async def disable(name: FromPath[str], request: Request[Any, Any, Any]
                  ) -> Response[UserChangeOut]:
    """Disable the account: it cannot log in, every session ends, and its MQTT logins (one
    per enrolled device and per session of no device) are deleted from the broker at once,
    cutting open connections, as revoking a device does (audited with ``mqtt_deleted``; a
    broker that cannot be reached is audited ``user.mqtt_revoke_failed`` and
    ``mqtt_revoked`` is false: disable again to retry). 409 for the last enabled admin."""
    backend, s = context(request)
    details = await backend.devices.disable_user(backend.accounts, name, s.user)
    ended = details.pop("sessions_ended")
    assert isinstance(ended, int)
    return await _audited(request, name, "disable", ended, details)


@post("/api/users/{name:str}/enable", status_code=200, tags=["users"])
async def enable(name: FromPath[str], request: Request[Any, Any, Any]
                 ) -> Response[UserChangeOut]:
    """Enable a disabled account again (its password is unchanged)."""
    backend, _ = context(request)
    await backend.accounts.set_enabled(name, True)
    return await _audited(request, name, "enable", 0)


@delete("/api/users/{name:str}/sessions", status_code=200, tags=["users"])
async def end_sessions(name: FromPath[str], request: Request[Any, Any, Any]
                       ) -> Response[UserChangeOut]:
    """End every session of the user (a lost device): they log in again."""
    backend, _ = context(request)
    ended = await backend.accounts.end_sessions(name)
    return await _audited(request, name, "end_sessions", ended)


@post("/api/users/{name:str}/unlock", status_code=200, tags=["users"])
async def unlock(name: FromPath[str], request: Request[Any, Any, Any]) -> Response[UnlockOut]:
    """Clear every failed-login count and lock of the account ``name`` (all clients); its
    sessions are untouched. Audited as ``user.unlock`` (R19). 400 for no such user."""
    backend, session = context(request)
    failures = await backend.accounts.unlock(name)
    await backend.governance.log_action(session.user, "user.unlock", {"user": name},
                                        {"failures": failures})
    return Response(UnlockOut(user=name, failures_cleared=failures), headers=NO_STORE)


HANDLERS = [list_users, create_user, reset_password, disable, enable, end_sessions, unlock]
