"""``run_import``: read, map, validate, de-duplicate and write one file in ONE transaction.

The whole import — new rows, updates, customers/products created on the way and the
audit row — commits together or not at all, so a failure (or a killed process) leaves
nothing half-written. A dry run does exactly the same work and rolls back, so the
preview's counts are the real ones.

Re-running a file imports nothing twice: rows are matched against the database by their
keys (customers: external id, normalised email, digits of the phone; orders, transactions
and products: their number / SKU) and the file's SHA-256 is remembered in the audit log,
so rows without any key are recognised too.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from crm.audit import record_audit
from crm.bulk import bulk_insert
from crm.db import UNAVAILABLE_ERRORS, DatabaseUnavailable, describe_database_error
from crm.imports.fields import IGNORE, FieldSpec, fields_for
from crm.imports.mapping import check_mapping, suggest_mapping
from crm.imports.reading import ParsedFile, read_source
from crm.imports.validation import NOT_PROVIDED, parse_column
from crm.loyalty.ledger import Entry, OrderStatusChange, apply_order_status_changes, book
from crm.permissions import Actor, Permission, require
from crm.schema import audit_log, utc_now

__all__ = ["DUPLICATE_POLICIES", "ImportError_", "ImportReport", "TypedRows", "run_import"]

DUPLICATE_POLICIES = ("skip", "update", "merge")
# Rows of the typed file shown in the wizard's preview table.
PREVIEW_ROWS = 200


class ImportError_(ValueError):  # noqa: N801, N818 - "ImportError" is a builtin; this one is about data
    """The import cannot run (bad mapping, unreadable file, database refused); nothing was written."""


@dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do), row by row."""

    entity: str
    file_name: str | None = None
    dry_run: bool = False
    on_duplicate: str = "skip"
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    merged: int = 0
    skipped_duplicates: int = 0
    # Rows folded into a record begun on an earlier row of the file: more items of an order,
    # or a repeat of a customer/number/SKU whose values were combined (update/merge).
    combined: int = 0
    # Orders: rows that carry an order item (a SKU), whichever order they belong to.
    items_read: int = 0
    # One entry per invalid cell: {"row": file row, "column": file column, "reason": text}.
    rejected: list[dict[str, Any]] = field(default_factory=list)
    # Values imported but read one of several ways, or columns left out: {"column", "warning", "rows"}
    # (every affected file row; ``warnings`` holds the same as sentences with the first rows).
    warning_rows: list[dict[str, Any]] = field(default_factory=list)
    # One entry per data row: {"row", "decision": insert|update|merge|skip|reject, "reason"?, "target"?}.
    decisions: list[dict[str, Any]] = field(default_factory=list)
    # Field -> number of imported rows that left it blank (the default was used).
    not_provided: dict[str, int] = field(default_factory=dict)
    # Related rows created on the way: customers for orders, products for order items, brands...
    created: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    detected: dict[str, Any] = field(default_factory=dict)
    mapping: dict[str, str] = field(default_factory=dict)
    already_imported_at: str | None = None
    seconds: float = 0.0
    # The first rows as imported (typed values as text; blanks as "not provided"), for the preview.
    preview: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rejected_rows(self) -> int:
        """Rows not imported because at least one cell is invalid."""
        return len({rejection["row"] for rejection in self.rejected})

    def to_dict(self) -> dict[str, Any]:
        result = asdict(self)
        result["rejected_rows"] = self.rejected_rows
        return result

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent, default=str)

    def decisions_frame(self) -> pd.DataFrame:
        """Decisions as a table (row, decision, reason, target) for the wizard."""
        frame = pd.DataFrame(self.decisions, columns=["row", "decision", "reason", "target"])
        return frame.fillna("")

    def rejected_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rejected, columns=["row", "column", "reason"])

    def summary(self) -> str:
        """One sentence whose counts add up to the rows read."""
        verb = "would be" if self.dry_run else "were"
        items = f" ({self.items_read:,} order items)" if self.items_read else ""
        combined = f", {self.combined:,} combined with an earlier row" if self.combined else ""
        return (
            f"{self.rows_read:,} rows read{items}: {self.inserted:,} {verb} inserted, {self.updated:,} updated, "
            f"{self.merged:,} merged, {self.skipped_duplicates:,} skipped as duplicates{combined}, "
            f"{self.rejected_rows:,} rejected."
        )


