"""Overview: today's and this month's KPIs, the chosen period against the one before, growth trends."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from crm.analytics.overview import DEFINITIONS, PeriodTotals, growth_trends, overview_kpis, period_comparison
from crm.permissions import Permission
from crm.ui.cache import cached
from crm.ui.charts import show_chart, table_downloads
from crm.ui.first_run import offer_demo_data
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.sidebar import current_filters
from crm.ui.widgets import empty_state, filter_caption, format_money, format_money_short, format_percent, kpi_card

engine = get_engine()
actor = require_page_permission(engine, Permission.VIEW_ANALYTICS)
st.title("Overview")
if offer_demo_data(engine, actor):
    st.stop()

filters = current_filters()
kpis = cached(overview_kpis, filters)


def _cards(totals: PeriodTotals, *, with_customer_value: bool) -> None:
    cards = [
        ("New customers", f"{totals.new_customers:,}", DEFINITIONS["new_customers"]),
        ("New orders", f"{totals.orders:,}", DEFINITIONS["orders"]),
        ("Completed transactions", f"{totals.completed_transactions:,}", DEFINITIONS["completed_transactions"]),
        ("Revenue", format_money_short(totals.revenue), DEFINITIONS["revenue"]),
    ]
    if with_customer_value:
        cards.append(
            (
                "Average customer value",
                format_money(totals.average_customer_value),
                DEFINITIONS["average_customer_value"],
            )
        )
    for column, (label, value, help_text) in zip(st.columns(len(cards)), cards, strict=True):
        with column:
            kpi_card(label, value, help_text)


st.caption(f"Today is {kpis.as_of:%A %d %B %Y} ({filters.timezone_name}); customer and brand filters apply.")
st.subheader("Today")
_cards(kpis.today, with_customer_value=False)
st.subheader("This month")
_cards(kpis.this_month, with_customer_value=True)

st.subheader("Selected period")
filter_caption(filters)
comparison = cached(period_comparison, filters)
current = comparison.current
CHANGE = "The arrow compares with the equally long period before (" + DEFINITIONS["change"] + ")."


def _delta(name: str) -> str | None:
    change = comparison.change(name)
    return None if change is None else f"{change:+.1%}"


if current.orders == 0 and current.new_customers == 0:
    empty_state()
    st.stop()
cards = st.columns(4)
with cards[0]:
    kpi_card("Revenue", format_money_short(current.revenue), f"{DEFINITIONS['revenue']} {CHANGE}", _delta("revenue"))
with cards[1]:
    kpi_card("Orders", f"{current.orders:,}", f"{DEFINITIONS['orders']} {CHANGE}", _delta("orders"))
with cards[2]:
    kpi_card(
        "New customers",
        f"{current.new_customers:,}",
        f"{DEFINITIONS['new_customers']} {CHANGE}",
        _delta("new_customers"),
    )
with cards[3]:
    kpi_card("Conversion rate", format_percent(current.conversion_rate), DEFINITIONS["conversion_rate"])
cards = st.columns(4)
with cards[0]:
    kpi_card("Average order value", format_money(current.average_order_value), DEFINITIONS["average_order_value"])
with cards[1]:
    kpi_card(
        "Net cash", format_money_short(current.net_cash), f"{DEFINITIONS['net_cash']} {CHANGE}", _delta("net_cash")
    )
pending = kpis.pending
with cards[2]:
    kpi_card("Pending orders", f"{pending.count:,}" if pending else "—", DEFINITIONS["pending_orders"])
with cards[3]:
    kpi_card("Pending value", format_money_short(pending.value) if pending else "—", DEFINITIONS["pending_orders"])

grain = st.segmented_control("Trend by", ["week", "month", "quarter"], default="month", key="overview_grain")
trends = cached(growth_trends, filters, grain=grain or "month")
filter_caption(filters)
revenue_chart = px.line(
    trends,
    x="period",
    y="revenue",
    markers=True,
    title=f"Revenue per {grain or 'month'}",
    labels={"period": "Period starting", "revenue": "Revenue ($)", "revenue_change": "Change"},
    hover_data={"revenue": ":$,.2f", "revenue_change": ":+.1%", "partial": True},
)
show_chart(revenue_chart, name="overview_revenue_trend")
growth = trends.melt(
    id_vars="period", value_vars=["orders_change", "new_customers_change"], var_name="measure", value_name="change"
)
growth["measure"] = growth["measure"].map({"orders_change": "Orders", "new_customers_change": "New customers"})
filter_caption(filters)
growth_chart = px.bar(
    growth,
    x="period",
    y="change",
    color="measure",
    barmode="group",
    title="Order and customer growth, period over period",
    labels={"period": "Period starting", "change": "Change vs previous period", "measure": ""},
    hover_data={"change": ":+.1%"},
)
growth_chart.update_yaxes(tickformat="+.0%")
show_chart(growth_chart, name="overview_growth")
st.dataframe(
    trends,
    hide_index=True,
    column_config={
        "revenue": st.column_config.NumberColumn("Revenue", format="dollar"),
        "revenue_change": st.column_config.NumberColumn("Revenue change", format="percent"),
        "orders_change": st.column_config.NumberColumn("Orders change", format="percent"),
        "new_customers_change": st.column_config.NumberColumn("New customers change", format="percent"),
    },
)
table_downloads(trends, name="overview_trends")
