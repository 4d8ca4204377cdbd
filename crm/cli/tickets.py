"""``python -m crm tickets add|note|status``: the service desk's workflow from the command line.

``add`` acts as the built-in system administrator; ``note`` and ``status`` act as ``--as USER`` (an active
user, so the conversation and the audit log name them) or as ``system``. A refusal is one line
``error: …`` on standard error and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from sqlalchemy import Engine

from crm.db import init_database
from crm.permissions import Actor, PermissionDeniedError
from crm.schema import PRIORITIES, TICKET_CATEGORIES, TICKET_STATUSES
from crm.service.numbering import TicketNumberError
from crm.service.queue import find_customer, find_order, find_user
from crm.service.tickets import TicketError, add_note, change_status, create_ticket

__all__ = ["register"]

Handler = Callable[[argparse.Namespace, Engine], int]
# The CLI's note types and the stored ones: a reply goes to the customer, an internal note stays with staff.
NOTE_TYPES = {"reply": "customer_reply", "internal": "internal"}


def _actor(engine: Engine, username: str | None) -> Actor:
    return Actor.system() if username is None else find_user(engine, username)


def _add(args: argparse.Namespace, engine: Engine) -> int:
    customer_id = find_customer(engine, args.customer)
    order_id = None if args.order is None else find_order(engine, args.order, customer_id)
    number = create_ticket(
        engine,
        Actor.system(),
        customer_id=customer_id,
        subject=args.subject,
        priority=args.priority,
        category=args.category,
        order_id=order_id,
        body=args.body,
    )
    print(number)
    return 0


def _note(args: argparse.Namespace, engine: Engine) -> int:
    if args.type not in NOTE_TYPES:
        raise TicketError(f"Unknown note type “{args.type}” (reply or internal).")
    add_note(engine, _actor(engine, args.as_user), args.number, note_type=NOTE_TYPES[args.type], body=args.body)
    print(f"{'Reply' if args.type == 'reply' else 'Internal note'} added to {args.number}.")
    return 0


def _status(args: argparse.Namespace, engine: Engine) -> int:
    change_status(engine, _actor(engine, args.as_user), args.number, args.status, note=args.note)
    print(f"{args.number} is now {args.status.replace('_', ' ')}.")
    return 0


def _tickets(args: argparse.Namespace, engine: Engine) -> int:
    init_database(engine)
    try:
        return args.tickets_handler(args, engine)
    except (TicketError, TicketNumberError, PermissionDeniedError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def register(commands: argparse._SubParsersAction, handlers: dict[str, Handler]) -> None:
    tickets = commands.add_parser("tickets", help="open tickets, add replies and notes, change their status")
    actions = tickets.add_subparsers(dest="tickets_command", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="open a ticket; prints its number")
    add.add_argument("--customer", required=True, metavar="EMAIL_OR_ID", help="the customer's email or id")
    add.add_argument("--subject", required=True, metavar="S")
    # No argparse choices: a bad value is refused by the workflow in one line (exit 2), not a usage dump.
    add.add_argument("--priority", default="medium", metavar="P", help=", ".join(PRIORITIES))
    add.add_argument("--category", default="general", metavar="C", help=", ".join(TICKET_CATEGORIES))
    add.add_argument("--order", metavar="NUMBER", help="order number the ticket is about (the customer's own)")
    add.add_argument("--body", metavar="TEXT", help="what the customer wrote")
    add.set_defaults(tickets_handler=_add)

    note = actions.add_parser("note", help="add a reply to the customer or an internal note")
    note.add_argument("number", metavar="NUMBER")
    note.add_argument("--type", required=True, metavar="reply|internal")
    note.add_argument("--body", required=True, metavar="TEXT")
    note.add_argument("--as", dest="as_user", metavar="USER", help="the user who writes it (default: system)")
    note.set_defaults(tickets_handler=_note)

    status = actions.add_parser("status", help="change a ticket's status (resolving needs --note)")
    status.add_argument("number", metavar="NUMBER")
    status.add_argument("status", metavar="STATUS", help=", ".join(TICKET_STATUSES))
    status.add_argument("--note", metavar="TEXT", help="the resolution when resolving; else kept as an internal note")
    status.add_argument("--as", dest="as_user", metavar="USER", help="the user who changes it (default: system)")
    status.set_defaults(tickets_handler=_status)

    handlers["tickets"] = _tickets