@dataclass
class TypedRows:
    """The file's rows as typed values per field, with every invalid cell recorded."""

    entity: str
    specs: dict[str, FieldSpec]
    values: dict[str, pd.Series]  # every field of the entity (all-None when not mapped)
    normalized: dict[str, pd.Series]  # email/phone fields: their duplicate keys
    blank: dict[str, np.ndarray]
    mapped: dict[str, str]  # field -> file column
    row_numbers: np.ndarray
    rejected: np.ndarray  # rows with at least one invalid cell
    errors: list[dict[str, Any]]
    file_sha256: str
    already_imported_at: str | None = None
    # Values read one way of several: {"column", "warning", "rows"} (see ImportReport.warning_rows).
    warnings: list[dict[str, Any]] = field(default_factory=list)
    # Audit rows of the changes written so far (action, entity, entity_id, before_json,
    # after_json), bulk-inserted by ``run_import`` with the actor in the import's transaction.
    changes: list[pd.DataFrame] = field(default_factory=list)
    # Loyalty (crm.loyalty.ledger, applied by ``run_import`` with the actor): orders whose status the
    # import set or changed (id, before or None when new, after), and customers whose balance it
    # wrote (id, before, after). ``award_points`` False: the file's balances already hold the points.
    order_status_changes: list[tuple[int, str | None, str]] = field(default_factory=list)
    balance_changes: list[tuple[int, int, int]] = field(default_factory=list)
    award_points: bool = True

    def __len__(self) -> int:
        return len(self.row_numbers)

    def reject(self, mask: np.ndarray, column: str, reason: str | pd.Series, *, every_cell: bool = False) -> None:
        """Mark rows as rejected with a reason (a text or one text per row).

        ``every_cell`` records the reason on rows that are already rejected too (each invalid
        cell of a row is reported); otherwise a rule that follows from earlier ones (no
        customer, an order without amount) only speaks about rows still standing.
        """
        mask = np.asarray(mask, dtype=bool)
        if not every_cell:
            mask = mask & ~self.rejected
        positions = np.flatnonzero(mask)
        reasons = reason.to_numpy()[positions] if isinstance(reason, pd.Series) else [reason] * len(positions)
        self.errors.extend(
            {"row": int(self.row_numbers[position]), "column": column, "reason": str(text)}
            for position, text in zip(positions, reasons, strict=True)
        )
        self.rejected |= mask

    def column_of(self, field_name: str) -> str:
        """The file column mapped to ``field_name`` (or the field's label when it isn't mapped)."""
        return self.mapped.get(field_name, self.specs[field_name].label)


def _typed_rows(parsed: ParsedFile, mapping: dict[str, str], entity: str) -> TypedRows:
    specs = fields_for(entity)
    mapped = {field_name: column for column, field_name in mapping.items() if field_name not in (IGNORE, "", None)}
    count = len(parsed.frame)
    index = pd.RangeIndex(count)
    rows = TypedRows(
        entity, specs, {}, {}, {}, mapped, parsed.row_numbers, np.zeros(count, dtype=bool), [], parsed.sha256
    )
    # A line with more fields than the header is rejected as a whole: its cells cannot be
    # told apart, so they are not validated (and not reported) one by one.
    ragged = np.zeros(count, dtype=bool)
    if parsed.ragged:
        ragged = np.isin(parsed.row_numbers, list(parsed.ragged))
        reasons = pd.Series([parsed.ragged.get(int(line), "") for line in parsed.row_numbers], dtype=object)
        rows.reject(ragged, "", reasons)
    for name, spec in specs.items():
        if name not in mapped:
            rows.values[name] = pd.Series([None] * count, index=index, dtype=object)
            rows.blank[name] = np.ones(count, dtype=bool)
            if spec.kind in ("email", "phone"):
                rows.normalized[name] = rows.values[name]
            continue
        column = mapped[name]
        result = parse_column(parsed.frame[column].reset_index(drop=True), spec)
        rows.values[name] = result.values
        rows.blank[name] = result.blank
        if "normalized" in result.extra:
            rows.normalized[name] = result.extra["normalized"]
        for affected, warning in result.warnings:
            numbers = [int(number) for number in rows.row_numbers[affected & ~ragged]]
            if numbers:
                rows.warnings.append({"column": column, "warning": warning, "rows": numbers})
        if result.errors.mask.any():
            cells = parsed.frame[column].reset_index(drop=True)
            reasons = result.errors.reasons.astype(str) + " (" + cells.str.slice(0, 40).map(repr) + ")"
            rows.reject(result.errors.mask & ~ragged, column, reasons, every_cell=True)
    for name, spec in specs.items():
        if spec.required:
            missing = rows.blank[name] & ~ragged
            if name not in mapped:
                rows.reject(missing, spec.label, f"{spec.label} is required: map a column to it", every_cell=True)
            else:
                rows.reject(missing, mapped[name], f"{spec.label} is required but blank", every_cell=True)
    return rows


