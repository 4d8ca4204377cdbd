"""The shared record grid: search and filter controls, an editable page of rows, and Save.

``record_query(engine, entity, key=...)`` draws the search box and the entity's filters and
returns the ``RecordQuery``; ``record_grid(engine, actor, entity, page, key=...)`` draws the
``st.data_editor`` for that page, the pager, and the Save button that sends the editor's
changes to ``crm.records.apply_edits`` (validated server-side, one transaction, optimistic
locking), shows refusals and conflicts, asks before deleting, and clears the cache.
Analysts see the grid read-only; agents may add and edit but not delete.

The editor's widget key carries a per-grid *generation* (``editor_key``), bumped on Discard,
after a save and on "Reload the latest data": a new key is a new widget, so the browser drops
its pending edits too (removing the old key from session state does not).
Columns set no browser-side limits (minimum, length, pattern, step, required): the browser
would silently drop or alter such input, while the server names the row, field and problem.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from crm.permissions import Actor, Permission, PermissionDeniedError, allowed
from crm.records import RecordPage, RecordQuery, apply_edits, entity_spec, has_changes, lookup_options
from crm.records.entities import EntitySpec, Field
from crm.records.listing import EXPORT_ROW_LIMIT, distinct_values, export_records
from crm.records.problems import problem_cells
from crm.records.refs import LABELLED_TABLES, id_of_label, ref_labels, ref_search
from crm.settings import get_settings
from crm.ui.cache import cached, invalidate
from crm.ui.charts import table_downloads
from crm.ui.plain import escape_markdown, plain_bullets
from crm.vocabulary import code_label

__all__ = ["PAGE_SIZES", "editor_key", "record_grid", "record_query"]

# Rows per grid page: larger pages make the browser grid sluggish.
PAGE_SIZES = (25, 50, 100, 200)
# Tables without names, contacts or per-customer rows: agents may export them (EXPORT_AGGREGATES).
NON_PERSONAL_ENTITIES = frozenset(
    {"products", "categories", "brands", "warehouses", "variants", "inventory", "stock_movements", "price_history"}
)
# How a cell named by a refused save is marked (a red tint and bold, readable in light and dark themes).
PROBLEM_CELL_STYLE = "background-color: rgba(255, 43, 43, 0.25); font-weight: 600"
# The grid's input precision for whole-number columns: fine enough that no typed digit is lost.
FREE_STEP = 0.001
FLAG_LABELS = {
    "low_stock": "Low stock",
    "out_of_stock": "Out of stock",
    "follow_up_due": "Follow-ups due",
    "follow_up_planned": "Follow-ups planned",
}


def _today() -> date:
    settings = get_settings()
    return datetime.now(settings.timezone).date()


def _sortable(spec: EntitySpec) -> dict[str, str]:
    labels = {"id": "Id"} | {field.name: field.label for field in spec.fields}
    return labels | {derived.name: derived.label for derived in spec.derived}


def record_query(
    engine: Engine,
    entity: str,
    *,
    key: str,
    equals: tuple[tuple[str, Any], ...] = (),
    show_filters: bool = True,
) -> RecordQuery:
    """Draw the search box, the entity's filters and the sort controls; return the query.

    The page number comes from the pager under the grid and goes back to 1 when the search
    or a filter changes.
    """
    spec = entity_spec(entity)
    searched = ", ".join(term.label.lower() for term in spec.search)
    columns = st.columns([3, 2, 2, 2])
    search = ""
    if spec.search:  # an entity without search terms gets no search box that would find nothing
        search = columns[0].text_input("Search", key=f"{key}_search", placeholder=f"Search {searched}", max_chars=200)
    statuses: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    date_from = date_to = None
    birthday_month = None
    flags: tuple[str, ...] = ()
    slot = 1 if spec.search else 0  # filters move left when there is no search box
    if show_filters and spec.status_column:
        choices = spec.field(spec.status_column).choices
        statuses = tuple(columns[slot].multiselect("Status", choices, format_func=code_label, key=f"{key}_statuses"))
        slot += 1
    if show_filters and spec.type_column:
        choices = spec.field(spec.type_column).choices
        types = tuple(columns[slot].multiselect("Type", choices, format_func=code_label, key=f"{key}_types"))
        slot += 1
    if show_filters and spec.source_column:
        options = cached(distinct_values, spec.name, spec.source_column)
        sources = tuple(columns[slot].multiselect("Source", options, format_func=code_label, key=f"{key}_sources"))
        slot += 1
    more = st.columns([3, 2, 2, 2])
    zone = get_settings().timezone_name
    if show_filters and spec.date_column:
        picked = more[0].date_input(
            "Date range", value=(), key=f"{key}_dates", help=f"Calendar days in {zone}, the app's time zone."
        )
        if isinstance(picked, tuple) and len(picked) == 2:
            date_from, date_to = picked
        elif isinstance(picked, tuple) and len(picked) == 1:
            date_from = picked[0]
    free = more[1] if spec.date_column else more[0]
    if show_filters and spec.birthday_column and free.checkbox("Birthday this month", key=f"{key}_birthday"):
        birthday_month = _today().month
    if show_filters and spec.flags:
        choice = free.radio(
            "Show", ["All", *(FLAG_LABELS.get(flag, flag) for flag in spec.flags)], key=f"{key}_flag", horizontal=True
        )
        flags = tuple(flag for flag in spec.flags if FLAG_LABELS.get(flag, flag) == choice)
    sortable = _sortable(spec)
    sort_by = more[2].selectbox(
        "Sort by",
        list(sortable),
        index=list(sortable).index(spec.default_sort),
        format_func=sortable.get,
        key=f"{key}_sort",
    )
    descending = more[3].toggle("Descending", value=spec.default_descending, key=f"{key}_descending")
    page_size = int(st.session_state.get(f"{key}_page_size", PAGE_SIZES[1]))
    signature = (
        search,
        statuses,
        types,
        sources,
        date_from,
        date_to,
        birthday_month,
        flags,
        sort_by,
        equals,
        page_size,
    )
    if st.session_state.get(f"{key}__signature") != signature:
        # A new search starts on the first page (set before the pager widget is drawn).
        st.session_state[f"{key}__signature"] = signature
        st.session_state[f"{key}_page"] = 1
    query = RecordQuery(
        search=search,
        statuses=statuses,
        types=types,
        sources=sources,
        date_from=date_from,
        date_to=date_to,
        timezone_name=zone,
        birthday_month=birthday_month,
        equals=equals,
        flags=flags,
        sort_by=sort_by,
        descending=descending,
        page=int(st.session_state.get(f"{key}_page", 1)),
        page_size=page_size,
    )
    # Remembered for the grid's downloads, which export every matching row, not just this page.
    st.session_state[f"{key}__query"] = query
    return query


# Joined name columns that a labelled id column already shows (the customer's name next to its id).
NAME_COLUMNS = frozenset({"customer", "product", "order_number"})
# What the picker above the grid calls each labelled table.
REF_NOUNS = {
    "customers": "customer",
    "orders": "order",
    "products": "product",
    "product_variants": "variant",
    "visits": "visit",
}


def _labelled_fields(spec: EntitySpec) -> list[Field]:
    """Id columns of customers, orders, products, variants and visits: shown and picked by label, never typed."""
    return [
        field
        for field in spec.fields
        if field.kind == "ref" and field.target is not None and field.target.name in LABELLED_TABLES
    ]


def _header(field: Field) -> str:
    return field.label.removesuffix(" id")


def _picked_key(key: str, field: Field) -> str:
    return f"{key}__picked_{field.name}"


def _ref_pickers(engine: Engine, spec: EntitySpec, key: str) -> None:
    """Search boxes whose matches join the pick lists of the grid's labelled columns."""
    fields = _labelled_fields(spec)
    if not fields:
        return
    columns = st.columns(len(fields) + 1)
    for column, field in zip(columns, fields, strict=False):
        assert field.target is not None
        noun = REF_NOUNS[field.target.name]
        text = column.text_input(
            f"Find a {noun} to pick in the grid",
            key=f"{key}_find_{field.name}",
            max_chars=200,
            help=f"Matches are added to the {_header(field)} column's list; pick one there.",
        )
        found = cached(ref_search, field.target.name, text) if text.strip() else {}
        st.session_state[_picked_key(key, field)] = found
        if text.strip():
            column.caption(f"{len(found)} match(es) in the {_header(field)} list." if found else "No match.")


