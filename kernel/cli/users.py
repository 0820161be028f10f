"""``pinchpoint user``: add, change password, disable, enable, unlock, end the sessions of and
list API users (R23). The admin screens of the PWA make the same calls, audited under the same
action names. Disabling the last enabled admin is refused (exit 5).

``disable`` also deletes the user's MQTT logins from the broker at once, as the admin screen
does (issue 14): the broker is the one the ``[[services]]`` http section's ``mqtt`` names,
reached through that service's class from the registry (the kernel imports no service).

``unlock`` clears an account's failed-login counts and locks for every client (issue 12,
finding 1); a running server forgets its in-memory counts for the name at the name's next
login (:meth:`kernel.auth.accounts.Accounts.unlock`). Sessions are untouched.

Passwords are prompted twice without echo, or read from standard input with
``--password-stdin`` (scripts). Every change is audited (R19) as the CLI actor.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from kernel import registry
from kernel.auth.accounts import Accounts
from kernel.auth.devices import Devices
from kernel.auth.passwords import Passwords
from kernel.cli.common import add_config_option, load_config
from kernel.config import Config
from kernel.delivery.broker_accounts import BrokerAccounts
from kernel.domain.governance import open_governance
from kernel.errors import PinchpointError


class UsageError(PinchpointError):
    exit_code = 2


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        text = sys.stdin.readline().rstrip("\r\n")
        if not text:
            raise UsageError("no password on standard input")
        return text
    first = getpass.getpass(f"password for {args.name}: ")
    if first != getpass.getpass("again: "):
        raise UsageError("the passwords differ")
    return first


async def broker_accounts_of(config: Config) -> BrokerAccounts | None:
    """The officers' broker accounts of the first configured service whose class can make
    them (``service.http`` with ``mqtt``: its ``broker_accounts``); ``None`` without MQTT."""
    for section in config.services:
        make = getattr(registry.load("service", section.type), "broker_accounts", None)
        if make is None:
            continue
        accounts = await make(section.settings, config.data_dir)
        if accounts is not None:
            assert isinstance(accounts, BrokerAccounts)
            return accounts
    return None


async def _run(args: argparse.Namespace) -> int:
    config = load_config(args)
    gov = await open_governance(config)
    try:
        # Argon2 parameters travel inside each hash, so the API verifies what this made.
        accounts = Accounts(gov.store, gov.ctx.clock, Passwords())
        actor = f"cli:{getpass.getuser()}"
        action = args.user_command
        if action == "list":
            for u in await accounts.list_users():
                state = "enabled" if u.enabled else "disabled"
                print(f"{u.name}\t{u.role}\t{state}\tcreated {u.created_at:%Y-%m-%d} "
                      f"by {u.created_by}")
            return 0
        if action == "add":
            await accounts.add_user(args.name, args.role, _password(args), actor)
            details: dict[str, object] = {"role": args.role}
        elif action == "unlock":
            details = {"failures": await accounts.unlock(args.name)}
        elif action == "passwd":
            details = {"sessions_ended": await accounts.set_password(args.name,
                                                                     _password(args))}
        elif action == "end-sessions":
            action = "end_sessions"
            details = {"sessions_ended": await accounts.end_sessions(args.name)}
        elif action == "disable":
            devices = Devices(gov.store, gov.ctx.clock, await broker_accounts_of(config))
            details = await devices.disable_user(accounts, args.name, actor)
        else:
            details = {"sessions_ended": await accounts.set_enabled(args.name,
                                                                    action == "enable")}
        # the API's admin routes write the same actions (mobile_api.routes.users)
        await gov.log_action(actor, f"user.{action}", {"user": args.name}, details)
        print(f"user {args.name}: {action} done")
        return 0
    finally:
        await gov.close()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``pinchpoint user ...`` (entry point ``pinchpoint.commands``: ``users``)."""
    from typing import get_args

    from kernel.auth.roles import Role

    user = subparsers.add_parser("user", help="manage API users (officers, operators, ...)")
    sub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="create a user")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=get_args(Role))
    passwd = sub.add_parser("passwd", help="set a user's password (ends their sessions)")
    passwd.add_argument("name")
    for p in (add, passwd):
        p.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of standard input")
    for name, text in (("disable", "disable a user (ends their sessions)"),
                       ("enable", "enable a disabled user"),
                       ("unlock", "clear a user's failed-login locks (all clients)"),
                       ("end-sessions", "end every session of a user (a lost device)")):
        p = sub.add_parser(name, help=text)
        p.add_argument("name")
    listing = sub.add_parser("list", help="list users")
    for p in (add, passwd, listing, *(sub.choices[n] for n in ("disable", "enable", "unlock",
                                                                   "end-sessions"))):
        add_config_option(p)
        p.set_defaults(handler=_run)
