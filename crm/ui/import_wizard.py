"""The import wizard's four steps: upload -> check reading -> map columns -> preview & import.

The wizard keeps its choices in ``st.session_state["import_wizard"]`` (widgets of a step
that is not shown lose their own state). Everything it does goes through ``crm.imports``:
the preview is a dry run of the real import (same code, rolled back), so its counts are
the ones the import will have.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from crm.exports import export_table
from crm.imports import (
    DUPLICATE_POLICIES,
    ENTITIES,
    IGNORE,
    SUPPORTED_ENCODINGS,
    WHITESPACE,
    ImportError_,
    ImportReport,
    ParsedFile,
    check_mapping,
    fields_for,
    list_mappings,
    load_mapping,
    read_source,
    run_import,
    save_mapping,
    suggest_mapping,
)
from crm.permissions import Actor, Permission, allowed
from crm.ui.cache import invalidate
from crm.ui.plain import escape_markdown

__all__ = ["STEPS", "WizardState", "render_wizard"]

STEPS = ("Upload", "Check reading", "Map columns", "Preview & import")
STATE_KEY = "import_wizard"
# Rows of the file shown while checking how it was read.
SAMPLE_ROWS = 8
_DELIMITERS = {",": "comma ,", ";": "semicolon ;", "\t": "tab", "|": "pipe |", WHITESPACE: "spaces (aligned columns)"}
_POLICY_HELP = {
    "skip": "Skip rows whose customer/number/SKU is already in the file or the database.",
    "update": "Overwrite the existing record with the file's non-blank values.",
    "merge": "Only fill the existing record's blank fields from the file.",
}
# Decisions listed in the Duplicates tab: rows matched to a stored record or to an earlier row.
_DUPLICATE_DECISIONS = (*DUPLICATE_POLICIES, "combine")


@dataclass
class WizardState:
    step: int = 0
    entity: str = "customers"
    file_name: str | None = None
    data: bytes | None = None
    # SHA-256 of ``data``: a corrected file of the same name and size is still a new file.
    file_sha256: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    header_row: int | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    # Bumped when a mapping is loaded or reset, so the selectboxes take the new values.
    mapping_version: int = 0
    on_duplicate: str = "skip"
    preview: ImportReport | None = None
    preview_signature: tuple[Any, ...] | None = None
    result: ImportReport | None = None
    # Part of the uploader's key: a new round ("Import another file") starts with an empty uploader.
    upload_round: int = 0

    def read_options(self) -> dict[str, Any]:
        return {
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "sheet": self.sheet,
            "header_row": self.header_row,
            "file_name": self.file_name,
            "entity": self.entity,
        }

    def signature(self) -> tuple[Any, ...]:
        """What the preview depends on: the file's content (not its name or size), options, mapping."""
        return (
            self.entity,
            self.file_name,
            self.file_sha256,
            tuple(sorted(self.read_options().items())),
            tuple(sorted(self.mapping.items())),
            self.on_duplicate,
        )


def _state() -> WizardState:
    if STATE_KEY not in st.session_state:
        st.session_state[STATE_KEY] = WizardState()
    return st.session_state[STATE_KEY]


@st.cache_data(max_entries=4, show_spinner="Reading the file…")
def _read(
    data: bytes,
    encoding: str | None,
    delimiter: str | None,
    sheet: str | None,
    header_row: int | None,
    file_name: str | None,
    entity: str | None = None,
) -> ParsedFile:
    return read_source(
        data,
        encoding=encoding,
        delimiter=delimiter,
        sheet=sheet,
        header_row=header_row,
        file_name=file_name,
        entity=entity,
    )


def _go(step: int) -> None:
    _state().step = step


def _progress(state: WizardState) -> None:
    # Written without "1." prefixes, which markdown would turn into a numbered list.
    labels = [f"**{name}**" if index == state.step else f":gray[{name}]" for index, name in enumerate(STEPS)]
    st.markdown(f"Step {state.step + 1} of {len(STEPS)}: " + " → ".join(labels))


