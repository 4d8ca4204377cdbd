"""Sections of the Lifetime value page (and Customer 360's value cards), drawn from one ``ClvAnalysis``.

The numbers come from ``crm.analytics.clv`` (value tiers, CLV by source, cohorts, top
customers, one customer's row, holdout check); this module only caches and lays them out as
KPI cards, charts and tables.

Caching is two-level: the fit (``load_or_fit_clv``: SQL summary + models, the costly part) is
stored in the database for every server process and cached by filters, as-of date, unit and
model; its scores by the fit and the horizon. Changing only the horizon therefore rescores a
cached fit instead of fitting again.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import date

import pandas as pd
import plotly.express as px
import streamlit as st

from crm.analytics.clv import (
    DEFAULT_HORIZON_MONTHS,
    DEFAULT_MODEL,
    DEFAULT_UNIT,
    MODEL_WORDS,
    MONETARY_CORRELATION_WARNING,
    MONTHLY_DISCOUNT_RATE,
    ClvAnalysis,
    ClvModel,
    CustomerClv,
    ModelName,
    Unit,
    churn_rule,
    clv_by_source,
    clv_overview,
    cohort_clv_trend,
    customer_value,
    find_customers,
    model_label,
    order_days,
    score_clv,
    top_customers,
    value_tiers,
)
from crm.analytics.clv.stored import load_or_fit_clv, refit_clv
from crm.analytics.clv_actions import action_groups, customers_word, slipping_away_sentence
from crm.filters import Filters
from crm.marketing.rules import customer_ids_rule
from crm.permissions import Actor, Permission, allowed
from crm.ui.cache import CACHE_SECONDS, cached, invalidate
from crm.ui.charts import show_chart, table_downloads
from crm.ui.plain import escape_markdown
from crm.ui.resources import get_engine
from crm.ui.segment_builder import save_as_segment
from crm.ui.sidebar import current_filters
from crm.ui.widgets import MISSING, data_table, format_money, format_money_short, format_percent, kpi_card, readable

__all__ = [
    "as_of_input",
    "cohort_trend",
    "customer_cards",
    "customer_lookup",
    "holdout_check",
    "model_caption",
    "model_notes",
    "overview_cards",
    "page_analysis",
    "refit_button",
    "save_people_as_segment",
    "shop_filters",
    "slipping_away",
    "tiers_and_sources",
    "top_table",
]

# Legend names of the cohort trend's series.
COHORT_SERIES = {
    "average_historic": "Spent so far",
    "average_predicted": "Expected spend (horizon, discounted)",
    "average_total": "Spent + expected",
}
# Rows shown in the top-customers table (the issue asks for the top 20).
TOP_CUSTOMERS = 20
# Matches offered by the customer lookup (highest CLV first); a longer list is no easier to pick from.
LOOKUP_MATCHES = 50
# Scored analyses kept per server: a few horizons of a few fits.
SCORED_ENTRIES = 32
_MONEY = st.column_config.NumberColumn(format="dollar")
_PERCENT = st.column_config.NumberColumn(format="percent")
# What P(alive) shows for a BG/NBD one-time buyer (the model says 100 % however long ago they bought).
BOUGHT_ONCE = "n/a (bought once)"


# --- data ----------------------------------------------------------------------------------------
@st.cache_data(
    ttl=CACHE_SECONDS,
    max_entries=SCORED_ENTRIES,
    show_spinner=False,
    # A fit is identified by its token: hashing it is instant, hashing its summary frame is not.
    hash_funcs={ClvModel: lambda fitted: fitted.token},
)
def _scored(fitted: ClvModel, horizon: int) -> ClvAnalysis:
    return score_clv(fitted, horizon=horizon)


def page_analysis(
    filters: Filters,
    *,
    as_of: date | None = None,
    unit: Unit = DEFAULT_UNIT,
    horizon: int = DEFAULT_HORIZON_MONTHS,
    model: ModelName = DEFAULT_MODEL,
) -> ClvAnalysis:
    """The CLV analysis for a page: the fit cached by (filters, as-of, unit, model), its scores by horizon.

    A write clears the fit (``crm.ui.cache.invalidate``); the refit gets a new token, so stale
    scores are never reused.
    """
    with st.spinner("Computing lifetime values…"):
        # Stored in the database and shared by every server process until the data changes.
        fitted = cached(load_or_fit_clv, filters, as_of=as_of, unit=unit, model=model)
        return _scored(fitted, int(horizon))


def refit_button(
    filters: Filters,
    *,
    as_of: date | None = None,
    unit: Unit = DEFAULT_UNIT,
    model: ModelName = DEFAULT_MODEL,
) -> None:
    """A "Refit" button: fits these inputs again now and replaces the stored fit for every server."""
    if st.button(
        "Refit", key="clv_refit", help="Fit the models again now (the stored fit is reused until data changes)."
    ):
        with st.spinner("Fitting the models…"):
            refit_clv(get_engine(), filters, as_of=as_of, unit=unit, model=model)
        invalidate()
        st.rerun()


def shop_filters() -> Filters:
    """Every customer and their whole history up to today, in the app's time zone.

    This is exactly the CLV page's default population (sidebar period ending today, whole
    history on, no other filter), so Customer 360 shares that page's cached fit and numbers.
    """
    current = current_filters()
    today = current.reference_day()
    return Filters(end_date=today, timezone_name=current.timezone_name, today=today)


def as_of_input(container: st.delta_generator.DeltaGenerator, filters: Filters) -> date | None:
    """The as-of date picker, limited to the first … last order day of ``filters`` (None: the last).

    A later date would age every customer without new data (everyone looks lapsed); an
    earlier one has nobody to score. A date kept from other filters is moved inside the range.
    """
    first_day, last_day = cached(order_days, filters)
    key = "clv_as_of"
    chosen = st.session_state.get(key)
    if isinstance(chosen, date) and first_day is not None and last_day is not None:
        st.session_state[key] = min(max(chosen, first_day), last_day)
    return container.date_input(
        "As of (blank: last order)",
        value=None,
        min_value=first_day,
        max_value=last_day or filters.reference_day(),
        key=key,
        help=(
            "Ends the calibration period; later orders become the holdout check. "
            f"From the first to the last order day matching the filters ({_day(first_day)} – {_day(last_day)})."
        ),
    )


def _day(day: date | None) -> str:
    return f"{day:%d %b %Y}" if day else MISSING


# --- page sections -----------------------------------------------------------------------------
def model_notes(analysis: ClvAnalysis) -> None:
    """Boundary fits, a sampled fit, a doubtful Gamma-Gamma assumption (why there is no model: the page says)."""
    for caution in analysis.cautions:
        st.warning(caution, icon=":material/warning:")
    if analysis.sample_note:
        st.info(analysis.sample_note, icon=":material/info:")
    if analysis.monetary_message:
        st.info(analysis.monetary_message)
    correlation = analysis.monetary_correlation
    if analysis.fitted and correlation is not None and abs(correlation) > MONETARY_CORRELATION_WARNING:
        st.info(
            "Gamma-Gamma assumes spend per purchase does not depend on how often customers buy; here they "
            f"correlate ({correlation:+.2f}), so predicted values are less reliable."
        )


def overview_cards(analysis: ClvAnalysis) -> None:
    """Six KPI cards in plain words (glossary terms): expected spend next to what was spent so far."""
    overview = clv_overview(analysis)
    months = analysis.horizon
    if analysis.fitted:
        per_customer, everyone = format_money(overview.average_clv), format_money_short(overview.total_clv)
        exact = f"Exactly {format_money(overview.total_clv)}; {model_label(analysis)}."
    else:
        per_customer = everyone = MISSING
        exact = "No model could be fitted to these orders (see the note above), so there is no prediction."
    rows = [
        [
            (f"Expected spend per customer, next {months} months", per_customer, None),
            ("Spent so far per customer", format_money(overview.average_historic), None),
            (f"Expected spend, all customers, next {months} months", everyone, exact),
        ],
        [
            ("Average order value, whole history", format_money(overview.average_order_value), None),
            ("Orders per buyer, whole history", f"{overview.purchase_frequency:.2f}", None),
            ("Average lifespan", f"{overview.average_lifespan_days:,.0f} days", None),
        ],
    ]
    for row in rows:
        for column, (label, value, note) in zip(st.columns(3), row, strict=True):
            with column:
                kpi_card(label, value, note, months=months)
    st.caption(
        f"As of {_day(analysis.as_of)} · customers with a purchase: {overview.customers:,}, "
        f"bought more than once: {overview.repeat_buyers:,}."
    )


def model_caption(analysis: ClvAnalysis) -> None:
    """The model and its fitted parameters (for analysts)."""
    overview = clv_overview(analysis)
    params = ", ".join(f"{name}={value:.3g}" for name, value in {**analysis.params, **analysis.monetary_params}.items())
    model = f"{model_label(analysis)}: {params}" if analysis.fitted else model_label(analysis)
    fitted_on = ""
    if analysis.fitted and analysis.fitted_customers < overview.customers:
        fitted_on = f" (fitted on a sample of {analysis.fitted_customers:,})"
    alive = "" if overview.average_p_alive is None else f" · mean P(alive) {format_percent(overview.average_p_alive)}"
    st.caption(f"{model}{fitted_on}{alive} · slipping away = {churn_rule(analysis)}.")


def slipping_away(analysis: ClvAnalysis, actor: Actor) -> None:
    """Who is slipping away in one sentence, then every customer group with what to do about it."""
    st.markdown(escape_markdown(slipping_away_sentence(analysis)))
    groups = action_groups(analysis)
    for group in groups:
        expected = "" if group.expected_spend is None else f", expected {format_money_short(group.expected_spend)}"
        st.markdown(
            f"**{escape_markdown(group.name)}** ({customers_word(group.customers)}, spent "
            f"{escape_markdown(format_money_short(group.spent_so_far))}{escape_markdown(expected)}) → "
            f"{escape_markdown(group.action)}"
        )
    if groups and allowed(actor.role, Permission.EXPORT_AGGREGATES):
        table_downloads(pd.DataFrame([asdict(group) for group in groups]), name="clv_action_groups")


def tiers_and_sources(analysis: ClvAnalysis, actor: Actor) -> None:
    """Value tiers (chart + table + download) next to CLV by source (chart + download)."""
    tiers, sources = st.columns(2)
    may_export = allowed(actor.role, Permission.EXPORT_AGGREGATES)
    with tiers:
        st.subheader("Value tiers")
        tier_table = value_tiers(analysis)
        worth = "Expected spend" if analysis.fitted else "Spent so far"
        horizon_note = f", next {analysis.horizon} months" if analysis.fitted else ""
        figure = px.bar(
            tier_table.assign(tier=tier_table["tier"].map(readable)), x="tier", y="value", text="customers",
            title=f"{worth} per value tier (labels: customers)",
            labels={"value": f"{worth}{horizon_note} ($)", "tier": "Value tier", "customers": "Customers"},
            hover_data={"value": ":$,.0f", "customers": ":,"},
        )  # fmt: skip
        figure.update_yaxes(tickprefix="$")
        show_chart(figure, name="clv_tiers")
        # Tier, customers, their share and value share fit the half-width column; the rest is in the download.
        data_table(
            tier_table.assign(tier=tier_table["tier"].map(readable)),
            labels={"value": worth, "average_value": f"{worth} per customer"},
            hidden=[name for name in tier_table.columns if name not in ("tier", "customers", "value", "value_share")],
            key="clv_tier_table",
        )
        if may_export:
            table_downloads(tier_table, name="clv_value_tiers")
    with sources:
        st.subheader("By customer source")
        source_table = clv_by_source(analysis)
        figure = px.bar(
            source_table.assign(source=source_table["source"].map(readable)), x="source", y="total_clv",
            title=f"{worth} per customer source",
            labels={
                "total_clv": f"{worth}{horizon_note} ($)",
                "source": "Source",
                "customers": "Customers",
                "average_clv": f"{worth} per customer",
            },
            hover_data={"total_clv": ":$,.0f", "customers": ":,", "average_clv": ":$,.2f"},
        )  # fmt: skip
        figure.update_yaxes(tickprefix="$")
        show_chart(figure, name="clv_by_source")
        if may_export:
            table_downloads(source_table, name="clv_by_source")


def cohort_trend(analysis: ClvAnalysis) -> None:
    """Average CLV per customer of each month's new customers (historic, predicted, total)."""
    st.subheader("Value of each month's new customers")
    columns = ["average_historic", "average_predicted", "average_total"] if analysis.fitted else ["average_historic"]
    figure = px.line(
        cohort_clv_trend(analysis).rename(columns=COHORT_SERIES),
        x="cohort",
        y=[COHORT_SERIES[column] for column in columns],
        markers=True,
        title="Per customer, by month of first purchase",
        labels={"value": "Per customer ($)", "cohort": "Month of first purchase", "variable": ""},
    )
    figure.update_yaxes(tickprefix="$")
    figure.update_traces(hovertemplate="%{fullData.name}, cohort %{x|%b %Y}: $%{y:,.2f}<extra></extra>")
    show_chart(figure, name="clv_cohorts")


