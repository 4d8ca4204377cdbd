"""The shared filter sidebar, rendered once by Home.py so its state carries across pages."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import streamlit as st
from sqlalchemy import Engine

from crm.analytics.options import FilterChoices, filter_choices
from crm.filters import Filters
from crm.loyalty.tiers import tier_names
from crm.permissions import Actor
from crm.schema import CUSTOMER_STATUSES, CUSTOMER_TYPES, GENDERS
from crm.settings import get_settings
from crm.ui.cache import cached
from crm.ui.filter_address import apply_address, write_address
from crm.ui.saved_views_view import saved_views_sidebar
from crm.ui.widgets import readable

__all__ = ["PERIOD_PRESETS", "current_filters", "every_or_chosen", "render_filter_sidebar"]

# The default first: a selectbox whose state Streamlit dropped shows its first option, and in the browser
# tests the period was seen to fall back that way after several page switches (cause not yet found).
PERIOD_PRESETS = ("Last 12 months", "This month", "Last 30 days", "Last 90 days", "This year", "All time", "Custom")
FILTERS_KEY = "crm_filters"
DEFAULT_PERIOD = "Last 12 months"
# Age slider bounds: customers are adults; 100 covers everyone realistic.
AGE_BOUNDS = (18, 100)


def _preset_range(preset: str, today: date) -> tuple[date | None, date | None]:
    if preset == "This month":
        return today.replace(day=1), today
    if preset == "Last 30 days":
        return today - timedelta(days=29), today
    if preset == "Last 90 days":
        return today - timedelta(days=89), today
    if preset == "This year":
        return today.replace(month=1, day=1), today
    if preset == "Last 12 months":
        return today - timedelta(days=364), today
    return None, None


def every_or_chosen(chosen: list[str], offered: tuple[str, ...]) -> tuple[str, ...]:
    """The chosen values, or () when every offered value is chosen: "all sources" is no source filter.

    So the caption above each chart does not list all seven sources, and customers without a
    source (never offered) are not dropped by picking "all".
    """
    return () if offered and set(chosen) >= set(offered) else tuple(chosen)


def _default_state(choices: FilterChoices, today: date) -> None:
    """Widget defaults through session state (not ``index=``/``value=``), so an address can set them."""
    st.session_state.setdefault("filter_period", DEFAULT_PERIOD)
    st.session_state.setdefault("filter_age", AGE_BOUNDS)
    if st.session_state["filter_period"] == "Custom":
        default_start = choices.first_order_day or today - timedelta(days=364)
        st.session_state.setdefault("filter_custom_range", (default_start, today))


def render_filter_sidebar(engine: Engine | None = None, actor: Actor | None = None, page: str | None = None) -> Filters:
    """Draw the filter widgets in the sidebar and return (and remember) the ``Filters``.

    The filters come from the page address when it carries them (a shared link, a bookmark, a
    digest mail, a saved view) and are written back into it (``crm.ui.filter_address``). With
    ``engine``, ``actor`` and ``page`` (the page's address) the sidebar also offers saved views.
    """
    settings = get_settings()
    today = datetime.now(settings.timezone).date()
    choices = cached(filter_choices)
    sidebar = st.sidebar
    sidebar.header("Filters")
    tiers = cached(tier_names)
    problems = apply_address(
        presets=PERIOD_PRESETS,
        age_bounds=AGE_BOUNDS,
        choices=choices,
        # The codes each multiselect offers (widget key filter_<field>); a link's other codes are named.
        offered={
            "sources": choices.sources,
            "brands": choices.brands,
            "genders": GENDERS,
            "customer_types": CUSTOMER_TYPES,
            "customer_statuses": CUSTOMER_STATUSES,
            "loyalty_tiers": tiers,
        },
        base=Filters(timezone_name=settings.timezone_name, today=today),
    )
    if problems:
        sidebar.warning("This link's filters could not all be used: " + "; ".join(problems) + ".")
    _default_state(choices, today)
    preset = sidebar.selectbox("Period", PERIOD_PRESETS, key="filter_period")
    start, end = _preset_range(preset, today)
    if preset == "Custom":
        picked = sidebar.date_input("From – to", key="filter_custom_range")
        if isinstance(picked, tuple) and len(picked) == 2:
            start, end = picked
        else:
            sidebar.caption("Pick an end date to apply the range.")
    sources = sidebar.multiselect("Source", choices.sources, key="filter_sources", format_func=readable)
    brands = sidebar.multiselect("Brand", choices.brands, key="filter_brands")
    genders = sidebar.multiselect("Gender", GENDERS, key="filter_genders", format_func=readable)
    age_min, age_max = sidebar.slider("Age", *AGE_BOUNDS, key="filter_age")
    customer_types = sidebar.multiselect(
        "Customer type", CUSTOMER_TYPES, key="filter_customer_types", format_func=readable
    )
    statuses = sidebar.multiselect(
        "Customer status", CUSTOMER_STATUSES, key="filter_customer_statuses", format_func=readable
    )
    loyalty_tiers = sidebar.multiselect(
        "Loyalty tier", tiers, key="filter_loyalty_tiers", format_func=readable, help="Tier of the points balance now."
    )
    filters = Filters(
        start_date=start,
        end_date=end,
        sources=every_or_chosen(sources, choices.sources),
        brands=every_or_chosen(brands, choices.brands),
        genders=every_or_chosen(genders, GENDERS),
        # The full slider range means "any age", which also keeps customers without a birth date.
        age_min=None if age_min == AGE_BOUNDS[0] and age_max == AGE_BOUNDS[1] else age_min,
        age_max=None if age_min == AGE_BOUNDS[0] and age_max == AGE_BOUNDS[1] else age_max,
        customer_types=every_or_chosen(customer_types, CUSTOMER_TYPES),
        customer_statuses=every_or_chosen(statuses, CUSTOMER_STATUSES),
        loyalty_tiers=every_or_chosen(loyalty_tiers, tiers),
        timezone_name=settings.timezone_name,
        today=today,
    )
    st.session_state[FILTERS_KEY] = filters
    write_address(filters, preset)
    if engine is not None and actor is not None and page is not None:
        saved_views_sidebar(engine, actor, page)
    return filters


def current_filters() -> Filters:
    """The filters chosen in the sidebar on this run (all data if the sidebar wasn't drawn)."""
    filters = st.session_state.get(FILTERS_KEY)
    if isinstance(filters, Filters):
        return filters
    settings = get_settings()
    return Filters(timezone_name=settings.timezone_name, today=datetime.now(settings.timezone).date())
