"""``python -m crm users add|list|set-role|reset-password|deactivate|reactivate``.

The command line acts as the built-in system administrator (whoever can run it can read
the database anyway); every change is still written to the audit log as ``system``.
On a fresh install ``users add NAME`` creates the first user, who is always an admin.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable

from sqlalchemy import Engine

from crm.auth import (
    MIN_PASSWORD_LENGTH,
    UserError,
    create_user,
    deactivate_user,
    has_users,
    list_users,
    reactivate_user,
    reset_password,
    set_role,
)
from crm.db import init_database
from crm.permissions import Actor
from crm.schema import ROLES

__all__ = ["register"]

Handler = Callable[[argparse.Namespace, Engine], int]


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _read_password(args: argparse.Namespace, username: str) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise UserError("--password-stdin given but nothing was read from standard input.")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UserError("No terminal to ask for the password; pipe it in with --password-stdin.")
    first = getpass.getpass(f"Password for {username} (at least {MIN_PASSWORD_LENGTH} characters): ")
    if getpass.getpass("Repeat the password: ") != first:
        raise UserError("The two passwords differ; nothing was changed.")
    return first


def _add(args: argparse.Namespace, engine: Engine) -> int:
    first_user = not has_users(engine)
    role = args.role
    if first_user:
        if role not in (None, "admin"):
            raise UserError("The first user must be an admin (leave out --role or use --role admin).")
        role = "admin"
    elif role is None:
        raise UserError(f"--role is required: one of {', '.join(ROLES)}.")
    password = _read_password(args, args.username)
    create_user(engine, Actor.system(), args.username, password, role, full_name=args.name, email=args.email)
    note = " (the first user is the administrator)" if first_user else ""
    print(f"Created {args.username.strip().lower()} with role {role}{note}.")
    return 0


def _list(args: argparse.Namespace, engine: Engine) -> int:
    people = list_users(engine, Actor.system())
    if not people:
        print("No users yet. Create the administrator with: python -m crm users add <username>")
        return 0
    print(f"{'username':<20}{'role':<10}{'active':<8}{'last sign-in (UTC)':<22}name")
    for person in people:
        last = person.last_login_at.strftime("%Y-%m-%d %H:%M") if person.last_login_at else "never"
        active = "yes" if person.is_active else "no"
        print(f"{person.username:<20}{person.role:<10}{active:<8}{last:<22}{person.full_name}")
    return 0


def _set_role(args: argparse.Namespace, engine: Engine) -> int:
    set_role(engine, Actor.system(), args.username, args.role)
    print(f"{args.username} now has role {args.role}.")
    return 0


def _reset_password(args: argparse.Namespace, engine: Engine) -> int:
    password = _read_password(args, args.username)
    reset_password(engine, Actor.system(), args.username, password)
    print(f"New password set for {args.username}; their open sessions were signed out.")
    return 0


def _deactivate(args: argparse.Namespace, engine: Engine) -> int:
    deactivate_user(engine, Actor.system(), args.username)
    print(f"{args.username} can no longer sign in.")
    return 0


def _reactivate(args: argparse.Namespace, engine: Engine) -> int:
    reactivate_user(engine, Actor.system(), args.username)
    print(f"{args.username} can sign in again.")
    return 0


def _users(args: argparse.Namespace, engine: Engine) -> int:
    init_database(engine)
    try:
        return args.users_handler(args, engine)
    except UserError as error:
        return _fail(str(error))
    except (KeyboardInterrupt, EOFError):
        return _fail("cancelled; nothing was changed.")


def register(commands: argparse._SubParsersAction, handlers: dict[str, Handler]) -> None:
    users = commands.add_parser("users", help="manage who can sign in, and their roles")
    actions = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")

    def add_password_option(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from the first line of standard input instead of prompting",
        )

    add = actions.add_parser("add", help="create a user (the first user is the admin)")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, help="required once an admin exists")
    add.add_argument("--name", help="full name shown in the app (default: the username)")
    add.add_argument("--email")
    add_password_option(add)
    add.set_defaults(users_handler=_add)

    actions.add_parser("list", help="list users and roles").set_defaults(users_handler=_list)

    role = actions.add_parser("set-role", help="give a user another role")
    role.add_argument("username")
    role.add_argument("role", choices=ROLES)
    role.set_defaults(users_handler=_set_role)

    reset = actions.add_parser("reset-password", help="set a new password (signs the user out everywhere)")
    reset.add_argument("username")
    add_password_option(reset)
    reset.set_defaults(users_handler=_reset_password)

    deactivate = actions.add_parser("deactivate", help="stop a user from signing in")
    deactivate.add_argument("username")
    deactivate.set_defaults(users_handler=_deactivate)

    reactivate = actions.add_parser("reactivate", help="let a deactivated user sign in again")
    reactivate.add_argument("username")
    reactivate.set_defaults(users_handler=_reactivate)

    handlers["users"] = _users