# Rows named in a warning sentence; the report's ``warning_rows`` lists them all.
SHOWN_WARNING_ROWS = 10


def _rows_text(numbers: list[int]) -> str:
    """ "row 4", "rows 2, 3" or "rows 2, 3, … 11 and 1,024 more"."""
    shown = ", ".join(str(number) for number in numbers[:SHOWN_WARNING_ROWS])
    more = f" and {len(numbers) - SHOWN_WARNING_ROWS:,} more" if len(numbers) > SHOWN_WARNING_ROWS else ""
    return f"row{'s' if len(numbers) > 1 else ''} {shown}{more}"


def _warning_sentence(entry: dict[str, Any]) -> str:
    return f"{entry['column']}: {entry['warning']} ({_rows_text(entry['rows'])})."


def _ignored_duplicates(parsed: ParsedFile, mapping: dict[str, str]) -> list[dict[str, Any]]:
    """Columns whose header repeats an earlier one and that are not imported, though they hold values."""
    entries = []
    for column, (header, position) in parsed.repeated_headers.items():
        if mapping.get(column, IGNORE) not in (IGNORE, "", None):
            continue
        filled = (parsed.frame[column] != "").to_numpy()
        if not filled.any():
            continue
        entries.append(
            {
                "column": column,
                "warning": f"column {position} repeats the header {header!r} and is not imported (only the "
                f"first {header!r} column is read); map it to a field, or rename it in the file, to keep its values",
                "rows": [int(number) for number in parsed.row_numbers[filled]],
            }
        )
    return entries


def _previous_import(connection: Connection, entity: str, sha256: str) -> str | None:
    at = connection.execute(
        select(audit_log.c.at)
        # entity_id IS NULL: the summary rows only, found through ix_audit_log_entity among the
        # per-row audit of every imported record.
        .where(
            audit_log.c.entity == entity,
            audit_log.c.entity_id.is_(None),
            audit_log.c.action == "import",
            audit_log.c.after_json.contains(sha256),
        )
        .order_by(audit_log.c.at)
        .limit(1)
    ).scalar_one_or_none()
    if at is None:
        return None
    return at.isoformat(sep=" ", timespec="minutes") if isinstance(at, datetime) else str(at)