def _navigation(
    back: int | None, forward: int | None, *, forward_label: str = "Next", disabled: bool = False, key: str
) -> None:
    left, right = st.columns([1, 1], width=360)
    if back is not None:
        left.button("Back", on_click=_go, args=(back,), key=f"back_{key}", icon=":material/arrow_back:")
    if forward is not None:
        right.button(
            forward_label,
            on_click=_go,
            args=(forward,),
            type="primary",
            disabled=disabled,
            key=f"next_{key}",
            icon=":material/arrow_forward:",
        )


# --- step 1 ---------------------------------------------------------------------------------
def _step_upload(state: WizardState) -> None:
    entities = list(ENTITIES)
    entity = st.selectbox(
        "What does the file hold?",
        entities,
        index=entities.index(state.entity),
        key="wizard_entity",
        format_func=str.capitalize,
        help="Orders may have one row per order or one row per item; a customer email, phone or ID column "
        "links each order to its customer (new customers are created).",
    )
    if entity != state.entity:
        state.entity, state.mapping, state.preview = entity, {}, None  # other fields: suggest afresh
    uploaded = st.file_uploader(
        "CSV or Excel file",
        type=["csv", "txt", "tsv", "xlsx", "xlsm"],
        key=f"wizard_file_{state.upload_round}",
        help="UTF-8, UTF-16, CP949 (Korean), Big5/CP950, Shift-JIS/CP932, GB18030, CP1252… are detected.",
    )
    data = uploaded.getvalue() if uploaded is not None else None
    sha256 = hashlib.sha256(data).hexdigest() if data is not None else None
    if data is not None and (uploaded.name != state.file_name or sha256 != state.file_sha256):
        state.file_name, state.data, state.file_sha256 = uploaded.name, data, sha256
        state.encoding = state.delimiter = state.sheet = None
        state.header_row = None
        state.mapping, state.preview, state.result = {}, None, None
    if state.data is not None:
        st.caption(f"File: **{escape_markdown(state.file_name)}** ({len(state.data):,} bytes)")
    _navigation(None, 1, disabled=state.data is None, key="upload")


# --- step 2 ---------------------------------------------------------------------------------
def _step_reading(state: WizardState) -> ParsedFile | None:
    try:
        parsed = _read(state.data, **state.read_options())
    except (ValueError, KeyError) as error:
        st.error(escape_markdown(f"The file could not be read: {error}"))
        parsed = None
    if parsed is not None:
        # Sheet names, headers and cells quoted in these come from the file: plain text.
        st.success(escape_markdown(f"Read as: {parsed.describe()}"), icon=":material/check_circle:")
        for warning in parsed.warnings:
            st.warning(escape_markdown(warning), icon=":material/warning:")
    columns = st.columns(3)
    changed = False
    if parsed is None or parsed.file_format == "csv":
        used = parsed.encoding if parsed else state.encoding
        encodings = list(dict.fromkeys([used, *SUPPORTED_ENCODINGS] if used else SUPPORTED_ENCODINGS))
        encoding = columns[0].selectbox(
            "Encoding",
            encodings,
            index=encodings.index(used or encodings[0]),
            key="wizard_encoding",
            help="Pick another one if names show as “�” or odd characters.",
        )
        delimiters = list(_DELIMITERS)
        used_delimiter = (parsed.delimiter if parsed else state.delimiter) or ","
        delimiter = columns[1].selectbox(
            "Delimiter",
            delimiters,
            index=delimiters.index(used_delimiter),
            format_func=_DELIMITERS.get,
            key="wizard_delimiter",
        )
        if encoding != used:
            state.encoding, changed = encoding, True
        if delimiter != used_delimiter:
            state.delimiter, changed = delimiter, True
        if changed:
            state.header_row = None  # detect it again in the newly read text
    else:
        sheet = columns[0].selectbox(
            "Sheet", parsed.sheets, index=parsed.sheets.index(parsed.sheet), key="wizard_sheet"
        )
        if sheet != parsed.sheet:
            state.sheet, state.header_row, changed = sheet, None, True
    _reread_if(changed, state)
    used_header = parsed.header_row if parsed else (state.header_row if state.header_row is not None else 1)
    header = columns[2].number_input(
        "Header row",
        min_value=0,
        max_value=1000,
        value=used_header,
        step=1,
        # Keyed by the reading shown, so a new sheet/encoding starts from its own detected header.
        key=f"wizard_header_{parsed.sheet}_{parsed.encoding}_{parsed.delimiter}" if parsed else "wizard_header",
        help="The line (CSV) or sheet row that holds the column names; 0 when the file has none.",
    )
    if header != used_header:
        state.header_row, changed = int(header), True
    _reread_if(changed, state)
    if parsed is not None:
        st.dataframe(parsed.frame.head(SAMPLE_ROWS), hide_index=True, width="stretch")
        st.caption(f"First {min(SAMPLE_ROWS, len(parsed.frame))} of {len(parsed.frame):,} rows.")
    _navigation(0, 2, disabled=parsed is None or parsed.frame.empty, key="reading")
    return parsed


