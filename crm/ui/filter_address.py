"""The sidebar's filters in the page address, so a link, a bookmark or a saved view reopens the view.

The address carries ``crm.filters_url.filters_to_query`` of the filters plus ``period``, the
period preset as a slug (``last-30-days``): a bookmark of "Last 30 days" stays a rolling
window instead of freezing the days it was made on. ``period=custom`` (or no ``period`` with a
``start``/``end``, as digest mails link) is a fixed range; no ``period`` and no dates is all time,
which is what ``filters_to_query`` writes for filters without a period.

Each run compares the address with the one the sidebar last wrote (session state): a different
address is a link, a bookmark, a saved view or the browser's back button, and sets the widgets;
an address without filter parameters (the menu drops them when switching pages) keeps the
session's filters. After the widgets, the address is rewritten when the filters changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, timedelta

import streamlit as st

from crm.analytics.options import FilterChoices
from crm.filters import Filters
from crm.filters_url import FILTER_PARAMETERS, filters_from_query, filters_to_query

__all__ = [
    "ADDRESS_PARAMETERS",
    "PERIOD_PARAMETER",
    "address_of",
    "apply_address",
    "period_slug",
    "write_address",
]

PERIOD_PARAMETER = "period"
ADDRESS_PARAMETERS: tuple[str, ...] = (*FILTER_PARAMETERS, PERIOD_PARAMETER)
# Session state: the filter parameters the sidebar last wrote into the address.
WRITTEN_KEY = "crm_filter_address"
# Widget keys of the sidebar (crm/ui/sidebar.py) and the field each one sets.
PERIOD_KEY = "filter_period"
RANGE_KEY = "filter_custom_range"
AGE_KEY = "filter_age"


def period_slug(preset: str) -> str:
    """'Last 30 days' → 'last-30-days'."""
    return preset.lower().replace(" ", "-")


def address_of(filters: Filters, preset: str) -> dict[str, str]:
    """The address parameters of the sidebar's state: a rolling preset by name, a custom range by its days."""
    if preset == "Custom":
        return {**filters_to_query(filters), PERIOD_PARAMETER: period_slug(preset)}
    without_days = replace(filters, start_date=None, end_date=None)
    return {**filters_to_query(without_days), PERIOD_PARAMETER: period_slug(preset)}


def _widget_state(
    parameters: Mapping[str, str],
    *,
    presets: tuple[str, ...],
    age_bounds: tuple[int, int],
    choices: FilterChoices,
    offered: Mapping[str, tuple[str, ...]],
    base: Filters,
) -> tuple[dict[str, object], list[str]]:
    """The sidebar widget values that show ``parameters``, and what in them was ignored and why.

    ``offered``: the codes each multiselect offers, by Filters field; its widget key is
    ``filter_<field>`` (a filter added to the sidebar is carried by adding it there).
    """
    parsed = filters_from_query(parameters, base=base)
    problems = list(parsed.problems)
    filters = parsed.filters
    slugs = {period_slug(preset): preset for preset in presets}
    state: dict[str, object] = {}
    slug = parameters.get(PERIOD_PARAMETER)
    has_days = filters.start_date is not None or filters.end_date is not None
    if slug is not None and slug not in slugs:
        problems.append(f"period={slug!r} is not a known period and was ignored")
        slug = None
    if slug is None:
        slug = "custom" if has_days else "all-time"
    preset = slugs[slug]
    state[PERIOD_KEY] = preset
    if preset == "Custom":
        today = base.today or date.today()
        start = filters.start_date or choices.first_order_day or today - timedelta(days=364)
        end = filters.end_date or today
        state[RANGE_KEY] = (start, end) if start <= end else (end, end)
    for field_name, codes in offered.items():
        chosen = [code for code in getattr(filters, field_name) if code in codes]
        unknown = [code for code in getattr(filters, field_name) if code not in codes]
        if unknown:
            words = field_name.replace("_", " ")
            problems.append(f"{words} {', '.join(map(repr, unknown))} not offered here and ignored")
        state[f"filter_{field_name}"] = chosen
    low, high = age_bounds
    age_min = low if filters.age_min is None else min(max(filters.age_min, low), high)
    age_max = high if filters.age_max is None else min(max(filters.age_max, low), high)
    state[AGE_KEY] = (min(age_min, age_max), max(age_min, age_max))
    return state, problems


def _address_now() -> dict[str, str]:
    return {name: st.query_params[name] for name in ADDRESS_PARAMETERS if name in st.query_params}


def apply_address(
    *,
    presets: tuple[str, ...],
    age_bounds: tuple[int, int],
    choices: FilterChoices,
    offered: Mapping[str, tuple[str, ...]],
    base: Filters,
) -> list[str]:
    """Before the widgets are drawn: set them from a new address (or restore the session's filters).

    Returns the problems of a mangled address (each a short sentence), to be shown as a warning.
    """
    address = _address_now()
    written = st.session_state.get(WRITTEN_KEY)
    if address and address != written:
        source: Mapping[str, str] = address
    elif not address and isinstance(written, dict) and PERIOD_KEY not in st.session_state:
        # Back from a page without the sidebar (its widgets were forgotten): the session's filters.
        source = written
    else:
        return []
    state, problems = _widget_state(
        source, presets=presets, age_bounds=age_bounds, choices=choices, offered=offered, base=base
    )
    for key, value in state.items():
        st.session_state[key] = value
    return problems


def write_address(filters: Filters, preset: str) -> dict[str, str]:
    """After the widgets: put the filters into the address (other parameters stay); returns them."""
    wanted = address_of(filters, preset)
    current = _address_now()
    if current != wanted:
        for name in current.keys() - wanted.keys():
            del st.query_params[name]
        for name, value in wanted.items():
            if current.get(name) != value:
                st.query_params[name] = value
    st.session_state[WRITTEN_KEY] = wanted
    return wanted
