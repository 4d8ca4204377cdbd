"""``python -m crm loyalty check|rebuild|redeem``: the points ledger's maintenance and redemptions.

``check`` lists every customer whose balance is not the sum of their ledger rows (or is below
zero) and exits 1, else prints one OK line and exits 0. ``rebuild`` sets those balances from
the ledger (audited as ``system``). ``redeem`` takes points from a customer with a reason; a
refused redemption prints one ``error:`` line and exits 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from sqlalchemy import Engine

from crm.db import init_database
from crm.loyalty import LoyaltyError, balance_problems, find_customer, rebuild_balances, redeem_points
from crm.permissions import Actor

__all__ = ["register"]

Handler = Callable[[argparse.Namespace, Engine], int]
# Exit code of a refused or invalid request (HELPERS/CLI contract); 1 means "check found problems".
REFUSED = 2


def _check(args: argparse.Namespace, engine: Engine) -> int:
    problems = balance_problems(engine)
    if not problems:
        print("OK: every customer's points balance equals the sum of their ledger rows and none is below zero.")
        return 0
    for problem in problems:
        print(
            f"customer {problem.customer_id} ({problem.email or 'no email'}): balance {problem.stored:,}, "
            f"ledger sum {problem.ledger:,}"
        )
    print(f"{len(problems):,} customer(s) break the invariant; `python -m crm loyalty rebuild` fixes them.")
    return 1


def _rebuild(args: argparse.Namespace, engine: Engine) -> int:
    fixed = rebuild_balances(engine, Actor.system())
    for problem in fixed:
        print(f"customer {problem.customer_id}: balance {problem.stored:,} -> {max(problem.ledger, 0):,}")
    print(f"Rebuilt {len(fixed):,} balance(s) from the ledger." if fixed else "Nothing to rebuild: all balances agree.")
    return 0


def _redeem(args: argparse.Namespace, engine: Engine) -> int:
    try:
        with engine.connect() as connection:
            customer_id = find_customer(connection, args.customer)
        entry = redeem_points(engine, Actor.system(), customer_id, args.points, args.reason)
    except LoyaltyError as error:
        print(f"error: {error}", file=sys.stderr)
        return REFUSED
    print(f"Redeemed {-entry.points:,} points of customer {customer_id}.")
    return 0


def _loyalty(args: argparse.Namespace, engine: Engine) -> int:
    init_database(engine)
    return args.loyalty_handler(args, engine)


def register(commands: argparse._SubParsersAction, handlers: dict[str, Handler]) -> None:
    loyalty = commands.add_parser("loyalty", help="loyalty points: check or rebuild balances, redeem points")
    actions = loyalty.add_subparsers(dest="loyalty_command", required=True, metavar="ACTION")
    actions.add_parser(
        "check", help="list customers whose balance differs from their ledger (exit 1), else OK"
    ).set_defaults(loyalty_handler=_check)
    actions.add_parser("rebuild", help="set every broken balance to its ledger sum (audited)").set_defaults(
        loyalty_handler=_rebuild
    )
    redeem = actions.add_parser("redeem", help="take points from a customer with a reason (never below zero)")
    redeem.add_argument("--customer", required=True, metavar="EMAIL_OR_ID")
    redeem.add_argument("--points", required=True, type=int, metavar="N")
    redeem.add_argument("--reason", required=True, metavar="TEXT")
    redeem.set_defaults(loyalty_handler=_redeem)
    handlers["loyalty"] = _loyalty
