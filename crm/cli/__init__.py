"""Command-line interface: ``python -m crm COMMAND``.

Each command lives in a small function; features add their own subcommands from a module of
this package (``crm/cli/*.py``) listed in ``FEATURE_MODULES``, so this file stays a table of contents.
The database is ``CRM_DATABASE_URL`` (default ``sqlite:///data/crm.db``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import date

from sqlalchemy import Engine

from crm.db import UNAVAILABLE_ERRORS, describe_database_error, init_database, is_empty, make_engine

__all__ = ["build_parser", "main"]

Handler = Callable[[argparse.Namespace, Engine], int]

# One line that scripts (scripts/run_app.sh) may rely on: --if-empty found data and changed nothing.
SKIPPED_DEMO_MESSAGE = "skipped: database already holds data"


def _init(args: argparse.Namespace, engine: Engine) -> int:
    for repair in init_database(engine):
        print(repair.describe())
    print(f"Schema is up to date on {engine.url.render_as_string(hide_password=True)}.")
    return 0


def _demo(args: argparse.Namespace, engine: Engine) -> int:
    from crm.demo import DEMO_ACCOUNTS, DemoDataExistsError, DemoSize, generate_demo
    from crm.settings import get_settings

    init_database(engine)
    if args.if_empty and not is_empty(engine):
        print(SKIPPED_DEMO_MESSAGE)
        return 0
    # The demo sign-ins have public passwords: only in demo mode or when asked for by name.
    with_demo_accounts = args.with_demo_accounts or get_settings().demo_mode
    try:
        summary = generate_demo(
            engine,
            DemoSize(customers=args.customers, orders=args.orders),
            seed=args.seed,
            end_date=args.end_date,
            replace=args.replace,
            with_demo_accounts=with_demo_accounts,
        )
    except DemoDataExistsError as error:
        if args.if_empty:  # data arrived between the check and the load: still nothing to do
            print(SKIPPED_DEMO_MESSAGE)
            return 0
        print(f"error: {error}", file=sys.stderr)
        return 1
    except ValueError as error:  # a size the generator cannot build: say why, no traceback
        print(f"error: {error}", file=sys.stderr)
        return 2
    for table, count in summary.rows.items():
        print(f"{table:<22}{count:>12,}")
    print(f"Demo data loaded in {summary.seconds:.1f} s.")
    sign_ins = [f"{name} / {DEMO_ACCOUNTS[name][1]}" for name in summary.accounts_created if name in DEMO_ACCOUNTS]
    if sign_ins:
        print("Demo sign-ins (public passwords, for demos only): " + ", ".join(sign_ins) + ".")
    elif with_demo_accounts:
        print("Demo sign-ins: the usernames already exist and were left as they were.")
    else:
        print(
            "No sign-in account was created (demo accounts need CRM_DEMO_MODE=1 or --with-demo-accounts); "
            "add one with: python -m crm users add USERNAME"
        )
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number")
    return value


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Handler]]:
    parser = argparse.ArgumentParser(prog="python -m crm", description="Pulse CRM command line.")
    parser.add_argument("--database-url", help="overrides CRM_DATABASE_URL")
    commands = parser.add_subparsers(dest="command", required=True)
    handlers: dict[str, Handler] = {}

    commands.add_parser("init", help="create or migrate the schema")
    handlers["init"] = _init

    demo = commands.add_parser("demo", help="load deterministic demo data")
    demo.add_argument("--customers", type=_positive, default=2_000)
    demo.add_argument("--orders", type=_positive, default=20_000)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--end-date", type=date.fromisoformat, default=None, help="last day of the data (YYYY-MM-DD)")
    demo.add_argument("--replace", action="store_true", help="delete existing business data first (keeps users)")
    demo.add_argument("--if-empty", action="store_true", help="skip (exit 0) when the database already holds data")
    demo.add_argument(
        "--with-demo-accounts",
        action="store_true",
        help="also create the demo sign-ins admin, manager, analyst, agent (public passwords; "
        "implied by CRM_DEMO_MODE=1); existing usernames are never changed",
    )
    handlers["demo"] = _demo

    for register in _feature_registrations():
        register(commands, handlers)
    return parser, handlers


# One module per feature, each with ``register(commands, handlers)``; one line each so features merge cleanly.
FEATURE_MODULES = (
    "crm.cli.users",
    "crm.cli.data",
    "crm.cli.clv",
    "crm.cli.segments",
    "crm.cli.campaigns",
    "crm.cli.notifications",
    "crm.cli.tickets",
    "crm.cli.service",
    "crm.cli.loyalty",
    "crm.bench",
)


def _feature_registrations() -> list[Callable[[argparse._SubParsersAction, dict[str, Handler]], None]]:
    """Subcommands contributed by feature modules (users, import, export, clv, bench)."""
    import importlib

    registrations = []
    for module_name in FEATURE_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        registrations.append(module.register)
    return registrations


@contextlib.contextmanager
def _driver_noise_silenced() -> Iterator[None]:
    """While a command runs, nothing but the command itself writes to stderr.

    When the database goes away mid-command, psycopg2 prints a chained ``AdminShutdown`` /
    ``SystemError`` from its C code (through ``sys.excepthook``) when the session dies during a
    COPY, and the connection pool may log a failed reset; the user must read only the one
    ``error:`` line that follows. Configured logging still receives SQLAlchemy's records.
    """
    previous_hook = sys.excepthook
    sys.excepthook = lambda *_exc_info: None
    sqlalchemy_logger = logging.getLogger("sqlalchemy")
    quiet = logging.NullHandler()  # a handler, so Python's last-resort printer stays silent
    sqlalchemy_logger.addHandler(quiet)
    try:
        yield
    finally:
        sys.excepthook = previous_hook
        sqlalchemy_logger.removeHandler(quiet)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit code: 0 done, 1 refused input, 2 bad arguments or database unavailable."""
    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    engine: Engine | None = None
    with _driver_noise_silenced():
        try:
            # A bad URL, an unusable SQLite folder or a database that goes away mid-command: one line, exit 2.
            engine = make_engine(args.database_url) if args.database_url else make_engine()
            return handlers[args.command](args, engine)
        except UNAVAILABLE_ERRORS as error:
            print(f"error: {describe_database_error(error, engine)}", file=sys.stderr)
            return 2
        finally:
            if engine is not None:
                engine.dispose()
