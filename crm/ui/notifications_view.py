"""Sections of the Notifications page: my digests, open alerts, alert settings, everyone's digests."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

import streamlit as st
from sqlalchemy import Engine, select

from crm.filters import Filters
from crm.filters_url import filters_to_query
from crm.notifications.alerts import ALERT_TITLES, AlertError, alert_rules_frame, open_alerts, set_alert
from crm.notifications.links import stop_digest_by_token
from crm.notifications.schedule import WEEKDAYS
from crm.notifications.subscriptions import (
    SubscriptionError,
    digest_subscriptions_frame,
    subscribe_digest,
    unsubscribe_digest,
)
from crm.permissions import Actor, Permission, PermissionDeniedError, allowed
from crm.schema import ALERT_KINDS, users
from crm.settings import get_settings
from crm.ui.plain import escape_markdown, plain_text
from crm.ui.widgets import data_table

__all__ = ["alert_settings", "digest_unsubscribe_form", "everyones_digests", "my_alerts", "my_digests"]

_FLASH = "notifications_flash"


def show_flash() -> None:
    message = st.session_state.pop(_FLASH, None)
    if message:
        st.success(message)


def _usernames(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(users.c.username).where(users.c.is_active.is_(True)).order_by(users.c.username)
            ).scalars()
        )


def _subscription_form(
    engine: Engine, actor: Actor, filters: Filters, *, key: str, username: str | None = None
) -> None:
    zone = get_settings().timezone_name
    with st.form(key, border=True):
        chosen_user = username or st.selectbox("User", _usernames(engine), key=f"{key}_user")
        frequency = st.radio(
            "Every", ["daily", "weekly"], horizontal=True, format_func=str.capitalize, key=f"{key}_every"
        )
        send_at = st.time_input(f"At ({zone})", value=None, step=900, key=f"{key}_at")
        weekday = st.selectbox("On (weekly)", WEEKDAYS, key=f"{key}_weekday")
        with_filters = st.checkbox(f"With the sidebar's filters ({filters.describe()})", key=f"{key}_filters")
        if st.form_submit_button("Subscribe", type="primary"):
            # The period comes from the schedule; the other choices are kept as the view's address has them.
            query = urlencode(
                {name: value for name, value in filters_to_query(filters).items() if name not in {"start", "end"}}
            )
            try:
                subscribe_digest(
                    engine,
                    actor,
                    username=str(chosen_user),
                    frequency=str(frequency),
                    send_at=send_at.strftime("%H:%M") if send_at else "08:00",
                    weekday=WEEKDAYS.index(weekday) if frequency == "weekly" else None,
                    filters_query=query if with_filters else "",
                )
            except (SubscriptionError, PermissionDeniedError) as error:
                st.error(escape_markdown(error))
                return
            st.session_state[_FLASH] = f"{chosen_user} gets the {frequency} digest."
            st.rerun()


def my_digests(engine: Engine, actor: Actor, filters: Filters) -> None:
    """The signed-in user's digests, a form to subscribe, and a button to stop each."""
    st.subheader("My digests", anchor=False)
    st.caption(
        "The Overview's numbers against the period before, its charts and a link back, by e-mail: daily (the day "
        "before) or weekly (the seven days before). The date range comes from the schedule; other sidebar filters "
        "can be kept."
    )
    frame = digest_subscriptions_frame(engine, actor)
    mine = frame[frame["username"] == actor.username]
    if mine.empty:
        st.info("You get no digest yet.")
    for row in mine.itertuples(index=False):
        columns = st.columns([4, 1])
        when = f"{row.frequency.capitalize()} at {row.send_at}" + (f" on {row.weekday}" if row.weekday else "")
        last = f", last: {row.last_period} ({row.last_status})" if row.last_period else ""
        columns[0].markdown(
            escape_markdown(f"{when}{last}" + (f" · filters: {row.filters_query}" if row.filters_query else ""))
        )
        if columns[1].button("Stop", key=f"stop_digest_{row.id}"):
            unsubscribe_digest(engine, actor, username=actor.username, frequency=row.frequency)
            st.session_state[_FLASH] = f"Your {row.frequency} digest is stopped."
            st.rerun()
    with st.expander("Subscribe", icon=":material/mail:"):
        _subscription_form(engine, actor, filters, key="my_digest_form", username=actor.username)


