"""Loyalty in the app: Customer 360's points section (ledger, tier history, redeem and adjust forms),
the Segmentation page's Loyalty section (points over time, members and migrations between tiers) and
the managers' Loyalty settings (earning rule and tier thresholds).

Every write goes through ``crm.loyalty`` (permission, validation, audit in one transaction).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from sqlalchemy import Engine

from crm.analytics.loyalty import points_over_time, tier_migrations
from crm.analytics.segmentation import loyalty_tier_distribution
from crm.filters import Filters
from crm.loyalty import (
    LoyaltyError,
    adjust_points,
    customer_ledger,
    read_rule,
    read_tiers,
    redeem_for_order,
    redeem_points,
    redeemable_orders,
    tier_history,
    update_rule,
    update_tiers,
)
from crm.loyalty.rules import EarningRule, discount_for_points
from crm.permissions import Actor, Permission, PermissionDeniedError, allowed
from crm.ui.cache import cached
from crm.ui.charts import show_chart, table_downloads
from crm.ui.form_flow import done, flash, form_key
from crm.ui.plain import escape_markdown
from crm.ui.views.segmentation import loyalty_figure
from crm.ui.widgets import data_table, empty_state, filter_caption, format_money, kpi_card, readable

__all__ = ["customer_loyalty", "loyalty_analytics", "loyalty_settings"]


def _rule(engine: Engine) -> EarningRule:
    with engine.connect() as connection:
        return read_rule(connection)


def _tiers(engine: Engine) -> tuple[tuple[str, int], ...]:
    with engine.connect() as connection:
        return read_tiers(connection)


# --- Customer 360 ----------------------------------------------------------------------------------
def customer_loyalty(engine: Engine, actor: Actor, customer_id: int) -> None:
    """Customer 360's Loyalty section: points ledger, tier history, and the forms the actor may use."""
    st.subheader("Loyalty")
    key = f"loyalty_{customer_id}"
    flash(key)
    ledger = cached(customer_ledger, customer_id)
    history = cached(tier_history, customer_id)
    ledger_tab, tiers_tab, redeem_tab, discount_tab, adjust_tab = st.tabs(
        ["Points ledger", "Tier history", "Redeem points", "Discount on an order", "Adjust points"]
    )
    with ledger_tab:
        if ledger.empty:
            st.caption("No points yet: delivered orders earn points by the earning rule.")
        else:
            data_table(ledger, labels={"created_at": "When", "order_number": "Order", "created_by": "By"})
            table_downloads(ledger, name=f"customer_{customer_id}_points", personal=True)
    with tiers_tab:
        if history.empty:
            st.caption("No tier changes recorded yet.")
        else:
            data_table(
                history.assign(from_tier=history["from_tier"].map(readable), to_tier=history["to_tier"].map(readable))
            )
    with redeem_tab:
        _redeem_form(engine, actor, customer_id, key)
    with discount_tab:
        _discount_form(engine, actor, customer_id, key)
    with adjust_tab:
        _adjust_form(engine, actor, customer_id, key)


def _redeem_form(engine: Engine, actor: Actor, customer_id: int, key: str) -> None:
    if not allowed(actor.role, Permission.EDIT_RECORDS):
        st.caption("Your role cannot redeem points.")
        return
    form = form_key(f"{key}_redeem")
    points = st.number_input("Points to redeem", min_value=1, step=1, value=None, key=f"{form}_points")
    reason = st.text_input("Reason", max_chars=200, key=f"{form}_reason", placeholder="e.g. Free coffee mug")
    if not st.button("Redeem", type="primary", key=f"{form}_save", icon=":material/redeem:"):
        return
    try:
        entry = redeem_points(engine, actor, customer_id, int(points or 0), reason)
    except (LoyaltyError, PermissionDeniedError) as error:
        st.error(escape_markdown(error))
        return
    done(key, f"Redeemed {-entry.points:,} points.")


def _discount_form(engine: Engine, actor: Actor, customer_id: int, key: str) -> None:
    if not allowed(actor.role, Permission.EDIT_RECORDS):
        st.caption("Your role cannot redeem points.")
        return
    open_orders = cached(redeemable_orders, customer_id)
    if open_orders.empty:
        st.caption("No open order (pending, processing or shipped) to discount.")
        return
    rule = _rule(engine)
    form = form_key(f"{key}_discount")
    labels = {
        int(row.id): f"{row.order_number} · {readable(row.status)} · {format_money(row.total)}"
        for row in open_orders.itertuples()
    }
    order_id = st.selectbox(
        "Order", list(labels), format_func=lambda order: escape_markdown(labels[order]), key=f"{form}_order"
    )
    points = st.number_input(
        f"Points ({rule.points_per_discount_unit:,} points = 1.00 off)",
        min_value=1,
        step=1,
        value=None,
        key=f"{form}_points",
    )
    if points:
        st.caption(f"Discount: {format_money(discount_for_points(int(points), rule))}")
    if not st.button("Apply the discount", type="primary", key=f"{form}_save", icon=":material/sell:"):
        return
    try:
        amount = redeem_for_order(engine, actor, int(order_id), int(points or 0))
    except (LoyaltyError, PermissionDeniedError) as error:
        st.error(escape_markdown(error))
        return
    done(key, f"{int(points or 0):,} points became a discount of {format_money(amount)}.")


