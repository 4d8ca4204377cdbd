"""``python -m crm service stats`` and ``python -m crm kb search``: service numbers and knowledge-base search.

``service stats [--from DATE] [--to DATE] [--json]`` prints the service analytics summary of the tickets
created in the period (local days, ``CRM_TIMEZONE``), read as of the period's end (definitions in
crm/analytics/service.py). The JSON has exactly the keys of ``STATS_KEYS``; numbers without tickets are null.

``kb search QUERY [--json]`` searches published articles, drafts and the FAQ (as the system administrator).
A bad date or an empty query prints one line ``error: …`` on standard error and exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

from sqlalchemy import Engine

from crm.analytics.service import DEFINITIONS, service_summary
from crm.filters import Filters
from crm.permissions import Actor
from crm.service.knowledge import search_knowledge
from crm.service.search_sql import query_words
from crm.settings import get_settings

__all__ = ["STATS_KEYS", "register"]

STATS_KEYS = (
    "opened",
    "resolved",
    "backlog",
    "first_response_hours_median",
    "first_response_hours_p90",
    "resolution_hours_median",
    "resolution_hours_p90",
    "sla_attainment",
    "csat_average",
)


class _InputError(ValueError):
    pass


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _InputError(f"{option} {text!r} is not a date (YYYY-MM-DD)") from None


def _stats(args: argparse.Namespace, engine: Engine) -> int:
    try:
        start, end = _day(args.from_date, "--from"), _day(args.to_date, "--to")
        if start and end and start > end:
            raise _InputError(f"--from {start} is after --to {end}")
    except _InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    filters = Filters(start_date=start, end_date=end, timezone_name=get_settings().timezone_name)
    numbers = service_summary(engine, filters).as_dict()
    stats = {key: numbers[key] for key in STATS_KEYS}
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    period = f"{start or 'the first ticket'} to {end or 'now'}"
    print(f"Tickets created from {period}")
    for key in STATS_KEYS:
        value = stats[key]
        shown = "—" if value is None else f"{value:.1%}" if key == "sla_attainment" else f"{value:,}"
        print(f"{key.replace('_', ' '):<30}{shown:>12}")
    print(f"SLA: {numbers['sla_met']} met, {numbers['sla_missed']} missed. {DEFINITIONS['sla_attainment']}")
    return 0


def _search(args: argparse.Namespace, engine: Engine) -> int:
    if not query_words(args.query):
        print("error: the query has no words to search for", file=sys.stderr)
        return 2
    hits = search_knowledge(engine, Actor.system(), args.query, limit=args.limit)
    rows: list[dict[str, Any]] = [
        {
            "kind": hit.kind,
            "id": hit.item_id,
            "title": hit.title_text,
            "status": "published" if hit.is_published else "draft",
            "category": hit.category_path,
            "score": round(hit.score, 4),
        }
        for hit in hits
    ]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("No articles or FAQ entries match.")
    for row in rows:
        print(f"{row['kind']:<8}{row['id']:>6}  {row['status']:<10}{row['title']}")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number")
    return value


def register(commands: Any, handlers: dict[str, Any]) -> None:
    service = commands.add_parser("service", help="service desk statistics")
    service_commands = service.add_subparsers(dest="service_command", required=True)
    stats = service_commands.add_parser("stats", help="opened, resolved, backlog, response times, SLA, CSAT")
    stats.add_argument("--from", dest="from_date", default=None, help="first day of the period (YYYY-MM-DD)")
    stats.add_argument("--to", dest="to_date", default=None, help="last day of the period (YYYY-MM-DD)")
    stats.add_argument("--json", action="store_true", help="print JSON")
    handlers["service"] = _stats

    kb = commands.add_parser("kb", help="knowledge base")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True)
    search = kb_commands.add_parser("search", help="search articles and FAQ (full text, best first)")
    search.add_argument("query")
    search.add_argument("--limit", type=_positive, default=20)
    search.add_argument("--json", action="store_true", help="print JSON")
    handlers["kb"] = _search