def my_alerts(engine: Engine, actor: Actor) -> None:
    st.subheader("Open alerts", anchor=False)
    frame = open_alerts(engine, user_id=actor.user_id)
    if frame.empty:
        st.success("No open alert for you.")
        return
    counts = frame.groupby("title", sort=False).size()
    st.caption(f"{len(frame):,} open: " + ", ".join(f"{title} {count:,}" for title, count in counts.items()) + ".")
    data_table(frame.drop(columns=["kind"]), labels={"title": "Alert", "summary": "What", "opened_at": "Since (UTC)"})


def alert_settings(engine: Engine, actor: Actor) -> None:
    """Managers: each alert's threshold, on/off and recipients."""
    st.subheader("Alert settings", anchor=False)
    frame = alert_rules_frame(engine)
    data_table(
        frame.drop(columns=["kind", "set_up"]),
        labels={"title": "Alert", "meaning": "Threshold means", "open": "Open now"},
    )
    usernames = _usernames(engine)
    # Outside the form: choosing an alert fills the form with that alert's settings.
    kind = st.selectbox("Alert", ALERT_KINDS, format_func=ALERT_TITLES.__getitem__, key="alert_settings_kind")
    current = frame.set_index("kind").loc[kind]
    with st.form(f"alert_settings_form_{kind}", border=True):
        threshold = st.number_input(
            f"Threshold: {current['meaning']}", min_value=0.0, value=float(current["threshold"]), step=1.0
        )
        # A manager setting an alert up for the first time wants it on.
        active = st.toggle("On", value=bool(current["active"]) or not bool(current["set_up"]))
        chosen = [name for name in str(current["recipients"]).split(", ") if name in usernames]
        recipients = st.multiselect("Recipients", usernames, default=chosen)
        if st.form_submit_button("Save alert", type="primary"):
            try:
                set_alert(engine, actor, kind, threshold=Decimal(str(threshold)), active=active, recipients=recipients)
            except (AlertError, PermissionDeniedError) as error:
                st.error(escape_markdown(error))
                return
            st.session_state[_FLASH] = f"{ALERT_TITLES[kind]}: saved."
            st.rerun()
    st.caption(
        "Alerts are checked by `python -m crm scheduler` (or `alerts check` from cron) and mailed once per condition."
    )


def everyones_digests(engine: Engine, actor: Actor, filters: Filters) -> None:
    """Administrators: every subscription, and subscribing any user."""
    if not allowed(actor.role, Permission.MANAGE_USERS):
        return
    st.subheader("Everyone's digests", anchor=False)
    frame = digest_subscriptions_frame(engine, actor)
    if frame.empty:
        st.info("Nobody gets a digest yet.")
    else:
        data_table(frame.drop(columns=["id"]), labels={"send_at": "At", "filters_query": "Filters"})
    with st.expander("Subscribe a user", icon=":material/person_add:"):
        _subscription_form(engine, actor, filters, key="user_digest_form")


def digest_unsubscribe_form(engine: Engine, secret_key: str, token: str | None) -> None:
    """Confirm-then-stop, so mail scanners that open links stop nobody's digest."""
    if not token:
        st.error("This link is incomplete. Open the link from the digest again.")
        return
    if st.session_state.get("digest_unsubscribe_done") == token:
        st.success("Done: you will no longer receive this digest.")
        return
    plain_text("Do you want to stop receiving this digest?")
    if st.button("Stop this digest", type="primary", key="digest_unsubscribe_confirm"):
        result = stop_digest_by_token(engine, secret_key, token)
        if not result.valid:
            st.error("This link is not valid. Open the link from the digest again.")
            return
        st.session_state["digest_unsubscribe_done"] = token
        st.success("Done: you will no longer receive this digest.")
