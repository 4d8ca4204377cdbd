"""The Segments page's widgets: a nested rule builder, live count and sample, saved segments, "Save as segment".

The rule being edited lives in ``st.session_state[TREE_STATE]`` as a tree of plain dicts, each
node with an ``id`` (widget keys) and a ``negated`` flag (the NOT toggle):

* group: ``{"id", "negated", "kind": "all"|"any", "children": [...]}``;
* condition: ``{"id", "negated", "field", "op", "value"}``.

``tree_to_rules`` turns it into the stored JSON format (a negated node becomes ``{"not": …}``),
``rules_to_tree`` the other way (for a saved segment or pasted JSON). Buttons change the tree
in their ``on_click`` callbacks, so the rerun that follows already shows the change.
"""

from __future__ import annotations

import itertools
import json
from datetime import date
from typing import Any

import streamlit as st
from sqlalchemy import Engine

from crm.filters import Filters
from crm.marketing.rules import (
    FIELDS,
    NULL_RULE_TEXT,
    OPERATORS_BY_KIND,
    VALUELESS,
    RuleError,
    parse_rules,
    rules_from_filters,
    rules_from_record_query,
    to_json_dict,
)
from crm.marketing.segments import (
    Segment,
    SegmentError,
    delete_segment,
    list_segments,
    rename_segment,
    save_segment,
    segment_count,
    segment_sample,
    update_segment,
)
from crm.permissions import Actor, Permission, PermissionDeniedError, allowed
from crm.ui.cache import cached
from crm.ui.charts import table_downloads
from crm.ui.plain import escape_markdown, plain_caption
from crm.ui.widgets import data_table

__all__ = [
    "TREE_STATE",
    "new_condition",
    "new_group",
    "rule_builder",
    "rules_json_panel",
    "rules_to_tree",
    "save_as_segment",
    "save_filters_as_segment",
    "save_grid_as_segment",
    "saved_segments_panel",
    "segment_preview",
    "tree_to_rules",
]

TREE_STATE = "segment_tree"
# The saved segment being edited (None: a new one).
LOADED_STATE = "segment_loaded_id"
_ids = itertools.count(1)
OPERATOR_WORDS = {
    "=": "is",
    "!=": "is not",
    "<": "<",
    "<=": "≤",
    ">": ">",
    ">=": "≥",
    "between": "between",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "is_empty": "is empty",
    "is_not_empty": "is not empty",
}
SAMPLE_ROWS = 20


def _new_id() -> str:
    return f"n{next(_ids)}"


def new_condition(field: str = "source", op: str | None = None, value: Any = None) -> dict[str, Any]:
    kind = FIELDS[field].kind
    return {"id": _new_id(), "negated": False, "field": field, "op": op or OPERATORS_BY_KIND[kind][0], "value": value}


def new_group(kind: str = "all", children: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"id": _new_id(), "negated": False, "kind": kind, "children": children or []}


# --- tree <-> JSON ----------------------------------------------------------------------------
def tree_to_rules(node: dict[str, Any]) -> dict[str, Any]:
    """The stored JSON of a builder tree (not yet validated: ``parse_rules`` does that)."""
    if "children" in node:
        rules: dict[str, Any] = {node["kind"]: [tree_to_rules(child) for child in node["children"]]}
    else:
        rules = {"field": node["field"], "op": node["op"]}
        if node["op"] not in VALUELESS:
            rules["value"] = node["value"]
    return {"not": rules} if node.get("negated") else rules


def rules_to_tree(rules: dict[str, Any], *, negated: bool = False) -> dict[str, Any]:
    """A builder tree of stored (valid) JSON rules; the root is always a group."""
    tree = _node(rules, negated=negated)
    if "children" not in tree:
        tree = new_group("all", [tree])
    return tree


def _node(rules: dict[str, Any], *, negated: bool) -> dict[str, Any]:
    if "not" in rules:
        return _node(rules["not"], negated=not negated)
    for kind in ("all", "any"):
        if kind in rules:
            group = new_group(kind, [_node(child, negated=False) for child in rules[kind]])
            group["negated"] = negated
            return group
    condition = new_condition(rules["field"], rules["op"], rules.get("value"))
    condition["negated"] = negated
    return condition


def _tree() -> dict[str, Any]:
    if TREE_STATE not in st.session_state:
        st.session_state[TREE_STATE] = new_group("all", [new_condition()])
    return st.session_state[TREE_STATE]