def _adjust_form(engine: Engine, actor: Actor, customer_id: int, key: str) -> None:
    if not allowed(actor.role, Permission.MANAGE_LOYALTY):
        st.caption("Managers adjust points by hand.")
        return
    form = form_key(f"{key}_adjust")
    points = st.number_input(
        "Points to add (negative to remove)", step=1, value=None, key=f"{form}_points", format="%d"
    )
    reason = st.text_input("Reason", max_chars=200, key=f"{form}_reason", placeholder="e.g. Apology for a late parcel")
    if not st.button("Adjust", type="primary", key=f"{form}_save", icon=":material/tune:"):
        return
    try:
        entry = adjust_points(engine, actor, customer_id, int(points or 0), reason)
    except (LoyaltyError, PermissionDeniedError) as error:
        st.error(escape_markdown(error))
        return
    done(key, f"Adjusted by {entry.points:+,} points.")


# --- Segmentation page -----------------------------------------------------------------------------
def _points_figure(points: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    figure.add_bar(x=points["period"], y=points["issued"], name="Issued")
    figure.add_bar(x=points["period"], y=-points["redeemed"], name="Redeemed")
    figure.add_bar(x=points["period"], y=-points["reversed"], name="Reversed")
    figure.add_scatter(x=points["period"], y=points["outstanding"], name="Outstanding", mode="lines+markers")
    figure.update_layout(
        title="Points issued, redeemed and outstanding", barmode="relative", yaxis_title="Points", xaxis_title="Month"
    )
    return figure


def loyalty_analytics(engine: Engine, filters: Filters) -> None:
    """The Loyalty section: points over time, the liability, members per tier and migrations."""
    st.subheader("Loyalty")
    filter_caption(filters, "Points")
    points = cached(points_over_time, filters)
    tiers = cached(loyalty_tier_distribution, filters)
    rule = _rule(engine)
    outstanding = int(points["outstanding"].iloc[-1]) if not points.empty else 0
    cards = st.columns(4)
    with cards[0]:
        kpi_card("Points issued", f"{int(points['issued'].sum()):,}", "")
    with cards[1]:
        kpi_card("Points redeemed", f"{int(points['redeemed'].sum()):,}", "")
    with cards[2]:
        kpi_card("Points outstanding", f"{outstanding:,}", "")
    with cards[3]:
        liability = discount_for_points(outstanding, rule)
        kpi_card(
            "Points liability",
            format_money(liability),
            f"At {rule.points_per_discount_unit:,} points per 1.00 of discount.",
        )
    if points.empty:
        empty_state("No points were issued or spent in this period.")
    else:
        show_chart(_points_figure(points), name="loyalty_points")
        table_downloads(points, name="loyalty_points")
    filter_caption(filters, "Revenue orders")
    st.caption("Members per tier ignore the date range: a tier is today's points balance.")
    show_chart(loyalty_figure(tiers), name="segmentation_loyalty")
    migrations = cached(tier_migrations, filters)
    st.markdown("**Migrations between tiers** (recorded when a balance crosses a threshold)")
    if migrations.empty:
        st.caption("No tier changes in this period.")
    else:
        data_table(
            migrations.assign(
                from_tier=migrations["from_tier"].map(readable),
                to_tier=migrations["to_tier"].map(readable),
                direction=migrations["direction"].map(readable),
            )
        )
        table_downloads(migrations, name="loyalty_tier_migrations")


def loyalty_settings(engine: Engine, actor: Actor) -> None:
    """Managers: the earning rule and tier thresholds (both audited); others see them read-only."""
    rule, tiers = _rule(engine), _tiers(engine)
    may_edit = allowed(actor.role, Permission.MANAGE_LOYALTY)
    with st.expander("Loyalty settings: earning rule and tiers", icon=":material/settings:"):
        key = "loyalty_settings"
        flash(key)
        form = form_key(key)
        st.caption(
            "Delivered orders earn floor(total × points per 1.00); cancelling or refunding takes them back. "
            "New values apply to orders delivered from now on."
        )
        columns = st.columns(2)
        rate = columns[0].number_input(
            "Points per 1.00 of order total",
            min_value=0.0,
            value=float(rule.points_per_currency_unit),
            step=0.5,
            format="%.4f",
            disabled=not may_edit,
            key=f"{form}_rate",
        )
        value = columns[1].number_input(
            "Points per 1.00 of discount",
            min_value=1,
            value=int(rule.points_per_discount_unit),
            step=10,
            disabled=not may_edit,
            key=f"{form}_value",
        )
        threshold_columns = st.columns(len(tiers))
        thresholds = {
            name: int(
                column.number_input(
                    f"{readable(name)} from",
                    min_value=0,
                    value=minimum,
                    step=100,
                    disabled=not may_edit or index == 0,
                    key=f"{form}_tier_{name}",
                )
            )
            for index, (column, (name, minimum)) in enumerate(zip(threshold_columns, tiers, strict=True))
        }
        if not may_edit:
            st.caption("Managers change these settings.")
            return
        if not st.button("Save the loyalty settings", type="primary", key=f"{form}_save"):
            return
        try:
            # Tiers first: their checks (rising thresholds) are the likelier refusal, and nothing is saved then.
            update_tiers(engine, actor, thresholds)
            update_rule(
                engine,
                actor,
                points_per_currency_unit=f"{rate:.4f}",
                points_per_discount_unit=int(value),
                seen_version=rule.version,
            )
        except (LoyaltyError, PermissionDeniedError) as error:
            st.error(escape_markdown(error))
            return
        done(key, "Loyalty settings saved.")
