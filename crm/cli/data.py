"""``python -m crm import FILE ...`` and ``python -m crm export ENTITY ...`` (same code as the app)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from crm.db import init_database
from crm.imports import DUPLICATE_POLICIES, ENTITIES, WHITESPACE, ImportError_, list_mappings, load_mapping, run_import
from crm.permissions import Actor

__all__ = ["register"]

# Rejected rows printed on the terminal; the --report file has all of them.
SHOWN_REJECTIONS = 20


def _header_text(header_row: int, unit: str) -> str:
    return f"header on {unit} {header_row}" if header_row else f"no header {unit}"


# --delimiter spellings a shell makes easy: '\t' arrives as backslash + t, a real tab is awkward.
_DELIMITER_NAMES = {
    "\\t": "\t",
    "tab": "\t",
    "comma": ",",
    "semicolon": ";",
    "pipe": "|",
    "space": WHITESPACE,
    "spaces": WHITESPACE,
}


def _delimiter(text: str) -> str:
    """The --delimiter value: one character, or \\t / tab / comma / semicolon / pipe / space."""
    delimiter = _DELIMITER_NAMES.get(text.lower(), text)
    if len(delimiter) != 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a delimiter: give one character, or one of {', '.join(_DELIMITER_NAMES)}"
        )
    return delimiter


def _mapping_file(path: str) -> tuple[dict[str, str] | None, str | None]:
    """(mapping, None) from a JSON file {column: field}, or (None, what is wrong with it)."""
    try:
        mapping = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        return None, f"cannot read the mapping file {path}: {error.strerror or error}"
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, f"the mapping file {path} is not valid JSON ({error})"
    if not isinstance(mapping, dict) or not all(
        isinstance(column, str) and isinstance(field, str) for column, field in mapping.items()
    ):
        return None, f'the mapping file {path} must hold a JSON object {{"file column": "field or ignore"}}'
    return mapping, None


def _saved_mapping(engine: Engine, entity: str, name: str) -> tuple[dict[str, str] | None, str | None]:
    try:
        return load_mapping(engine, entity, name), None
    except KeyError:
        saved = list_mappings(engine, entity)
        choices = f" (saved: {', '.join(saved)})" if saved else " (none is saved yet: save one in the import wizard)"
        return None, f"no saved {entity} mapping called {name!r}{choices}"


def _import(args: argparse.Namespace, engine: Engine) -> int:
    init_database(engine)
    mapping, problem = None, None
    if args.mapping:
        mapping, problem = _mapping_file(args.mapping)
    elif args.saved_mapping:
        mapping, problem = _saved_mapping(engine, args.entity, args.saved_mapping)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    try:
        report = run_import(
            engine,
            Path(args.file),
            entity=args.entity,
            mapping=mapping,
            on_duplicate=args.on_duplicate,
            dry_run=args.dry_run,
            actor=Actor.system(),
            encoding=args.encoding,
            sheet=args.sheet,
            header_row=args.header_row,
            delimiter=args.delimiter,
            award_points=not args.no_points,
        )
    except ImportError_ as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    detected = report.detected
    if detected["format"] == "csv":
        print(
            f"Read {args.file}: {detected['encoding']}, delimiter {detected['delimiter']!r}, "
            f"{_header_text(detected['header_row'], 'line')}."
        )
    else:
        print(f"Read {args.file}: sheet {detected['sheet']!r}, {_header_text(detected['header_row'], 'row')}.")
    for column, field in report.mapping.items():
        print(f"  {column:<30} -> {field}")
    for warning in report.warnings:
        print(f"warning: {warning}")
    if report.already_imported_at:
        print(f"note: this file was already imported on {report.already_imported_at}.")
    print(("Dry run, nothing written. " if report.dry_run else "") + report.summary())
    if report.created:
        print("Created on the way: " + ", ".join(f"{count:,} {name}" for name, count in report.created.items()))
    if report.not_provided:
        print(
            "Not provided (defaults used): "
            + ", ".join(f"{name} {count:,}" for name, count in report.not_provided.items())
        )
    for rejection in report.rejected[:SHOWN_REJECTIONS]:
        print(f"  row {rejection['row']}, {rejection['column'] or '-'}: {rejection['reason']}")
    if len(report.rejected) > SHOWN_REJECTIONS:
        print(f"  … and {len(report.rejected) - SHOWN_REJECTIONS:,} more (see --report)")
    if args.report:
        Path(args.report).write_text(report.to_json(), encoding="utf-8")
        print(f"Report written to {args.report}.")
    return 0


def _export(args: argparse.Namespace, engine: Engine) -> int:
    from crm.exports import EXPORTABLE_ENTITIES, export_entity

    if args.entity not in EXPORTABLE_ENTITIES:
        print(f"error: choose one of {', '.join(EXPORTABLE_ENTITIES)}", file=sys.stderr)
        return 1
    init_database(engine)
    try:
        rows = export_entity(engine, args.entity, file_format=args.format, actor=Actor.system(), out=Path(args.out))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{rows:,} {args.entity} written to {args.out} ({args.format}).")
    return 0


def register(commands: Any, handlers: dict[str, Any]) -> None:
    importer = commands.add_parser("import", help="import a CSV or Excel file (customers, orders, ...)")
    importer.add_argument("file", help="CSV or XLSX file")
    importer.add_argument("--entity", required=True, choices=list(ENTITIES))
    chosen_mapping = importer.add_mutually_exclusive_group()
    chosen_mapping.add_argument("--mapping", help='JSON file {file column: field or "ignore"}; default: suggested')
    chosen_mapping.add_argument("--saved-mapping", metavar="NAME", help="a mapping saved in the import wizard")
    importer.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")
    importer.add_argument(
        "--on-duplicate",
        choices=DUPLICATE_POLICIES,
        default="skip",
        help="rows whose key exists: skip, update (overwrite) or merge (fill blanks)",
    )
    importer.add_argument("--report", help="write the full report (every decision and rejection) as JSON")
    importer.add_argument("--encoding", help="CSV text encoding (default: detected)")
    importer.add_argument(
        "--delimiter",
        type=_delimiter,
        help="CSV delimiter: one character, or '\\t'/tab, comma, semicolon, pipe, space for aligned columns "
        "(default: detected)",
    )
    importer.add_argument(
        "--sheet",
        help="Excel sheet name (default: the sheet whose header row names the most of the entity's fields; "
        "on a tie, the one with the most filled cells)",
    )
    importer.add_argument("--header-row", type=int, help="1-based row of the header, 0 for none (default: detected)")
    importer.add_argument(
        "--no-points",
        action="store_true",
        help="delivered orders earn no loyalty points (a history whose points are already in the imported balances)",
    )
    handlers["import"] = _import

    exporter = commands.add_parser("export", help="export a table as CSV or XLSX (formula-safe)")
    exporter.add_argument("entity", help="customers, orders, order_items, transactions or products")
    exporter.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    exporter.add_argument("--out", required=True, help="file to write")
    handlers["export"] = _export