def load_rules(rules: dict[str, Any], segment_id: int | None = None) -> None:
    """Put ``rules`` into the builder (opening a saved segment or pasted JSON)."""
    st.session_state[TREE_STATE] = rules_to_tree(rules)
    st.session_state[LOADED_STATE] = segment_id


# --- callbacks ----------------------------------------------------------------------------------
def _add_condition(group: dict[str, Any]) -> None:
    group["children"].append(new_condition())


def _add_group(group: dict[str, Any], kind: str) -> None:
    group["children"].append(new_group(kind, [new_condition()]))


def _remove(parent: dict[str, Any], node_id: str) -> None:
    parent["children"] = [child for child in parent["children"] if child["id"] != node_id]


# --- value widgets --------------------------------------------------------------------------------
def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _number(text: str, integer: bool) -> int | float | str:
    try:
        number = float(text)
    except ValueError:
        return text  # parse_rules names it
    return int(number) if integer and number.is_integer() else number


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, date) else None


def _as_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _typed(value: Any, integer: bool) -> int | float:
    """A number input's value in the input's own type (Streamlit refuses an int value with a float step)."""
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
    return int(number) if integer else float(number)


def _value_widget(node: dict[str, Any], key: str) -> Any:
    """The value input of a condition, matching its field's type and operator; returns the JSON value."""
    spec = FIELDS[node["field"]]
    op, value = node["op"], node["value"]
    if op in VALUELESS:
        return None
    label = "Value"
    if spec.kind == "boolean":
        return st.selectbox(label, [True, False], index=0 if value is not False else 1, key=key,
                            format_func=lambda flag: "yes" if flag else "no")  # fmt: skip
    if op in ("in", "not_in"):
        current = value if isinstance(value, list) else []
        if spec.choices:
            chosen = st.multiselect(label, list(spec.choices), default=[v for v in current if v in spec.choices],
                                    key=key)  # fmt: skip
            return chosen
        text = st.text_input(label, ", ".join(str(item) for item in current), key=key,
                             help="Several values, separated by commas.")  # fmt: skip
        items = _split(text)
        return [_number(item, spec.integer) for item in items] if spec.kind == "number" else items
    if op == "between":
        low, high = value if isinstance(value, list) and len(value) == 2 else (None, None)
        left, right = st.columns(2)
        if spec.kind == "date":
            with left:
                start = st.date_input("From", _as_date(low) or date.today(), key=f"{key}_low")
            with right:
                end = st.date_input("To", _as_date(high) or date.today(), key=f"{key}_high")
            return [_iso(start), _iso(end)]
        step = 1 if spec.integer else 1.0
        with left:
            start = st.number_input("From", value=_typed(low, spec.integer), step=step, key=f"{key}_low")
        with right:
            end = st.number_input("To", value=_typed(high, spec.integer), step=step, key=f"{key}_high")
        return [start, end]
    if spec.kind == "date":
        return _iso(st.date_input(label, _as_date(value) or date.today(), key=key))
    if spec.kind == "number":
        return st.number_input(label, value=_typed(value, spec.integer), step=1 if spec.integer else 1.0, key=key)
    if spec.choices and op in ("=", "!="):
        index = spec.choices.index(value) if value in spec.choices else 0
        return st.selectbox(label, list(spec.choices), index=index, key=key)
    return st.text_input(label, value if isinstance(value, str) else "", key=key)


def _condition_row(node: dict[str, Any], parent: dict[str, Any]) -> None:
    node_id = node["id"]
    columns = st.columns([0.9, 2.2, 1.6, 3, 0.5], vertical_alignment="bottom")
    with columns[0]:
        node["negated"] = st.checkbox("NOT", value=node["negated"], key=f"seg_{node_id}_not")
    with columns[1]:
        names = list(FIELDS)
        node["field"] = st.selectbox(
            "Field", names, index=names.index(node["field"]), key=f"seg_{node_id}_field",
            format_func=lambda name: FIELDS[name].label,
        )  # fmt: skip
    operators = list(OPERATORS_BY_KIND[FIELDS[node["field"]].kind])
    if node["op"] not in operators:
        node["op"], node["value"] = operators[0], None
    with columns[2]:
        node["op"] = st.selectbox(
            "Operator", operators, index=operators.index(node["op"]), key=f"seg_{node_id}_op_{node['field']}",
            format_func=lambda op: OPERATOR_WORDS[op],
        )  # fmt: skip
    with columns[3]:
        node["value"] = _value_widget(node, f"seg_{node_id}_value_{node['field']}_{node['op']}")
    with columns[4]:
        st.button("", icon=":material/close:", key=f"seg_{node_id}_remove", help="Remove this condition",
                  on_click=_remove, args=(parent, node_id))  # fmt: skip
    st.caption(FIELDS[node["field"]].description)


