"""Revenue & transactions: revenue over time and its growth, payment methods, sources, brands, refunds."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from crm.analytics.overview import DEFINITIONS, period_comparison
from crm.analytics.revenue import (
    payment_methods,
    refunds_over_time,
    revenue_by_brand,
    revenue_by_source,
    revenue_over_time,
    transaction_summary,
)
from crm.permissions import Permission
from crm.ui.cache import cached
from crm.ui.charts import show_chart, table_downloads
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.sidebar import current_filters
from crm.ui.widgets import empty_state, filter_caption, format_money_short, kpi_card

engine = get_engine()
require_page_permission(engine, Permission.VIEW_ANALYTICS)
st.title("Revenue & transactions")
filters = current_filters()
filter_caption(filters)
comparison = cached(period_comparison, filters)
totals = comparison.current
if totals.orders == 0:
    empty_state()
    st.stop()


def _delta(name: str) -> str | None:
    change = comparison.change(name)
    return None if change is None else f"{change:+.1%}"


refunds = cached(refunds_over_time, filters, grain="month")
CHANGE = "The arrow compares with the equally long period before (" + DEFINITIONS["change"] + ")."
cards = st.columns(5)
with cards[0]:
    kpi_card("Revenue", format_money_short(totals.revenue), f"{DEFINITIONS['revenue']} {CHANGE}", _delta("revenue"))
with cards[1]:
    kpi_card(
        "Counted orders",
        f"{totals.revenue_orders:,}",
        f"{DEFINITIONS['counted_orders']} {CHANGE}",
        _delta("revenue_orders"),
    )
with cards[2]:
    kpi_card("Average order value", format_money_short(totals.average_order_value), DEFINITIONS["average_order_value"])
with cards[3]:
    kpi_card("Net cash", format_money_short(totals.net_cash), f"{DEFINITIONS['net_cash']} {CHANGE}", _delta("net_cash"))
with cards[4]:
    kpi_card(
        "Refunded orders",
        format_money_short(refunds["refunded_value"].sum()),
        "Totals of orders with status refunded, by order date (not part of revenue).",
    )

grain = st.segmented_control("Group by", ["day", "week", "month", "quarter"], default="month", key="revenue_grain")
over_time = cached(revenue_over_time, filters, grain=grain or "month")
filter_caption(filters)
figure = px.bar(
    over_time,
    x="period",
    y="revenue",
    title=f"Revenue per {grain or 'month'}",
    labels={"period": "Period starting", "revenue": "Revenue ($)", "counted_orders": "Counted orders"},
    hover_data={"revenue": ":$,.2f", "counted_orders": True, "average_order_value": ":$,.2f", "partial": True},
)
show_chart(figure, name="revenue_over_time")
if over_time["partial"].any():
    st.caption("Periods cut by the date range are partial; no growth is shown next to them.")
growth = over_time.melt(id_vars="period", value_vars=["revenue_change", "orders_change"], value_name="change")
growth["variable"] = growth["variable"].map({"revenue_change": "Order value (revenue)", "orders_change": "Orders"})
filter_caption(filters)
figure = px.line(
    growth,
    x="period",
    y="change",
    color="variable",
    markers=True,
    title="Growth of orders and order value, period over period",
    labels={"period": "Period starting", "change": "Change vs previous period", "variable": ""},
    hover_data={"change": ":+.1%"},
)
figure.update_yaxes(tickformat="+.0%")
show_chart(figure, name="revenue_growth")

left, right = st.columns(2)
with left:
    methods = cached(payment_methods, filters)
    filter_caption(filters)
    figure = px.pie(methods, names="payment_method", values="revenue", hole=0.45, title="Revenue by payment method")
    figure.update_traces(hovertemplate="%{label}: $%{value:,.2f} (%{percent})<extra></extra>")
    show_chart(figure, name="revenue_payment_methods")
with right:
    summary = cached(transaction_summary, filters)
    filter_caption(filters, "Transactions")
    figure = px.bar(
        summary,
        x="transaction_type",
        y="amount",
        color="status",
        title="Transactions by type and status",
        labels={"transaction_type": "Type", "amount": "Amount ($)", "status": "Status"},
        hover_data={"amount": ":$,.2f", "transactions": True},
    )
    show_chart(figure, name="revenue_transactions")

left, right = st.columns(2)
with left:
    sources = cached(revenue_by_source, filters)
    filter_caption(filters)
    figure = px.bar(
        sources,
        x="source",
        y="revenue",
        title="Revenue by customer source",
        labels={"source": "Source", "revenue": "Revenue ($)"},
        hover_data={"revenue": ":$,.2f", "orders": True, "share": ":.1%"},
    )
    show_chart(figure, name="revenue_by_source")
with right:
    brand_frame = cached(revenue_by_brand, filters)
    filter_caption(filters)
    figure = px.bar(
        brand_frame,
        x="brand",
        y="revenue",
        title="Revenue by brand",
        labels={"brand": "Brand", "revenue": "Revenue ($)"},
        hover_data={"revenue": ":$,.2f", "orders": True, "average_order_value": ":$,.2f"},
    )
    show_chart(figure, name="revenue_by_brand")

st.subheader("Refunds and cancellations")
filter_caption(filters)
if refunds.empty:
    st.caption("No refunds or cancellations in this selection.")
else:
    figure = px.bar(
        refunds,
        x="period",
        y=["refunded_value", "cancelled_value", "refunded_cash"],
        barmode="group",
        title="Refunded and cancelled order value, refunded cash per month",
        labels={"period": "Month", "value": "Amount ($)", "variable": ""},
    )
    names = {
        "refunded_value": "Refunded orders (value)",
        "cancelled_value": "Cancelled orders (value)",
        "refunded_cash": "Refunded cash (transactions)",
    }
    figure.for_each_trace(lambda trace: trace.update(name=names[trace.name], hovertemplate="%{x}: $%{y:,.2f}"))
    show_chart(figure, name="revenue_refunds")
    table_downloads(refunds, name="revenue_refunds")
st.subheader("Revenue table")
st.dataframe(
    over_time,
    hide_index=True,
    column_config={
        "revenue": st.column_config.NumberColumn("Revenue", format="dollar"),
        "average_order_value": st.column_config.NumberColumn("AOV", format="dollar"),
        "revenue_change": st.column_config.NumberColumn("Revenue change", format="percent"),
        "orders_change": st.column_config.NumberColumn("Orders change", format="percent"),
    },
)
table_downloads(over_time, name="revenue_over_time")
