"""The Customers page's "Merge duplicate customers" section (roles with MERGE_CUSTOMERS: managers, admins).

The manager picks a pair — from the suggestions (same email, phone or name) or by searching
both customers — sees both records field by field, chooses which fields come from the
duplicate, reads what will move, confirms, and merges (``crm.records.merge.merge_customers``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from crm.permissions import Actor, Permission, PermissionDeniedError, allowed
from crm.records.merge import MergeError, merge_customers, merge_preview, suggest_pairs
from crm.ui.cache import cached, invalidate
from crm.ui.customer_picker import pick_customer
from crm.ui.widgets import data_table

__all__ = ["merge_section"]

KEY = "merge"


def _pair_from_suggestions(engine: Engine) -> tuple[int, int] | None:
    # Grouping every customer by name takes seconds on 100k customers: only on request (an expander's
    # body runs even while it is closed).
    if not st.toggle("Suggest likely duplicates (same email, phone or name)", key=f"{KEY}_suggest"):
        return None
    pairs = cached(suggest_pairs)
    if pairs.empty:
        st.caption("No likely duplicates found. Pick the two customers below.")
        return None
    labels = {index: f"{row.survivor} ⟷ {row.duplicate} ({row.reason})" for index, row in enumerate(pairs.itertuples())}
    choice = st.selectbox(
        "Suggested pairs (the older record is kept)",
        [None, *labels],
        format_func=lambda index: "Pick the two customers myself" if index is None else labels[index],
        key=f"{KEY}_suggestion",
    )
    if choice is None:
        return None
    row = pairs.iloc[int(choice)]
    return int(row["survivor_id"]), int(row["duplicate_id"])


def _preview_table(fields: pd.DataFrame) -> None:
    shown = fields.assign(
        survivor=fields["survivor"].map(lambda value: "" if value is None else str(value)),
        duplicate=fields["duplicate"].map(lambda value: "" if value is None else str(value)),
    )[["label", "survivor", "duplicate", "differs"]]
    data_table(
        shown, labels={"label": "Field", "survivor": "Kept record", "duplicate": "Duplicate", "differs": "Differs"}
    )


def merge_section(engine: Engine, actor: Actor) -> None:
    """Draw the section for roles that may merge; nothing for the others."""
    if not allowed(actor.role, Permission.MERGE_CUSTOMERS):
        return
    flash = st.session_state.pop(f"{KEY}__flash", None)
    if flash:
        st.success(flash, icon=":material/merge:")
    with st.expander("Merge duplicate customers", icon=":material/merge:"):
        pair = _pair_from_suggestions(engine)
        if pair is None:
            columns = st.columns(2)
            with columns[0]:
                survivor_id = pick_customer(engine, key=f"{KEY}_survivor", label="Customer to keep")
            with columns[1]:
                duplicate_id = pick_customer(engine, key=f"{KEY}_duplicate", label="Duplicate to merge into it")
            if survivor_id is None or duplicate_id is None:
                return
        else:
            survivor_id, duplicate_id = pair
        if survivor_id == duplicate_id:
            st.info("Pick two different customers.")
            return
        try:
            preview = merge_preview(engine, survivor_id, duplicate_id)
        except MergeError as error:
            st.error(str(error))
            return
        _preview_table(preview.fields)
        differing = preview.fields[preview.fields["differs"]]
        labels = dict(zip(differing["field"], differing["label"], strict=True))
        suggested = list(differing[differing["suggested"] == "duplicate"]["field"])
        taken = st.multiselect(
            "Take these fields from the duplicate (the others keep the kept record's value)",
            list(labels),
            default=suggested,
            format_func=labels.get,
            key=f"{KEY}_fields_{survivor_id}_{duplicate_id}",
        )
        moving = ", ".join(f"{count} {table.replace('_', ' ')}" for table, count in preview.moving.items() if count)
        st.caption(
            f"Moves to customer {survivor_id}: {moving or 'no other rows'}. Loyalty points are added up; "
            f"customer {duplicate_id} is then deleted. This cannot be undone (the audit log keeps both records)."
        )
        confirmed = st.checkbox(
            f"Yes, merge customer {duplicate_id} into customer {survivor_id}",
            key=f"{KEY}_confirm_{survivor_id}_{duplicate_id}",
        )
        if not st.button("Merge", type="primary", disabled=not confirmed, key=f"{KEY}_apply"):
            return
        try:
            outcome = merge_customers(
                engine,
                actor,
                survivor_id,
                duplicate_id,
                take_from_duplicate=taken,
                expected_versions=(int(preview.survivor["version"]), int(preview.duplicate["version"])),
            )
        except (MergeError, PermissionDeniedError) as error:
            st.error(str(error))
            return
        invalidate()
        st.session_state[f"{KEY}__flash"] = outcome.summary()
        st.session_state.pop(f"{KEY}_suggestion", None)
        st.rerun()
