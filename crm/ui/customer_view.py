"""Display pieces of the Customer 360 page: header, value cards and activity tabs."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from crm.analytics.clv import CustomerClv
from crm.records.customer360 import Customer360
from crm.settings import get_settings
from crm.ui.charts import table_downloads
from crm.ui.clv_view import customer_cards
from crm.ui.plain import plain_caption, plain_heading, plain_text
from crm.ui.widgets import MISSING, format_money, kpi_card
from crm.vocabulary import code_label

__all__ = ["activity_tabs", "customer_header", "value_cards"]

# Readable headers for the activity tables (the frames keep their column names).
LABELS = {
    "order_number": "Order",
    "order_date": "Date",
    "status": "Status",
    "subtotal": "Subtotal",
    "total": "Total",
    "payment_method": "Payment",
    "transaction_number": "Number",
    "processed_at": "Processed",
    "transaction_type": "Type",
    "method": "Method",
    "amount": "Amount",
    "id": "Visit",
    "visit_id": "Visit",
    "visited_at": "Visited",
    "location": "Location",
    "purpose": "Purpose",
    "paid": "Paid",
    "paid_at": "Paid at",
    "occurred_at": "When",
    "interaction_type": "Type",
    "subject": "Subject",
    "priority": "Priority",
    "duration_minutes": "Minutes",
    "follow_up_at": "Follow up",
    "outcome": "Outcome",
    "agent": "Agent",
    "due": "Due",
    "ticket_number": "Ticket",
    "created_at": "Opened",
    "category": "Category",
    "satisfaction": "Satisfaction",
}
MONEY = {"subtotal", "total", "amount", "paid"}
# Columns holding codes of a vocabulary: shown as labels ("credit_card" -> "Credit card").
CODED = {"status", "payment_method", "transaction_type", "method", "interaction_type", "priority", "category"}


def _table(container: st.delta_generator.DeltaGenerator, frame: pd.DataFrame, empty: str, *, name: str) -> None:
    if frame.empty:
        container.caption(empty)
        return
    frame = frame.copy()
    for column in CODED & set(frame.columns):
        frame[column] = frame[column].map(code_label)
    config = {
        column: st.column_config.NumberColumn(LABELS.get(column, column), format="%.2f")
        if column in MONEY
        else st.column_config.Column(LABELS.get(column, column))
        for column in frame.columns
    }
    container.dataframe(frame, hide_index=True, width="stretch", column_config=config)
    with container:
        # One customer's rows are personal data: EXPORT_PERSONAL_DATA, formula-safe and audited.
        table_downloads(frame, name=name, personal=True)


def customer_header(view: Customer360) -> None:
    profile, summary = view.profile, view.summary
    name = " ".join(part for part in (profile["first_name"], profile["last_name"]) if part) or profile["company"]
    # Every part was typed by a user or came from an import: shown as plain text (crm/ui/plain.py).
    kind = f"{code_label(profile['status'])} {code_label(profile['customer_type']).lower()}"
    plain_heading(f"{name} · {kind} · {summary.loyalty_tier.title()} tier")
    details = ("email", "phone", "company", "city", "country", "source", "brand")
    shown = [code_label(profile[key]) if key == "source" else str(profile[key]) for key in details if profile.get(key)]
    plain_caption(" · ".join(shown))


def _zone_name() -> str:
    return get_settings().timezone_name


def _local_day(moment: datetime | None) -> str:
    """A stored UTC time as the app's local day, the day the CLV page and the filters count it on."""
    if moment is None:
        return MISSING
    return f"{moment.replace(tzinfo=UTC).astimezone(get_settings().timezone):%d %b %Y}"


def value_cards(view: Customer360, lifetime_value: CustomerClv) -> None:
    """The customer's record cards, then their lifetime-value cards (``crm.ui.clv_view.customer_cards``)."""
    summary = view.summary
    cards = [
        ("Spent so far", format_money(summary.total_spent), None),
        ("Counted orders", f"{summary.order_count:,}", f"Of {summary.all_orders:,} orders in any status."),
        ("Average order value", format_money(summary.average_order_value), None),
        ("Loyalty points", f"{summary.loyalty_points:,}", "The points balance; its tier is in the header."),
        ("First purchase", _local_day(summary.first_purchase), f"First counted order, day in {_zone_name()}."),
        ("Last purchase", _local_day(summary.last_purchase), f"Last counted order, day in {_zone_name()}."),
    ]
    # Two rows of three: six cards in one row cut dates and long labels short.
    for column, (label, value, help_text) in zip([*st.columns(3), *st.columns(3)], cards, strict=True):
        with column:
            kpi_card(label, value, help_text)
    customer_cards(lifetime_value, with_historic=False)
    if summary.follow_ups_due or summary.open_tickets:
        st.warning(f"{summary.follow_ups_due} follow-up(s) due · {summary.open_tickets} open ticket(s).")


def activity_tabs(view: Customer360) -> None:
    tabs = st.tabs(["Orders", "Transactions", "Visits & payments", "Interactions", "Follow-ups", "Tickets", "Notes"])
    prefix = f"customer_{view.profile['id']}"
    _table(tabs[0], view.orders, "No orders yet.", name=f"{prefix}_orders")
    _table(tabs[1], view.transactions, "No transactions yet.", name=f"{prefix}_transactions")
    _table(tabs[2], view.visits, "No visits yet.", name=f"{prefix}_visits")
    _table(tabs[2], view.visit_payments, "No payments on visits.", name=f"{prefix}_visit_payments")
    _table(tabs[3], view.interactions, "No interactions yet.", name=f"{prefix}_interactions")
    _table(tabs[4], view.follow_ups, "No follow-ups scheduled.", name=f"{prefix}_follow_ups")
    _table(tabs[5], view.tickets, "No tickets.", name=f"{prefix}_tickets")
    with tabs[6]:
        if view.profile["notes"]:
            plain_text(view.profile["notes"])
        else:
            st.caption("No notes.")