def _reread_if(changed: bool, state: WizardState) -> None:
    """Read the file again with the corrected options (and map its columns afresh)."""
    if changed:
        state.mapping = {}
        st.rerun()


# --- step 3 ---------------------------------------------------------------------------------
def _field_label(entity: str) -> Any:
    specs = fields_for(entity)

    def label(name: str) -> str:
        if name == IGNORE:
            return "— ignore this column —"
        spec = specs[name]
        return f"{spec.label}{' (required)' if spec.required else ''}"

    return label


def _mapping_library(engine: Engine, actor: Actor, state: WizardState) -> None:
    saved = list_mappings(engine, state.entity)
    with st.expander("Saved mappings", icon=":material/bookmark:"):
        load_column, save_column = st.columns(2)
        with load_column:
            name = st.selectbox(
                "Load",
                saved,
                index=None,
                placeholder="Choose a saved mapping",
                key="wizard_load_name",
                disabled=not saved,
            )
            if st.button("Load mapping", disabled=name is None, key="wizard_load"):
                loaded = load_mapping(engine, state.entity, name)
                state.mapping = {column: loaded.get(column, IGNORE) for column in state.mapping}
                state.mapping_version += 1
                st.rerun()
        with save_column:
            new_name = st.text_input("Save as", key="wizard_save_name", placeholder="e.g. Shop X customers")
            if st.button("Save mapping", disabled=not new_name.strip(), key="wizard_save"):
                save_mapping(engine, name=new_name, entity=state.entity, mapping=state.mapping, actor=actor)
                st.toast(escape_markdown(f"Mapping “{new_name.strip()}” saved."), icon=":material/bookmark_added:")


def _step_mapping(engine: Engine, actor: Actor, state: WizardState, parsed: ParsedFile) -> None:
    known = set(fields_for(state.entity)) | {IGNORE}
    if set(state.mapping) != set(parsed.columns) or not set(state.mapping.values()) <= known:
        state.mapping = suggest_mapping(parsed.columns, state.entity)
        state.mapping_version += 1
    _mapping_library(engine, actor, state)
    options = [IGNORE, *fields_for(state.entity)]
    label = _field_label(state.entity)
    if st.button("Reset to suggestions", key="wizard_suggest", icon=":material/auto_fix_high:"):
        state.mapping = suggest_mapping(parsed.columns, state.entity)
        state.mapping_version += 1
    for column in parsed.columns:
        name_column, field_column = st.columns([3, 2], vertical_alignment="center")
        samples = [value for value in parsed.frame[column].head(50).tolist() if value][:3]
        sample_text = escape_markdown(" · ".join(str(sample) for sample in samples)[:90]) or "\\(blank\\)"
        name_column.markdown(f"**{escape_markdown(column)}**  \n:gray[{sample_text}]")
        current = state.mapping.get(column, IGNORE)
        state.mapping[column] = field_column.selectbox(
            f"Field for {escape_markdown(column)}",
            options,
            index=options.index(current),
            format_func=label,
            key=f"wizard_map_{state.mapping_version}_{column}",
            label_visibility="collapsed",
        )
    problems = check_mapping(state.mapping, state.entity, parsed.columns)
    for problem in problems:
        st.error(escape_markdown(problem))
    mapped = set(state.mapping.values())
    missing = [spec.label for spec in fields_for(state.entity).values() if spec.required and spec.name not in mapped]
    if missing:
        st.warning("Required fields without a column: " + ", ".join(missing) + ". Rows will be rejected.")
    # A transaction may also find its customer through its order.
    linking = {"customer_key", "customer_external_id", "customer_email", "customer_phone"}
    if state.entity == "transactions":
        linking.add("order_number")
    if state.entity in ("orders", "transactions") and not mapped & linking:
        st.warning("Map a customer email, phone or ID column so each row can be linked to its customer.")
    _navigation(1, 3, disabled=bool(problems), key="mapping")