def top_table(analysis: ClvAnalysis, actor: Actor) -> None:
    """The customers with the highest CLV; downloadable only with the personal-data export permission."""
    st.subheader(f"Top {TOP_CUSTOMERS} customers by expected spend")
    top = top_customers(analysis, TOP_CUSTOMERS)
    shown = top.assign(source=top["source"].map(readable), tier=top["tier"].map(readable))
    horizon = f"next {analysis.horizon} months"
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        height=36 * (len(top) + 1) + 3,  # every row visible, no inner scrolling
        placeholder=BOUGHT_ONCE if analysis.one_time_churn_days is not None else MISSING,
        column_config={
            "customer_id": st.column_config.NumberColumn(
                "ID", format="%d", width="small"
            ),  # "plain" shows 467 as 466.99999999999994
            "name": st.column_config.TextColumn("Customer"),
            "source": st.column_config.TextColumn("Source"),
            "tier": st.column_config.TextColumn("Tier", width="small"),
            "orders": st.column_config.NumberColumn(
                "Orders", help="Counted orders up to the as-of date.", width="small"
            ),
            "historic_value": st.column_config.NumberColumn(
                "Spent so far", format="dollar", help="Spent up to the as-of date."
            ),
            # Model detail (expected orders, P(alive)) is in the downloads and the analysts' section, not here:
            # the table then fits the page width without a horizontal scroll bar.
            "expected_purchases": None,
            "predicted_value": st.column_config.NumberColumn(
                f"Expected, {analysis.horizon} mo.", format="dollar", help=f"Likely spend in the {horizon}, discounted."
            ),
            "p_alive": None,
            "churn_risk": st.column_config.CheckboxColumn(
                "Slipping away", help=f"Flagged when {churn_rule(analysis)}.", width="small"
            ),
            "last_purchase": st.column_config.DateColumn("Last purchase", format="YYYY-MM-DD"),
        },
    )
    if allowed(actor.role, Permission.EXPORT_PERSONAL_DATA):
        table_downloads(top, name="clv_top_customers", personal=True)  # names and emails of customers