def _group(node: dict[str, Any], parent: dict[str, Any] | None, depth: int) -> None:
    node_id = node["id"]
    with st.container(border=True):
        header = st.columns([0.9, 4.5, 2, 0.5], vertical_alignment="center")
        with header[0]:
            node["negated"] = st.checkbox("NOT", value=node["negated"], key=f"seg_{node_id}_not")
        with header[1]:
            node["kind"] = st.segmented_control(
                "Match", ["all", "any"], default=node["kind"], key=f"seg_{node_id}_kind",
                format_func=lambda kind: "ALL of (AND)" if kind == "all" else "ANY of (OR)",
            ) or node["kind"]  # fmt: skip
        if parent is not None:
            with header[3]:
                st.button("", icon=":material/delete:", key=f"seg_{node_id}_remove", help="Remove this group",
                          on_click=_remove, args=(parent, node_id))  # fmt: skip
        if not node["children"]:
            st.caption("An empty ALL group holds for everyone; an empty ANY group for no one.")
        for child in list(node["children"]):
            if "children" in child:
                _group(child, node, depth + 1)
            else:
                _condition_row(child, node)
        buttons = st.columns(3)
        with buttons[0]:
            st.button("Condition", icon=":material/add:", key=f"seg_{node_id}_add_condition",
                      help="Add a condition to this group", on_click=_add_condition, args=(node,))  # fmt: skip
        with buttons[1]:
            st.button("AND group", icon=":material/add_box:", key=f"seg_{node_id}_add_all",
                      help="Add a nested group whose conditions must all hold",
                      on_click=_add_group, args=(node, "all"))  # fmt: skip
        with buttons[2]:
            st.button("OR group", icon=":material/library_add:", key=f"seg_{node_id}_add_any",
                      help="Add a nested group of which one condition must hold",
                      on_click=_add_group, args=(node, "any"))  # fmt: skip


def rule_builder() -> dict[str, Any] | None:
    """Draw the builder; return the valid rules, or None after showing what is wrong with them."""
    st.info(NULL_RULE_TEXT, icon=":material/help:")
    tree = _tree()
    _group(tree, None, 0)
    rules = tree_to_rules(tree)
    try:
        parse_rules(rules)
    except RuleError as error:
        st.error(f"This rule cannot be used yet: {escape_markdown(str(error))}")
        return None
    return rules


def rules_json_panel(rules: dict[str, Any] | None) -> None:
    """The rules as JSON, and a box to paste JSON into the builder (for power users)."""
    with st.expander("Rules as JSON"):
        current = tree_to_rules(_tree())
        st.code(json.dumps(current, indent=2, ensure_ascii=False), language="json")
        pasted = st.text_area("Paste rules (JSON) to replace the builder", key="segment_json_paste", height=140)
        if st.button("Use these rules", key="segment_json_apply"):
            try:
                parsed = parse_rules(pasted)
            except RuleError as error:
                st.error(escape_markdown(str(error)))
            else:
                load_rules(to_json_dict(parsed), st.session_state.get(LOADED_STATE))
                st.rerun()


def segment_preview(
    engine: Engine, actor: Actor, rules: dict[str, Any] | None, *, file_name: str, count_slot: Any
) -> None:
    """Live count (drawn into ``count_slot``, above the builder), a sample of members, CSV/XLSX of all members."""
    if rules is None:
        count_slot.metric("Customers in this segment", "—")
        return
    # Cached by the rule: clicking through the builder back to an earlier rule costs no query.
    count = cached(segment_count, rules)
    count_slot.metric("Customers in this segment", f"{count:,}")
    if count == 0:
        st.caption("No customer matches these rules today.")
        return
    sample = cached(segment_sample, rules, limit=SAMPLE_ROWS)
    st.caption(f"The first {len(sample)} members by customer id:" if count > len(sample) else "All members:")
    data_table(sample)
    table_downloads(lambda: segment_sample(engine, rules, limit=None), name=file_name, personal=True, actor=actor)