def _ref_options(engine: Engine, spec: EntitySpec, shown: pd.DataFrame, key: str) -> dict[str, dict[int, str]]:
    """Per labelled field: id → label of the rows on the page plus the picker's matches."""
    options: dict[str, dict[int, str]] = {}
    for field in _labelled_fields(spec):
        assert field.target is not None
        ids = tuple(sorted({int(value) for value in shown[field.name].dropna()})) if field.name in shown else ()
        labels = dict(cached(ref_labels, field.target.name, ids)) if ids else {}
        labels |= st.session_state.get(_picked_key(key, field)) or {}
        options[field.name] = labels
    return options


def _labelled(shown: pd.DataFrame, options: dict[str, dict[int, str]]) -> pd.DataFrame:
    """The page with labelled id columns as their labels (an id without a row shows as "(#id)")."""
    display = shown.copy()
    for name, labels in options.items():
        if name in display:
            display[name] = display[name].map(
                lambda value, labels=labels: None if pd.isna(value) else labels.get(int(value), f"(#{int(value)})")
            )
    return display


def _ids_from_labels(state: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """The editor's changes with labels of labelled columns turned back into ids for ``apply_edits``."""

    def convert(row: dict[str, Any]) -> dict[str, Any]:
        converted = dict(row)
        for name in names & set(row):
            value = row[name]
            if isinstance(value, str) and value.strip():
                found = id_of_label(value)
                converted[name] = found if found is not None else value
            elif value is None or (isinstance(value, str) and not value.strip()):
                converted[name] = None
        return converted

    return {
        "edited_rows": {position: convert(row) for position, row in (state.get("edited_rows") or {}).items()},
        "added_rows": [convert(row) for row in state.get("added_rows") or []],
        "deleted_rows": list(state.get("deleted_rows") or []),
    }


def _column(engine: Engine, spec: EntitySpec, field: Field) -> Any:
    config = st.column_config
    # No min_value/max_chars/validate/required: the browser would drop a typed minus, cut long text
    # or refuse an empty cell without a word; apply_edits says what is wrong, by row and field.
    help_text = field.help
    if field.required and field.editable:
        help_text = f"Required. {help_text}" if help_text else "Required."
    common: dict[str, Any] = {"label": field.label, "help": help_text, "disabled": not field.editable}
    if field.kind in ("text", "email"):
        return config.TextColumn(**common)
    if field.kind in ("int", "ref"):
        # Whole-number columns would drop a typed "." (2.5 became 25): a fine step lets 2.5 reach
        # the server, which refuses it by name ("2.5 is not a whole number").
        return config.NumberColumn(format="%d", step=FREE_STEP, **common)
    if field.kind == "money":
        return config.NumberColumn(format="%.2f", **common)
    if field.kind == "decimal":
        scale = getattr(spec.table.c[field.column].type, "scale", None) or 2
        return config.NumberColumn(format=f"%.{scale}f", **common)
    if field.kind == "date":
        return config.DateColumn(format="YYYY-MM-DD", **common)
    if field.kind == "datetime":
        return config.DatetimeColumn(format="YYYY-MM-DD HH:mm", step=60, **common)
    if field.kind == "enum":
        # Codes are stored; people read labels ("credit_card" -> "Credit card").
        return config.SelectboxColumn(options=list(field.choices), format_func=code_label, **common)
    if field.kind == "lookup":
        return config.SelectboxColumn(options=list(cached(lookup_options, spec.name, field.name)), **common)
    if field.kind == "bool":
        return config.CheckboxColumn(**common)
    return config.Column(**common)  # pragma: no cover - every kind is handled above


def _column_config(
    engine: Engine, spec: EntitySpec, options: dict[str, dict[int, str]] | None = None
) -> dict[str, Any]:
    config: dict[str, Any] = {"id": st.column_config.NumberColumn("Id", format="%d", disabled=True), "version": None}
    for field in spec.fields:
        config[field.name] = _column(engine, spec, field)
    for name, labels in (options or {}).items():
        field = spec.field(name)
        help_text = "Pick from the list; the search box above the grid adds more."
        config[name] = st.column_config.SelectboxColumn(
            _header(field),
            options=sorted(labels.values()),
            help=f"Required. {help_text}" if field.required and field.editable else help_text,
            disabled=not field.editable,
        )
    for derived in spec.derived:
        if derived.kind == "money":
            config[derived.name] = st.column_config.NumberColumn(derived.label, format="%.2f", disabled=True)
        elif derived.kind == "datetime":
            config[derived.name] = st.column_config.DatetimeColumn(
                derived.label, format="YYYY-MM-DD HH:mm", disabled=True
            )
        else:
            config[derived.name] = st.column_config.Column(derived.label, disabled=True)
    return config


def _num_rows(spec: EntitySpec, may_add: bool, may_delete: bool) -> str:
    if may_add and may_delete:
        return "dynamic"
    if may_add:
        return "add"
    if may_delete:
        return "delete"
    return "fixed"


def editor_key(key: str) -> str:
    """The data_editor's widget key of grid ``key`` in its current generation."""
    return f"{key}__edits{int(st.session_state.get(f'{key}__generation', 0))}"


def _forget(key: str) -> None:
    """Drop the grid's pending edits, in session state and in the browser (a new widget generation)."""
    for name in (editor_key(key), f"{key}__shown", f"{key}__conflict"):
        st.session_state.pop(name, None)
    st.session_state[f"{key}__generation"] = int(st.session_state.get(f"{key}__generation", 0)) + 1


def _downloads(
    engine: Engine, actor: Actor, spec: EntitySpec, query: RecordQuery | None, total: int, *, name: str
) -> None:
    """CSV/XLSX of every row matching the search and filters, not just this page (built only when clicked)."""
    if query is None or total == 0:
        return

    def _all_matching_rows() -> pd.DataFrame:
        return export_records(engine, spec, query, limit=EXPORT_ROW_LIMIT)

    table_downloads(_all_matching_rows, name=spec.name, personal=spec.name not in NON_PERSONAL_ENTITIES, actor=actor)
    if total > EXPORT_ROW_LIMIT:
        st.caption(f"Downloads hold the first {EXPORT_ROW_LIMIT:,} rows; `python -m crm export` writes them all.")


def _conflict_notice(key: str) -> None:
    """The refusal of a save that met someone else's change, with the reload button right under it."""
    problems = st.session_state.get(f"{key}__conflict")
    if not problems:
        return
    st.error("Someone else changed these rows since you loaded them. Nothing was saved.\n\n" + plain_bullets(problems))
    if st.button("Reload the latest data (drops your unsaved edits)", key=f"{key}__reload", icon=":material/refresh:"):
        invalidate()
        _forget(key)
        st.rerun()


def record_grid(engine: Engine, actor: Actor, entity: str, page: RecordPage, *, key: str) -> None:
    """Draw ``page`` as an editable grid with pager and Save (read-only for roles that may not edit)."""
    spec = entity_spec(entity)
    may_edit = allowed(actor.role, Permission.EDIT_RECORDS) and (spec.can_edit or spec.can_add)
    may_add = may_edit and spec.can_add
    may_delete = allowed(actor.role, Permission.DELETE_RECORDS) and spec.can_delete
    flash = st.session_state.pop(f"{key}__flash", None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    # A refused save marks its bad cells here, right above the grid (filled by the Save handler).
    problem_notice = st.container()
    edits_key = editor_key(key)
    state = st.session_state.get(edits_key)
    # While edits are pending, keep showing (and saving against) the rows they were made on,
    # even if the cache was refreshed meanwhile: row positions then still mean the same rows.
    shown = st.session_state.get(f"{key}__shown") if has_changes(state) else None
    if not isinstance(shown, pd.DataFrame):
        shown = page.rows
        st.session_state[f"{key}__shown"] = shown
    elif list(shown["id"]) != list(page.rows["id"]):
        st.info("You have unsaved edits on the rows below: save or discard them to see the new page or search.")
    if spec.note:
        st.caption(spec.note)
    if not (may_edit or may_delete) and (spec.can_edit or spec.can_add or spec.can_delete):
        st.caption(":material/lock: Read-only for your role.")
    if may_edit:
        _ref_pickers(engine, spec, key)
    options = _ref_options(engine, spec, shown, key)
    labelled_columns = {spec.field(name).column for name in options}
    hidden = {
        derived.name
        for derived in spec.derived
        if derived.name in NAME_COLUMNS
        and derived.joins
        and any(join.name == derived.joins[0] and join.local_column in labelled_columns for join in spec.joins)
    }
    st.data_editor(
        # Ids as the names of what they point at, codes as their labels: what people read and pick.
        _labelled(_displayed(spec, shown), options),
        key=edits_key,
        # Empty cells are blank, not "None".
        placeholder="",
        hide_index=True,
        width="stretch",
        column_config=_column_config(engine, spec, options),
        column_order=[name for name in spec.display_order if name not in hidden],
        num_rows=_num_rows(spec, may_add, may_delete),
        # Insert-only entities keep their columns open for new rows; edits of old rows are refused on save.
        disabled=not may_edit,
    )
    pager = st.columns([2, 2, 6])
    if int(st.session_state.get(f"{key}_page", 1)) > page.pages:
        st.session_state[f"{key}_page"] = page.pages  # fewer pages than before (rows deleted, filter)
    pager[0].number_input(
        f"Page (of {page.pages:,})", min_value=1, max_value=max(page.pages, 1), step=1, key=f"{key}_page"
    )
    pager[1].selectbox("Rows per page", PAGE_SIZES, index=PAGE_SIZES.index(50), key=f"{key}_page_size")
    pager[2].caption(f"{page.total:,} {spec.title.lower()} match; showing page {page.page:,} of {page.pages:,}.")
    _downloads(engine, actor, spec, st.session_state.get(f"{key}__query"), page.total, name=key)
    if not (may_edit or may_delete):
        return
    _save_controls(engine, actor, spec, shown, key, problem_notice)
    _conflict_notice(key)


def _displayed(spec: EntitySpec, shown: pd.DataFrame) -> pd.DataFrame:
    """The rows as the grid shows them: free-text codes (source) as their labels.

    Only edited cells are sent on Save, and a label typed back ("Social media") is the same
    code again (crm/vocabulary.py), so showing labels changes nothing that is stored.
    """
    coded = [field.name for field in spec.fields if field.coded and field.name in shown.columns]
    if not coded:
        return shown
    displayed = shown.copy()
    for name in coded:
        displayed[name] = displayed[name].map(lambda code: code_label(code) or None).astype(object)
    return displayed


def _mark_problems(spec: EntitySpec, shown: pd.DataFrame, problems: tuple[str, ...], notice: Any) -> None:
    """Name each bad cell by row and column above the grid, and show those rows with the cells marked."""
    cells = problem_cells(spec, problems)
    with notice:
        st.error(
            f"Nothing was saved: {len(cells)} problem(s). The marked cells below need fixing, then save again.",
            icon=":material/error:",
        )
        table = pd.DataFrame(
            {
                "Row": [cell.row_label or "—" for cell in cells],
                "Column": [cell.column_label or "—" for cell in cells],
                "Problem": [cell.message for cell in cells],
            }
        )
        st.dataframe(table, hide_index=True, width="stretch")
        positions = sorted(
            {cell.position for cell in cells if cell.position is not None and cell.position < len(shown)}
        )
        if not positions:
            return
        rows = _displayed(spec, shown).iloc[positions]
        columns = ["id", *[name for name in spec.display_order if name in rows.columns and name != "id"]]
        rows = rows[columns].rename(columns=_sortable(spec))
        bad = {(cell.position, cell.column_label) for cell in cells if cell.position is not None}

        def _style(frame: pd.DataFrame) -> pd.DataFrame:
            styles = pd.DataFrame("", index=frame.index, columns=frame.columns)
            for offset, position in enumerate(positions):
                for column in frame.columns:
                    if (position, column) in bad:
                        styles.iloc[offset, list(frame.columns).index(column)] = PROBLEM_CELL_STYLE
            return styles

        st.caption("The rows with problems (bad cells marked):")
        st.dataframe(rows.style.apply(_style, axis=None), hide_index=True, width="stretch")


def _save_controls(
    engine: Engine, actor: Actor, spec: EntitySpec, shown: pd.DataFrame, key: str, notice: Any = None
) -> None:
    """Delete confirmation, Save and Discard; a save's outcome (flash, refusal or conflict)."""
    state = st.session_state.get(editor_key(key)) or {}
    deleting = len(state.get("deleted_rows") or [])
    confirmed = True
    generation = int(st.session_state.get(f"{key}__generation", 0))
    if deleting:
        st.warning(f"{deleting} row(s) marked for deletion. Deleting cannot be undone.", icon=":material/warning:")
        confirmed = st.checkbox(f"Yes, delete {deleting} row(s)", key=f"{key}__confirm{generation}")
    buttons = st.columns([1, 1, 6])
    save = buttons[0].button("Save", type="primary", key=f"{key}__save", disabled=not has_changes(state))
    if buttons[1].button("Discard", key=f"{key}__discard", disabled=not has_changes(state)):
        _forget(key)
        st.rerun()
    if not save:
        return
    if deleting and not confirmed:
        st.error("Tick the confirmation box to delete the marked rows.")
        return
    labelled = {field.name for field in _labelled_fields(spec)}
    try:
        outcome = apply_edits(engine, spec, shown, _ids_from_labels(state, labelled), actor)
    except PermissionDeniedError as error:
        st.error(escape_markdown(error))
        return
    if outcome.ok:
        invalidate()
        _forget(key)
        st.session_state[f"{key}__flash"] = outcome.summary()
        st.rerun()
    if outcome.conflict:
        # The cached page is what went stale: forget it now, so "Reload" (or any rerun) reads the database.
        invalidate()
        st.session_state[f"{key}__conflict"] = list(outcome.problems)
        return
    # The problems quote the cells as typed: plain text.
    st.error("Nothing was saved. Fix these and save again:\n\n" + plain_bullets(outcome.problems))
    if notice is not None:
        _mark_problems(spec, shown, outcome.problems, notice)
