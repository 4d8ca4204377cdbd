"""The "Record a visit" form: when, where, why, and the payments taken (Customer 360 and Activities).

Times are entered as the app's local day and clock time (``CRM_TIMEZONE``) and stored as UTC.
A payment may name the order it settles (picked from the customer's orders by number, date and
total), so the Overview's total takings count that sale once. The form keeps its inputs after a
refusal; after a save it starts empty again (a new widget generation, set in the button callback).
"""

from __future__ import annotations

from datetime import UTC, datetime, time

import streamlit as st
from sqlalchemy import Engine

from crm.permissions import Actor, PermissionDeniedError
from crm.records.visits import PaymentInput, VisitError, VisitInput, customer_orders, record_visit
from crm.schema import PAYMENT_METHODS
from crm.settings import get_settings
from crm.ui.cache import cached, invalidate
from crm.ui.customer_picker import pick_customer
from crm.ui.widgets import readable

__all__ = ["MAX_PAYMENTS", "local_to_utc", "visit_form"]

# Payments one visit can take in the form (a split bill; more are rare).
MAX_PAYMENTS = 4
NO_ORDER = 0


def local_to_utc(day: object, clock: time) -> datetime:
    """A local day and clock time of the app's zone as naive UTC (the storage convention)."""
    zone = get_settings().timezone
    moment = datetime.combine(day, clock, tzinfo=zone)  # type: ignore[arg-type]
    return moment.astimezone(UTC).replace(tzinfo=None)


def _generation(key: str) -> int:
    return int(st.session_state.get(f"{key}__generation", 0))


def _payment_inputs(engine: Engine, customer_id: int, key: str, count: int) -> list[tuple[float | None, str, int]]:
    orders = cached(customer_orders, customer_id)
    order_labels = {NO_ORDER: "No order (a visit sale)"} | dict(zip(orders["id"], orders["label"], strict=True))
    rows = []
    for position in range(1, count + 1):
        columns = st.columns([2, 2, 4])
        amount = columns[0].number_input(
            f"Payment {position} amount", step=1.0, format="%.2f", value=None, key=f"{key}_amount{position}"
        )
        method = columns[1].selectbox(
            f"Payment {position} method", PAYMENT_METHODS, format_func=readable, key=f"{key}_method{position}"
        )
        order_id = columns[2].selectbox(
            f"Payment {position} settles order",
            list(order_labels),
            format_func=order_labels.get,
            key=f"{key}_order{position}",
            help="Only when this money pays an order already recorded: it is then not counted twice.",
        )
        rows.append((amount, str(method), int(order_id)))
    return rows


def visit_form(engine: Engine, actor: Actor, *, key: str, customer_id: int | None = None) -> None:
    """Draw the form; without ``customer_id`` the customer is picked by search first."""
    flash = st.session_state.pop(f"{key}__flash", None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    generation = _generation(key)
    form_key = f"{key}_{generation}"
    if customer_id is None:
        customer_id = pick_customer(engine, key=f"{key}_picker")
        if customer_id is None:
            return
    zone = get_settings().timezone
    now = datetime.now(zone)
    columns = st.columns(2)
    day = columns[0].date_input("Visit day", value=now.date(), key=f"{form_key}_day")
    clock = columns[1].time_input(
        "Time", value=now.time().replace(second=0, microsecond=0), key=f"{form_key}_time", step=300
    )
    details = st.columns(2)
    location = details[0].text_input("Location", key=f"{form_key}_location", max_chars=120)
    purpose = details[1].text_input("Purpose", key=f"{form_key}_purpose", max_chars=200)
    notes = st.text_area("Notes", key=f"{form_key}_notes", height=68)
    count = int(
        st.number_input("Payments taken", min_value=0, max_value=MAX_PAYMENTS, value=1, step=1, key=f"{form_key}_count")
    )
    payments = _payment_inputs(engine, customer_id, form_key, count)
    if not st.button("Record the visit", type="primary", key=f"{form_key}_save", icon=":material/storefront:"):
        return
    missing = [position for position, (amount, _method, _order) in enumerate(payments, start=1) if amount is None]
    if missing:
        st.error(f"Payment {missing[0]}: enter the amount, or lower the number of payments.")
        return
    visit = VisitInput(
        customer_id=customer_id,
        visited_at=local_to_utc(day, clock),
        location=location,
        purpose=purpose,
        notes=notes,
        payments=tuple(
            PaymentInput(amount=f"{amount:.2f}", method=method, order_id=order or None)
            for amount, method, order in payments
        ),
    )
    try:
        visit_id = record_visit(engine, actor, visit)
    except (VisitError, PermissionDeniedError) as error:
        st.error(str(error))
        return
    invalidate()
    total = sum(amount or 0 for amount, _method, _order in payments)
    st.session_state[f"{key}__flash"] = f"Visit {visit_id} recorded with {count} payment(s), {total:,.2f} in all."
    st.session_state[f"{key}__generation"] = generation + 1
    st.rerun()