def _report(action: Any, success: str) -> bool:
    try:
        action()
    except (SegmentError, RuleError, PermissionDeniedError) as error:
        st.error(escape_markdown(str(error)))
        return False
    st.success(success)
    return True


def saved_segments_panel(engine: Engine, actor: Actor, rules: dict[str, Any] | None) -> None:
    """Open, save (new or changes), rename and delete saved segments."""
    saved = list_segments(engine)
    by_id = {segment.id: segment for segment in saved}
    loaded_id = st.session_state.get(LOADED_STATE)
    loaded: Segment | None = by_id.get(loaded_id) if loaded_id is not None else None
    may_write = allowed(actor.role, Permission.MANAGE_SEGMENTS)
    if saved:
        choice = st.selectbox(
            "Saved segments", [None, *by_id], key="segment_open_choice",
            format_func=lambda segment_id: "— choose —" if segment_id is None else by_id[segment_id].name,
        )  # fmt: skip
        if st.button("Open in the builder", key="segment_open", disabled=choice is None):
            try:
                # A row written outside the app may hold rules the builder cannot draw: say what is wrong.
                opened = to_json_dict(parse_rules(by_id[choice].rules))
            except RuleError as error:
                st.error(f"This segment's stored rules are not valid: {escape_markdown(str(error))}")
            else:
                load_rules(opened, choice)
                st.rerun()
    else:
        st.caption("No saved segment yet.")
    if loaded is not None:
        plain_caption(f"Editing “{loaded.name}” (used by {loaded.campaign_count} campaigns).")
    if not may_write:
        return
    name = st.text_input("Name", key="segment_new_name")
    description = st.text_input("Description (optional)", key="segment_new_description")
    if st.button("Save as new segment", key="segment_save_new", disabled=rules is None) and rules is not None:
        saved_id: list[int] = []
        if _report(lambda: saved_id.append(save_segment(engine, actor, name, rules, description)), "Saved."):
            st.session_state[LOADED_STATE] = saved_id[0]
    if loaded is None:
        return
    if st.button(f"Save changes to “{loaded.name}”", key="segment_save_changes", disabled=rules is None):
        _report(
            lambda: update_segment(engine, actor, loaded.id, rules=rules, expected_version=loaded.version),
            "Changes saved.",
        )
    new_name = st.text_input("New name", value=loaded.name, key=f"segment_rename_{loaded.id}")
    if st.button("Rename", key="segment_rename"):
        _report(lambda: rename_segment(engine, actor, loaded.id, new_name), "Renamed.")
    confirm = st.checkbox("Yes, delete it (its campaigns are kept)", key=f"segment_delete_confirm_{loaded.id}")
    deleting = st.button("Delete segment", key="segment_delete", disabled=not confirm, type="primary")
    if deleting and _report(lambda: delete_segment(engine, actor, loaded.id), "Deleted."):
        st.session_state[LOADED_STATE] = None


def save_as_segment(engine: Engine, actor: Actor, rules: dict[str, Any], *, key: str, default_name: str = "") -> None:
    """A small "Save as segment" form for pages that list people (RFM segments, CLV tiers, filters)."""
    if not allowed(actor.role, Permission.MANAGE_SEGMENTS):
        return
    with st.popover("Save as segment", icon=":material/bookmark_add:"):
        st.caption("Saves these customers' rule as a segment on the Segments page (members are recomputed each time).")
        name = st.text_input("Segment name", value=default_name, key=f"{key}_segment_name")
        if st.button("Save segment", key=f"{key}_segment_save"):
            _report(lambda: save_segment(engine, actor, name, rules), "Saved; open it on the Segments page.")


def save_filters_as_segment(
    engine: Engine, actor: Actor, filters: Filters, *extra: dict[str, Any], key: str, default_name: str
) -> None:
    """ "Save as segment" of the sidebar's customer filters (plus ``extra`` conditions, e.g. an RFM segment)."""
    save_as_segment(engine, actor, rules_from_filters(filters, *extra), key=key, default_name=default_name)


def save_grid_as_segment(engine: Engine, actor: Actor, query: Any, *, key: str) -> None:
    """ "Save as segment" of the Customers grid's filters (its search text has no rule field)."""
    if not allowed(actor.role, Permission.MANAGE_SEGMENTS):
        return
    if query.search.strip():
        st.caption("The search text is not part of a saved segment; the other filters are.")
    save_as_segment(engine, actor, rules_from_record_query(query), key=key, default_name="Customers selection")