def customer_lookup(analysis: ClvAnalysis) -> None:
    """Find one customer by name or email and show their row of the analysis (no refit)."""
    st.subheader("Look up a customer")
    search_column, pick_column = st.columns([1, 2])
    search = search_column.text_input(
        "Name or email", key="clv_lookup_search", placeholder="Part of a name or an email address"
    )
    matches = find_customers(analysis, search, limit=LOOKUP_MATCHES)
    if matches.empty:
        st.caption("No customer with a purchase up to the as-of date matches that name or email.")
        return
    labels = dict(zip(matches["customer_id"].tolist(), matches["label"].tolist(), strict=True))
    chosen = pick_column.selectbox(
        "Customer",
        list(labels),
        format_func=labels.get,
        key="clv_lookup_customer",
        help=f"Matching customers, highest CLV first (at most {LOOKUP_MATCHES}).",
    )
    customer_cards(customer_value(analysis, int(chosen)), with_historic=True)


def customer_cards(one: CustomerClv, *, with_historic: bool) -> None:
    """One customer's value cards in plain words: (spent so far,) expected spend and orders, slipping away.

    The model's P(alive) is in the caption under the cards, for analysts.
    """
    months = one.horizon
    discount = f"Discounted by {MONTHLY_DISCOUNT_RATE:.0%} a month; {one.model}."
    slipping = MISSING if one.churn_risk is None else ("Yes" if one.churn_risk else "No")
    cards = [
        (f"Expected spend, next {months} months", format_money(one.predicted_value), discount),
        (
            f"Expected orders, next {months} months",
            MISSING if one.expected_purchases is None else f"{one.expected_purchases:,.2f}",
            None,
        ),
        ("Slipping away", slipping, f"Flagged when {one.churn_rule}." if one.churn_rule else "No purchase yet."),
    ]
    if with_historic:
        # Short money (a top customer's $21,216.65 does not fit a narrow card); the exact amount in the help.
        historic_help = (
            f"Up to {_day(one.as_of)}: {one.orders:,} counted orders, exactly {format_money(one.historic_value)}."
        )
        cards.insert(0, ("Spent so far", format_money_short(one.historic_value), historic_help))
    for column, (label, value, note) in zip(st.columns(len(cards)), cards, strict=True):
        with column:
            kpi_card(label, value, note, months=months)
    if one.p_alive is not None:
        alive = format_percent(one.p_alive)
    else:
        alive = BOUGHT_ONCE if one.bought_once and one.predicted_value is not None else MISSING
    if one.orders:
        st.caption(
            f"{one.model} · as of {_day(one.as_of)} · tier {one.tier} · last purchase {_day(one.last_purchase)} · "
            f"chance still active (P(alive)): {alive}"
        )
    if one.message:
        st.info(one.message, icon=":material/hourglass_empty:")