def _serialise_imports(connection: Connection, entity: str) -> None:
    """Take the write lock first, so two imports of the same file never both see "not there yet".

    PostgreSQL: SHARE ROW EXCLUSIVE conflicts with itself and with other writers but not with
    readers. SQLite has one writer at a time: ``crm.db``'s engines begin with BEGIN IMMEDIATE,
    which takes it already; the write statement (one that changes no row) takes it for an
    engine made elsewhere too, before the duplicate checks rather than at the first insert.
    """
    if connection.dialect.name == "postgresql":
        tables = ["customers"] if entity == "customers" else ["customers", entity]
        for table in tables:  # always in the same order, so two imports cannot deadlock
            connection.exec_driver_sql(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
    else:
        connection.exec_driver_sql("UPDATE import_mappings SET id = id WHERE 0 = 1")


def _record_preview(report: ImportReport, rows: TypedRows, decisions: dict[int, dict[str, Any]]) -> None:
    shown = min(PREVIEW_ROWS, len(rows))
    # Mapped fields, fields filled from others (first/last name from a full name) and defaulted ones.
    names = [
        name
        for name, spec in rows.specs.items()
        if name in rows.mapped
        or not rows.blank[name].all()
        or (spec.default is not None and (not spec.needs or spec.needs in rows.mapped))
    ]
    for position in range(shown):
        row_number = int(rows.row_numbers[position])
        entry: dict[str, Any] = {"row": row_number}
        decision = decisions.get(row_number, {})
        entry["decision"] = decision.get("decision", "")
        entry["reason"] = decision.get("reason", "")
        for name in names:
            value = rows.values[name].iloc[position]
            if rows.blank[name][position]:
                default = rows.specs[name].default
                entry[name] = NOT_PROVIDED if default is None else f"{default} ({NOT_PROVIDED})"
            elif value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
                entry[name] = ""
            else:
                entry[name] = _preview_text(value, rows.specs[name])
        report.preview.append(entry)


def _preview_text(value: object, spec: FieldSpec) -> str:
    """A typed value as the preview shows it: whole numbers without ".0", money with cents."""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if spec.kind == "date" else value.isoformat(sep=" ")
    if isinstance(value, (float, np.floating)):
        if spec.kind == "integer":
            return str(int(value))
        if spec.kind == "money":
            return f"{value:.2f}"
        # Weights and sizes: their own decimals, without trailing zeros (1.250 kg -> 1.25).
        return f"{value:.{spec.scale if spec.scale is not None else 2}f}".rstrip("0").rstrip(".")
    return str(value)


def _count_not_provided(report: ImportReport, rows: TypedRows, imported: np.ndarray) -> None:
    for name, spec in rows.specs.items():
        if name not in rows.mapped and (spec.default is None or (spec.needs and spec.needs not in rows.mapped)):
            continue  # a field the file doesn't have at all is not "incomplete rows"
        count = int((rows.blank[name] & imported).sum())
        if count:
            report.not_provided[name] = count


def _write_row_audit(connection: Connection, actor: Actor, changes: list[pd.DataFrame]) -> None:
    """One audit row per created, updated or merged row, bulk-inserted (a 100k-row import stays fast)."""
    frames = [frame for frame in changes if not frame.empty]
    if not frames:
        return
    audit = pd.concat(frames, ignore_index=True)
    # One moment for the whole import, written as text in SQLAlchemy's storage format (which
    # PostgreSQL's COPY reads too): formatting it once beats formatting it per row.
    at = utc_now().strftime("%Y-%m-%d %H:%M:%S.%f")
    if connection.dialect.name != "sqlite":
        audit.insert(0, "at", at)
        audit.insert(1, "user_id", pd.array([actor.user_id] * len(audit), dtype="Int64"))
        audit.insert(2, "username", actor.username)
        bulk_insert(connection, audit_log, audit.astype({"at": object, "username": object}))
        return
    # SQLite: the rows are plain Python strings already, so they go to executemany as they are
    # (crm.bulk would inspect every cell for Decimals).
    names = ["at", "user_id", "username", *audit.columns]
    statement = f"INSERT INTO audit_log ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
    count = len(audit)
    columns = [[at] * count, [actor.user_id] * count, [actor.username] * count]
    columns += [audit[name].tolist() for name in audit.columns]
    connection.exec_driver_sql(statement, list(zip(*columns, strict=True)))


def _connection_lost(error: BaseException) -> bool:
    """True for a database that went away or is unusable (lost session, server down, SQLite lock timeout)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, UNAVAILABLE_ERRORS)


def _roll_back_quietly(transaction: Any) -> None:
    """Roll back if the connection still can; a dead session is rolled back by the server anyway."""
    if transaction is None or not transaction.is_active:
        return
    with contextlib.suppress(SQLAlchemyError):
        transaction.rollback()


def _close_quietly(connection: Connection) -> None:
    with contextlib.suppress(SQLAlchemyError):  # the session is gone; the pool drops the connection
        connection.close()


# handler(connection, rows, report, on_duplicate) -> mask of the rows that were inserted/updated/merged
Handler = Callable[[Connection, TypedRows, ImportReport, str], np.ndarray]


def _handler(entity: str) -> Handler:
    if entity == "customers":
        from crm.imports.customers import import_customers

        return import_customers
    if entity == "orders":
        from crm.imports.sales import import_orders

        return import_orders
    if entity == "transactions":
        from crm.imports.sales import import_transactions

        return import_transactions
    from crm.imports.products import import_products

    return import_products


def _book_loyalty(connection: Connection, rows: TypedRows, actor: Actor) -> None:
    """Ledger rows for imported balances (opening/adjustment) and for orders delivered or cancelled."""
    entries = [
        Entry(customer_id, after - before, "opening" if before == 0 else "adjustment", "Balance imported from a file")
        for customer_id, before, after in rows.balance_changes
        if after != before
    ]
    book(connection, entries, actor, balances_written=True)
    if rows.award_points and rows.order_status_changes:
        changes = [OrderStatusChange(*change) for change in rows.order_status_changes]
        apply_order_status_changes(connection, changes, actor)


def run_import(
    engine: Engine,
    source: Path | bytes,
    *,
    entity: str,
    mapping: dict[str, str] | None = None,
    on_duplicate: str = "skip",
    dry_run: bool = False,
    actor: Actor = Actor.system(),  # noqa: B008 - Actor is frozen, sharing the default is safe
    encoding: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    file_name: str | None = None,
    delimiter: str | None = None,
    award_points: bool = True,
) -> ImportReport:
    """Import ``source`` (a CSV/XLSX path or its bytes) as ``entity`` rows; return what happened.

    ``mapping`` maps file column -> field name (``"ignore"`` to skip a column); without it the
    suggested mapping is used. ``on_duplicate`` decides what happens to a row whose key is
    already in the file or the database: ``skip`` it, ``update`` the existing row with the
    file's non-blank values, or ``merge`` (fill only the existing row's blanks).
    ``award_points`` False (``import --no-points``): imported delivered orders earn no loyalty
    points, for a history whose points are already in the imported customers' balances.
    Raises ``ImportError_`` when nothing can be imported, and ``crm.db.DatabaseUnavailable`` (one
    line) when the database goes away during the import; nothing is written then.
    """
    require(actor, Permission.IMPORT_DATA)
    fields_for(entity)
    if on_duplicate not in DUPLICATE_POLICIES:
        raise ImportError_(f"on_duplicate must be one of {', '.join(DUPLICATE_POLICIES)}")
    started = time.perf_counter()
    try:
        parsed = read_source(
            source,
            encoding=encoding,
            delimiter=delimiter,
            sheet=sheet,
            header_row=header_row,
            file_name=file_name,
            entity=entity,
        )
    except (ValueError, OSError, KeyError) as error:
        raise ImportError_(f"Cannot read the file: {error}") from error
    if file_name is None and isinstance(source, (str, Path)):
        file_name = Path(source).name
    mapping = dict(mapping) if mapping is not None else suggest_mapping(parsed.columns, entity)
    problems = check_mapping(mapping, entity, parsed.columns)
    if problems:
        raise ImportError_(" ".join(problems))
    report = ImportReport(
        entity=entity,
        file_name=file_name,
        dry_run=dry_run,
        on_duplicate=on_duplicate,
        rows_read=len(parsed.frame),
        warnings=list(parsed.warnings),
        mapping=mapping,
        detected={
            "format": parsed.file_format,
            "encoding": parsed.encoding,
            "delimiter": parsed.delimiter,
            "header_row": parsed.header_row,
            "sheet": parsed.sheet,
            "sheets": parsed.sheets,
            "file_sha256": parsed.sha256,
        },
    )
    rows = _typed_rows(parsed, mapping, entity)
    report.warning_rows = [*_ignored_duplicates(parsed, mapping), *rows.warnings]
    report.warnings += [_warning_sentence(entry) for entry in report.warning_rows]
    rows.award_points = award_points
    handler = _handler(entity)
    connection: Connection | None = None
    transaction = None
    committing = False
    try:
        connection = engine.connect()
        transaction = connection.begin()
        _serialise_imports(connection, entity)
        rows.already_imported_at = _previous_import(connection, entity, parsed.sha256)
        report.already_imported_at = rows.already_imported_at
        imported = handler(connection, rows, report, on_duplicate)
        _book_loyalty(connection, rows, actor)
        report.rejected = sorted(rows.errors, key=lambda rejection: rejection["row"])
        decisions = {decision["row"]: decision for decision in report.decisions}
        _count_not_provided(report, rows, imported)
        _record_preview(report, rows, decisions)
        report.decisions.sort(key=lambda decision: decision["row"])
        _write_row_audit(connection, actor, rows.changes)
        report.seconds = time.perf_counter() - started
        record_audit(
            connection,
            actor,
            "import",
            entity,
            None,
            after={
                "file_name": file_name,
                "file_sha256": parsed.sha256,
                "inserted": report.inserted,
                "updated": report.updated,
                "merged": report.merged,
                "skipped_duplicates": report.skipped_duplicates,
                "combined": report.combined,
                "rejected_rows": report.rejected_rows,
                "on_duplicate": on_duplicate,
                "created": report.created,
            },
        )
        committing = not dry_run
        if dry_run:
            transaction.rollback()
        else:
            transaction.commit()
    except BaseException as error:
        _roll_back_quietly(transaction)
        if _connection_lost(error):
            # Whatever the phase (reading keys, copying rows, the audit row): the server rolls the
            # import back with the lost session, and the caller gets one line saying the database is
            # unavailable (the CLI's exit code 2), never a traceback. Lost during the commit itself,
            # the outcome is unknown: say so, and that importing the file again adds nothing twice.
            message = describe_database_error(error, engine).rstrip(".")
            if committing:
                message += (
                    "; the commit was not confirmed: import the file again once the database is back "
                    "(rows already imported are skipped)."
                )
            elif "nothing was" not in message:
                message += "; nothing was imported."
            raise DatabaseUnavailable(message) from error
        if isinstance(error, DBAPIError):
            # Constraint violations, values out of the column's range: the whole import rolls
            # back and the wizard/CLI show one line instead of a traceback.
            reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
            raise ImportError_(f"The database refused the import ({reason}); nothing was imported.") from error
        raise
    finally:
        if connection is not None:
            _close_quietly(connection)
    return report
