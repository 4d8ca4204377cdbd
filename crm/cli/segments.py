"""``python -m crm segment preview|save|list``: customer segments from rule files (same code as the app).

``preview --rules FILE [--as-of DATE] [--json]`` prints the members (``{"count": N,
"customer_ids": [...]}`` with ``--json``); ``save NAME --rules FILE`` stores a segment;
``list`` shows the saved ones. A bad rule file, a taken name or a refused role prints one
line ``error: ...`` and exits 2. Writes act as the system administrator unless ``--as USER``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from crm.auth import active_actor
from crm.db import init_database
from crm.marketing.rules import RuleError, RuleTree, count_conditions, parse_rules
from crm.marketing.segments import SegmentError, list_segments, save_segment, segment_members
from crm.permissions import Actor, PermissionDeniedError

__all__ = ["register"]


class _RefusedError(Exception):
    """A problem reported as one ``error:`` line with exit code 2."""


def _rules_file(path: str) -> RuleTree:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise _RefusedError(f"cannot read the rule file {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise _RefusedError(f"the rule file {path} is not UTF-8 text") from None
    try:
        return parse_rules(text)
    except RuleError as error:
        raise _RefusedError(f"{path}: {error}") from None


def _as_of(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _actor(engine: Engine, username: str | None) -> Actor:
    if not username:
        return Actor.system()
    actor = active_actor(engine, username.strip().lower())
    if actor is None:
        raise _RefusedError(f"no active user {username!r}")
    return actor


def _preview(args: argparse.Namespace, engine: Engine) -> int:
    tree = _rules_file(args.rules)
    members = segment_members(engine, tree, as_of=args.as_of)
    if args.json:
        print(json.dumps({"count": len(members), "customer_ids": members}))
        return 0
    conditions = count_conditions(tree)
    people = "customer matches" if len(members) == 1 else "customers match"
    print(f"{len(members):,} {people} ({conditions} condition{'' if conditions == 1 else 's'}).")
    if members:
        shown = ", ".join(str(customer_id) for customer_id in members[:20])
        print(f"customer ids: {shown}{' …' if len(members) > 20 else ''}")
    return 0


def _save(args: argparse.Namespace, engine: Engine) -> int:
    tree = _rules_file(args.rules)
    actor = _actor(engine, args.as_user)
    segment_id = save_segment(engine, actor, args.name, tree, description=args.description)
    print(f"Saved segment #{segment_id} “{' '.join(args.name.split())}”.")
    return 0


def _list(args: argparse.Namespace, engine: Engine) -> int:
    saved = list_segments(engine)
    if args.json:
        print(
            json.dumps(
                [{"id": segment.id, "name": segment.name, "rules": segment.rules} for segment in saved],
                ensure_ascii=False,
            )
        )
        return 0
    if not saved:
        print("No saved segments yet: python -m crm segment save NAME --rules FILE")
        return 0
    print(f"{'id':>5}  {'campaigns':>9}  name")
    for segment in saved:
        print(f"{segment.id:>5}  {segment.campaign_count:>9}  {segment.name}")
    return 0


def _segment(args: argparse.Namespace, engine: Engine) -> int:
    init_database(engine)
    try:
        return int(args.segment_handler(args, engine))
    except (_RefusedError, RuleError, SegmentError, PermissionDeniedError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def register(commands: Any, handlers: dict[str, Any]) -> None:
    segment = commands.add_parser("segment", help="preview, save and list customer segments")
    actions = segment.add_subparsers(dest="segment_command", required=True, metavar="ACTION")

    preview = actions.add_parser("preview", help="the customers a rule file selects")
    preview.add_argument("--rules", required=True, metavar="FILE", help="JSON rule file ({'all': [...]} …)")
    preview.add_argument("--as-of", type=_as_of, help="'today' for age and days-since fields (YYYY-MM-DD)")
    preview.add_argument("--json", action="store_true", help='print {"count": N, "customer_ids": [...]}')
    preview.set_defaults(segment_handler=_preview)

    save = actions.add_parser("save", help="save a rule file as a named segment")
    save.add_argument("name")
    save.add_argument("--rules", required=True, metavar="FILE")
    save.add_argument("--description")
    save.add_argument("--as", dest="as_user", metavar="USER", help="act as this user (default: system)")
    save.set_defaults(segment_handler=_save)

    listing = actions.add_parser("list", help="the saved segments")
    listing.add_argument("--json", action="store_true", help="print [{id, name, rules}, ...]")
    listing.set_defaults(segment_handler=_list)

    handlers["segment"] = _segment