# --- step 4 ---------------------------------------------------------------------------------
def _counts(report: ImportReport, *, sentence: bool = True) -> None:
    columns = st.columns(6)
    verb = "To insert" if report.dry_run else "Inserted"
    columns[0].metric("Rows read", f"{report.rows_read:,}")
    columns[1].metric(verb, f"{report.inserted:,}")
    columns[2].metric("Updated / merged", f"{report.updated + report.merged:,}")
    columns[3].metric("Skipped duplicates", f"{report.skipped_duplicates:,}")
    columns[4].metric(
        "Combined",
        f"{report.combined:,}",
        help="Rows added to a record begun on an earlier row: more items of an order, or a repeat whose "
        "values were combined with it (update/merge).",
    )
    columns[5].metric("Rejected rows", f"{report.rejected_rows:,}")
    if sentence:  # after the import, the success message above says it already
        st.caption(report.summary())  # counts only


def _report_tables(report: ImportReport) -> None:
    for warning in report.warnings:
        st.warning(escape_markdown(warning), icon=":material/warning:")
    if report.already_imported_at:
        st.info(f"This file was already imported on {report.already_imported_at}.", icon=":material/history:")
    if report.created:
        st.caption("Created on the way: " + ", ".join(f"{count:,} {name}" for name, count in report.created.items()))
    rows_tab, rejected_tab, duplicates_tab, defaults_tab = st.tabs(
        ["Rows", f"Rejected ({report.rejected_rows:,} rows)", "Duplicates", "Not provided"]
    )
    with rows_tab:
        st.dataframe(pd.DataFrame(report.preview), hide_index=True, width="stretch")
        st.caption(f"First {len(report.preview):,} rows as they will be imported; blanks use the default.")
    with rejected_tab:
        st.dataframe(report.rejected_frame(), hide_index=True, width="stretch")
        st.caption("One line per invalid cell; a row is rejected once, whatever the number of its invalid cells.")
    with duplicates_tab:
        decisions = report.decisions_frame()
        st.dataframe(decisions[decisions["decision"].isin(_DUPLICATE_DECISIONS)], hide_index=True, width="stretch")
    with defaults_tab:
        st.dataframe(
            pd.DataFrame(sorted(report.not_provided.items()), columns=["field", "rows without a value"]),
            hide_index=True,
        )
    if report.warning_rows:
        # The warnings above name the first rows; here every row behind each of them.
        with st.expander(f"Rows behind the warnings ({len(report.warning_rows):,})"):
            st.dataframe(_warning_rows_frame(report), hide_index=True, width="stretch")


def _warning_rows_frame(report: ImportReport) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "column": entry["column"],
                "rows": ", ".join(str(row) for row in entry["rows"]),
                "warning": entry["warning"],
            }
            for entry in report.warning_rows
        ],
        columns=["column", "rows", "warning"],
    )