def holdout_check(analysis: ClvAnalysis) -> None:
    """Predicted vs actual repeat purchases after the as-of date, per calibration frequency group."""
    if analysis.holdout is None or analysis.holdout_error is None:
        return
    error = analysis.holdout_error
    st.subheader("Holdout check")
    total_error = error["total_error"]
    verdict = (
        f"total error {total_error:+.1%}" if isinstance(total_error, float) and math.isfinite(total_error)
        else "no repeat purchases happened in the holdout"
    )  # fmt: skip
    st.caption(
        f"Repeat purchases from {error['holdout_start']} to {error['holdout_end']}: predicted "
        f"{error['predicted_purchases']:,.0f}, actual {error['actual_purchases']:,.0f} ({verdict}); "
        f"{MODEL_WORDS[analysis.model]} fitted on the orders up to {_day(analysis.as_of)}."
    )
    figure = px.bar(
        analysis.holdout,
        x="frequency_group",
        y=["actual_purchases", "predicted_purchases"],
        barmode="group",
        labels={"value": "mean purchases per customer", "frequency_group": "repeat purchases in calibration"},
    ).update_xaxes(type="category")  # keeps the "7+" group (not a number) on the axis
    show_chart(figure, name="clv_holdout")


def save_people_as_segment(analysis: ClvAnalysis, actor: Actor) -> None:
    """ "Save as segment" for one value tier or the churn-risk list (the listed customers, by id)."""
    if not allowed(actor.role, Permission.MANAGE_SEGMENTS):
        return
    people = analysis.customers
    groups = {f"{readable(tier)} tier": people["tier"] == tier for tier in people["tier"].dropna().unique()}
    groups["Churn risk"] = people["churn_risk"].fillna(False).astype(bool)
    left, right = st.columns([2, 1], vertical_alignment="bottom")
    with left:
        choice = st.selectbox("Customers to keep as a segment", list(groups), key="clv_segment_group")
    chosen = people.loc[groups[choice], "customer_id"]
    with right:
        save_as_segment(get_engine(), actor, customer_ids_rule(chosen), key="clv", default_name=f"CLV {choice.lower()}")
    st.caption(f"{len(chosen):,} customers; the segment keeps exactly these (as of {_day(analysis.as_of)}).")
