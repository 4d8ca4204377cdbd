"""The Overview's birthday lists (this month, the next 7 days; local days) and the one-click segment."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from crm.filters import Filters
from crm.marketing.segments import SegmentError, save_birthday_segment
from crm.permissions import Actor, Permission, PermissionDeniedError, allowed
from crm.records.birthdays import birthdays_between
from crm.ui.cache import cached, invalidate
from crm.ui.my_work import customer_link
from crm.ui.plain import escape_markdown
from crm.ui.widgets import data_table

__all__ = ["birthday_section"]

# Links drawn for the coming week; the month is a table (it can hold thousands of customers).
MAX_LINKS = 30
MAX_ROWS = 500


def _month_table(frame: pd.DataFrame) -> None:
    shown = frame.head(MAX_ROWS)[["customer", "birthday", "turning", "email", "phone"]]
    data_table(shown, labels={"customer": "Customer", "birthday": "Birthday", "turning": "Turns"})
    if len(frame) > MAX_ROWS:
        st.caption(f"The first {MAX_ROWS:,} of {len(frame):,} by day; the segment below holds them all.")


def _segment_button(engine: Engine, actor: Actor, today: date) -> None:
    month_name = calendar.month_name[today.month]
    name = f"Birthdays in {month_name}"
    flash = st.session_state.pop("birthday_segment__flash", None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    if not allowed(actor.role, Permission.MANAGE_SEGMENTS):
        return
    if st.button(f"Save “{name}” as a segment for a campaign", key="birthday_segment", icon=":material/campaign:"):
        try:
            save_birthday_segment(engine, actor, name, today.month)
        except (SegmentError, ValueError, PermissionDeniedError) as error:
            st.error(escape_markdown(error))
            return
        invalidate()
        st.session_state["birthday_segment__flash"] = f"Segment “{name}” saved: pick it when you plan a campaign."
        st.rerun()


def birthday_section(engine: Engine, actor: Actor, filters: Filters, today: date) -> None:
    """Birthdays in the next 7 days (links to Customer 360) and this month (table), customer filters applied."""
    st.subheader("Birthdays")
    people = filters.with_dates(None, None)
    week = cached(birthdays_between, today, today + timedelta(days=6), people)
    month_end = date(today.year, today.month, calendar.monthrange(today.year, today.month)[1])
    month = cached(birthdays_between, today.replace(day=1), month_end, people)
    columns = st.columns(2)
    with columns[0]:
        st.markdown(f"**Next 7 days** ({len(week):,})")
        if week.empty:
            st.caption("No birthdays in the next 7 days.")
        for row in week.head(MAX_LINKS).itertuples(index=False):
            customer_link(int(row.customer_id), f"{row.customer} · {row.birthday:%a %d %b} · turns {row.turning}")
        if len(week) > MAX_LINKS:
            st.caption(f"And {len(week) - MAX_LINKS:,} more.")
    with columns[1]:
        st.markdown(f"**This month** ({len(month):,})")
        if month.empty:
            st.caption("No birthdays this month.")
        else:
            _month_table(month)
    _segment_button(engine, actor, today)