def _run(engine: Engine, actor: Actor, state: WizardState, *, dry_run: bool) -> ImportReport | None:
    try:
        return run_import(
            engine,
            state.data,
            entity=state.entity,
            mapping=state.mapping,
            on_duplicate=state.on_duplicate,
            dry_run=dry_run,
            actor=actor,
            encoding=state.encoding,
            sheet=state.sheet,
            header_row=state.header_row,
            file_name=state.file_name,
            delimiter=state.delimiter,
        )
    except ImportError_ as error:
        st.error(escape_markdown(error))
        return None


def _step_preview(engine: Engine, actor: Actor, state: WizardState) -> None:
    if state.result is not None:
        _finished(engine, actor, state)
        return
    policies = list(DUPLICATE_POLICIES)
    state.on_duplicate = st.radio(
        "When a row is a duplicate",
        policies,
        index=policies.index(state.on_duplicate),
        format_func=lambda policy: f"{policy.capitalize()} — {_POLICY_HELP[policy]}",
        key="wizard_policy",
    )
    if state.preview is None or state.preview_signature != state.signature():
        with st.spinner("Checking every row (dry run, nothing is written)…"):
            state.preview = _run(engine, actor, state, dry_run=True)
            state.preview_signature = state.signature()
    if state.preview is None:
        _navigation(2, None, key="preview")
        return
    st.subheader("Preview (dry run)")
    _counts(state.preview)
    _report_tables(state.preview)
    nothing = state.preview.inserted + state.preview.updated + state.preview.merged == 0
    back, go = st.columns([1, 1], width=420)
    back.button("Back", on_click=_go, args=(2,), key="back_preview", icon=":material/arrow_back:")
    if go.button(
        f"Import {state.entity}", type="primary", disabled=nothing, key="wizard_import", icon=":material/upload:"
    ):
        with st.spinner("Importing…"):
            state.result = _run(engine, actor, state, dry_run=False)
        if state.result is not None:
            invalidate()
            st.rerun()


def _rejections_file(engine: Engine, actor: Actor, report: ImportReport) -> Any:
    """The rejected cells as CSV, built on click by crm.exports (formula-safe, permission-checked, audited)."""

    def _build() -> bytes:
        # The reasons quote the file's cells (emails, names): personal data.
        return export_table(
            engine, report.rejected_frame(), name="import_rejections", file_format="csv", actor=actor, personal=True
        )

    return _build


def _finished(engine: Engine, actor: Actor, state: WizardState) -> None:
    report = state.result
    st.success(report.summary(), icon=":material/task_alt:")  # counts only
    _counts(report, sentence=False)
    _report_tables(report)
    stem = (state.file_name or "import").rsplit(".", 1)[0]
    left, right, again = st.columns(3, width=640)
    left.download_button(
        "Download report (JSON)",
        report.to_json().encode("utf-8"),
        file_name=f"{stem}_import_report.json",
        mime="application/json",
        key="wizard_report_json",
        on_click="ignore",
        icon=":material/download:",
    )
    if allowed(actor.role, Permission.EXPORT_PERSONAL_DATA):
        right.download_button(
            "Rejected rows (CSV)",
            _rejections_file(engine, actor, report),
            file_name=f"{stem}_rejected.csv",
            mime="text/csv",
            key="wizard_report_csv",
            on_click="ignore",
            icon=":material/download:",
            disabled=not report.rejected,
        )
    else:
        right.caption("Your role may not export the rejected rows (they hold personal data).")
    if again.button("Import another file", key="wizard_restart", icon=":material/restart_alt:"):
        st.session_state[STATE_KEY] = WizardState(entity=state.entity, upload_round=state.upload_round + 1)
        st.rerun()


def render_wizard(engine: Engine, actor: Actor) -> None:
    """Draw the current step of the import wizard."""
    state = _state()
    _progress(state)
    if state.step > 0 and state.data is None:
        state.step = 0
    if state.step == 0:
        _step_upload(state)
        return
    if state.step == 1:
        _step_reading(state)
        return
    try:
        parsed = _read(state.data, **state.read_options())
    except (ValueError, KeyError):
        state.step = 1
        st.rerun()
    if state.step == 2:
        _step_mapping(engine, actor, state, parsed)
    else:
        _step_preview(engine, actor, state)
