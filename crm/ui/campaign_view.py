"""Widgets of the Campaigns page (create, preview, launch, send, export, results) and the unsubscribe page.

Stored text (campaign, segment and customer names, rendered messages) is shown through crm.ui.plain.
"""

from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from sqlalchemy import Engine

from crm.analytics.campaigns import Z_95, CampaignResults, campaign_results
from crm.marketing.campaigns import (
    APP_CHANNELS,
    DEFAULT_HOLDOUT_PERCENT,
    MAX_HOLDOUT_PERCENT,
    Campaign,
    CampaignError,
    SendProgress,
    create_campaign,
    export_campaign_messages,
    launch_campaign,
    preview_campaign,
    preview_messages,
    recipient_status_counts,
    send_campaign,
)
from crm.marketing.engagement import EngagementError, import_engagement
from crm.marketing.mail import MailConfigError, MailSettings, mail_settings
from crm.marketing.segments import Segment, SegmentError, list_segments, segment_members
from crm.marketing.suggestions import Suggestion, suggestions_for_rules
from crm.marketing.templates import PLACEHOLDERS, Template, TemplateError
from crm.marketing.unsubscribe import unsubscribe
from crm.permissions import Actor
from crm.settings import get_settings
from crm.ui.cache import cached, invalidate
from crm.ui.charts import show_chart
from crm.ui.plain import escape_markdown, plain_caption, plain_heading, plain_text
from crm.ui.session import cookie_key
from crm.ui.widgets import data_table, format_money, kpi_card

__all__ = [
    "campaign_actions",
    "campaign_header",
    "campaign_picker",
    "campaigns_table",
    "conversion_figure",
    "create_form",
    "message_preview",
    "results_section",
    "show_flash",
    "unsubscribe_form",
]

STATUS_WORDS = {
    "draft": "draft",
    "launched": "launched, not sent",
    "sending": "sending",
    "sent": "sent",
    "scheduled": "planned",
    "running": "running (planned)",
    "finished": "finished (planned)",
    "cancelled": "cancelled",
}
SUBJECT_KEY, BODY_KEY = "campaign_subject", "campaign_body"
EXPORT_KEY = "campaign_export_bytes"
FLASH_KEY = "campaign_flash"


def campaigns_table(campaigns: list[Campaign]) -> None:
    frame = pd.DataFrame(
        [
            {
                "id": campaign.id,
                "name": campaign.name,
                "channel": campaign.channel,
                "status": STATUS_WORDS.get(campaign.status, campaign.status),
                "segment": campaign.segment_name or "—",
                "holdout_percent": campaign.holdout_percent,
                "launched_at": campaign.launched_at,
                "sent_at": campaign.sent_at,
            }
            for campaign in campaigns
        ]
    )
    data_table(frame, labels={"holdout_percent": "Holdout %", "launched_at": "Launched (UTC)", "sent_at": "Sent (UTC)"})


def campaign_picker(campaigns: list[Campaign]) -> Campaign:
    by_id = {campaign.id: campaign for campaign in campaigns}
    chosen = st.selectbox(
        "Campaign",
        list(by_id),
        format_func=lambda campaign_id: f"#{campaign_id} {by_id[campaign_id].name}",  # options are plain text
        key="campaign_selected",
    )
    return by_id[chosen or campaigns[0].id]


def campaign_header(campaign: Campaign) -> None:
    plain_heading(f"#{campaign.id} {campaign.name}")
    segment = campaign.segment_name or "deleted segment"
    plain_caption(
        f"{campaign.channel} · {STATUS_WORDS.get(campaign.status, campaign.status)} · segment {segment} · "
        f"holdout {campaign.holdout_percent} % (seed {campaign.seed}) · "
        f"conversion window {campaign.conversion_window_days} days"
    )


# --- create -------------------------------------------------------------------------------------
def _use_suggestion(suggestion: Suggestion) -> None:
    st.session_state[SUBJECT_KEY] = suggestion.template.subject
    st.session_state[BODY_KEY] = suggestion.template.body


def _suggestions(engine: Engine, segment: Segment) -> None:
    try:
        # Cached by the rule itself (members are counted over all orders: costly at 100k customers).
        suggestions = cached(suggestions_for_rules, segment.name, json.dumps(segment.rules, sort_keys=True))
    except (SegmentError, ValueError) as error:
        st.warning(f"No suggestions: {error}")
        return
    st.caption("Suggestions for this segment (written from its own numbers; recommended ones first):")
    for index, suggestion in enumerate(suggestions):
        columns = st.columns([4, 1])
        with columns[0]:
            star = "★ " if suggestion.recommended else ""
            st.markdown(f"**{star}{escape_markdown(suggestion.title)}** — {escape_markdown(suggestion.why)}")
        columns[1].button(
            "Use", key=f"campaign_suggestion_{index}", on_click=_use_suggestion, args=(suggestion,), type="tertiary"
        )


def _preview(engine: Engine, template: Template, members: list[int], channel: str) -> bool:
    """Rendered messages of the first recipients; False (with the reason) when the template is refused."""
    try:
        previews = preview_messages(engine, template, members, channel, app_url=get_settings().app_url, limit=3)
    except TemplateError as error:
        st.error(str(error))
        return False
    if not previews:
        st.warning("Nobody in this segment can be contacted on this channel (consent or address missing).")
    for preview in previews:
        with st.container(border=True):
            plain_caption(f"To {preview.to} (customer #{preview.customer_id})")
            st.markdown("**" + escape_markdown(preview.subject) + "**")
            plain_text(preview.body)
    return True


def create_form(engine: Engine, actor: Actor) -> None:
    """The new-campaign form with suggestions and a live preview; selects the new campaign once created."""
    saved = list_segments(engine)
    if not saved:
        st.info("Save a segment first (Segments page): a campaign targets a saved segment.")
        return
    by_id = {segment.id: segment for segment in saved}
    name = st.text_input("Name", key="campaign_name", max_chars=160)
    segment_id = st.selectbox("Segment", list(by_id), format_func=lambda key: by_id[key].name, key="campaign_segment")
    segment = by_id[segment_id or saved[0].id]
    channel = st.radio("Channel", APP_CHANNELS, horizontal=True, key="campaign_channel") or "email"
    _suggestions(engine, segment)
    st.text_input("Subject", key=SUBJECT_KEY, max_chars=200)
    st.text_area("Message", key=BODY_KEY, height=200)
    st.caption(
        "Placeholders: " + ", ".join(f"`{{{name}}}`" for name in PLACEHOLDERS) + " — `{first_name|there}` "
        "falls back to “there” when empty; `{{` and `}}` are literal braces."
    )
    columns = st.columns(3)
    holdout = columns[0].number_input(
        "Holdout %",
        0,
        MAX_HOLDOUT_PERCENT,
        DEFAULT_HOLDOUT_PERCENT,
        key="campaign_holdout",
        help="Share of the contactable members drawn (with a stored seed) into a never-contacted control group.",
    )
    window = columns[1].number_input("Conversion window (days)", 1, 365, 14, key="campaign_window")
    seed_text = columns[2].text_input("Seed (optional)", key="campaign_seed", help="Empty: a random seed, stored.")
    template = Template(st.session_state.get(SUBJECT_KEY, ""), st.session_state.get(BODY_KEY, ""))
    members = segment_members(engine, segment.rules)
    st.caption(f"{len(members):,} members today. Preview for real recipients:")
    renders = bool(template.subject.strip() and template.body.strip()) and _preview(engine, template, members, channel)
    if st.button("Create campaign", type="primary", disabled=not renders, key="campaign_create"):
        try:
            seed = int(seed_text) if seed_text.strip() else None
            campaign_id = create_campaign(
                engine,
                actor,
                name=name,
                segment=segment.id,
                channel=channel,
                template=template,
                holdout_percent=int(holdout),
                seed=seed,
                conversion_window_days=int(window),
            )
        except ValueError as error:  # CampaignError, TemplateError, a seed that is not a number
            st.error(str(error))
            return
        invalidate()
        st.session_state["campaign_selected"] = campaign_id
        st.session_state[FLASH_KEY] = f"Campaign #{campaign_id} created as a draft: launch it below."
        st.rerun()


def show_flash() -> None:
    """The confirmation of the action that triggered this rerun (shown once)."""
    message = st.session_state.pop(FLASH_KEY, None)
    if message:
        st.success(message)


# --- preview and actions ------------------------------------------------------------------------
def message_preview(engine: Engine, campaign: Campaign) -> None:
    with st.expander("Preview for real recipients", expanded=campaign.status == "draft"):
        try:
            previews = preview_campaign(engine, campaign.id, app_url=get_settings().app_url, limit=3)
        except (CampaignError, TemplateError, SegmentError) as error:
            st.error(str(error))
            return
        for preview in previews:
            with st.container(border=True):
                plain_caption(f"To {preview.to} (customer #{preview.customer_id})")
                st.markdown("**" + escape_markdown(preview.subject) + "**")
                plain_text(preview.body)


def _mail() -> MailSettings | None:
    try:
        return mail_settings()
    except MailConfigError as error:
        st.error(str(error))
        return None


def _send(engine: Engine, actor: Actor, campaign: Campaign, mail: MailSettings) -> None:
    bar = st.progress(0.0, text="Sending…")

    def show(progress: SendProgress) -> None:
        share = progress.done / progress.total if progress.total else 1.0
        bar.progress(min(share, 1.0), text=f"{progress.done} of {progress.total} sent ({progress.failed} failed)")

    try:
        summary = send_campaign(
            engine,
            actor,
            campaign.id,
            mail=mail,
            secret_key=cookie_key(),
            app_url=get_settings().app_url,
            progress=show,
        )
    except CampaignError as error:
        st.error(str(error))
        return
    bar.progress(1.0, text="Done")
    message = f"Sent {summary.sent}, failed {summary.failed}."
    if summary.interrupted:
        message += f" {summary.interrupted} left by an interrupted run marked failed (delivery unknown, not resent)."
    if not summary.finished:
        message += " Some messages are still in flight in another run; send again later to finish."
    invalidate()
    # Rerun so the header, counts and results above and below show the campaign as it now is.
    st.session_state[FLASH_KEY] = message
    st.rerun()


def _export(engine: Engine, actor: Actor, campaign: Campaign) -> None:
    if st.button("Prepare the CSV of messages", key="campaign_export"):
        try:
            data = export_campaign_messages(
                engine, actor, campaign.id, secret_key=cookie_key(), app_url=get_settings().app_url
            )
        except (CampaignError, PermissionError) as error:
            st.error(str(error))
            return
        st.session_state[EXPORT_KEY] = (campaign.id, data)
    prepared = st.session_state.get(EXPORT_KEY)
    if prepared and prepared[0] == campaign.id:
        st.download_button(
            "Download messages (CSV)",
            prepared[1],
            file_name=f"campaign_{campaign.id}_messages.csv",
            mime="text/csv",
            key="campaign_export_download",
        )


def campaign_actions(engine: Engine, actor: Actor, campaign: Campaign) -> None:
    """Launch (draft), send by email or export (launched), import opens/clicks (sent)."""
    if not campaign.is_app_campaign:
        st.caption("A planned campaign from before campaigns could be sent from the app: results only.")
        return
    if campaign.status == "draft":
        if st.button("Launch: freeze the recipients", type="primary", key="campaign_launch"):
            try:
                summary = launch_campaign(engine, actor, campaign.id)
            except (CampaignError, SegmentError) as error:
                st.error(str(error))
                return
            invalidate()
            reasons = ", ".join(f"{count} {reason}" for reason, count in summary.not_contactable.items()) or "none"
            st.session_state[FLASH_KEY] = (
                f"Launched: {summary.to_contact} to contact, {summary.holdout} in the holdout, "
                f"not contactable: {reasons}."
            )
            st.rerun()
        return
    counts = recipient_status_counts(engine, campaign.id)
    waiting = counts.get("pending", 0)
    st.caption(
        f"{waiting} waiting, {counts.get('sent', 0) + counts.get('exported', 0)} sent or exported, "
        f"{counts.get('failed', 0)} failed, {counts.get('sending', 0)} in flight."
    )
    mail = _mail() if campaign.channel == "email" else None
    if campaign.channel == "email" and mail is not None and (waiting or counts.get("sending", 0)):
        st.caption(f"Mail goes through {mail.describe()}.")
        if st.button(f"Send {waiting} messages", type="primary", key="campaign_send"):
            _send(engine, actor, campaign, mail)
    elif campaign.channel == "email" and mail is None and waiting:
        st.info("No SMTP server is configured (CRM_SMTP_URL): export the messages for your own mail tool.")
    if campaign.channel != "email" or mail is None or counts.get("exported", 0):
        _export(engine, actor, campaign)
    if campaign.channel == "email" and campaign.status == "sent":
        _engagement_import(engine, actor, campaign)


def _engagement_import(engine: Engine, actor: Actor, campaign: Campaign) -> None:
    with st.expander("Import opens and clicks from your mail tool (CSV: email, opened_at, clicked_at)"):
        upload = st.file_uploader("CSV file", type=["csv"], key="campaign_engagement_file")
        if upload is not None and st.button("Import", key="campaign_engagement_import"):
            try:
                result = import_engagement(engine, actor, campaign.id, upload.getvalue())
            except EngagementError as error:
                st.error(str(error))
                return
            st.success(
                f"{result.matched} recipients matched ({result.opened} opened, {result.clicked} clicked); "
                f"{len(result.unmatched)} addresses are not recipients of this campaign."
            )


# --- results ------------------------------------------------------------------------------------
def conversion_figure(groups: pd.DataFrame, window_days: int) -> go.Figure:
    """Conversion rate per group with each rate's 95 % interval (normal approximation), as error bars."""
    shown = groups[groups["customers"] > 0]
    rates = shown["conversion_rate"].astype(float)
    half = Z_95 * (rates * (1 - rates) / shown["customers"]).pow(0.5)
    figure = go.Figure(
        go.Bar(
            x=[str(group).capitalize() for group in shown["group"]],
            y=rates * 100,
            error_y={"type": "data", "array": half * 100, "visible": True},
            text=[f"{rate:.1%} of {count:,}" for rate, count in zip(rates, shown["customers"], strict=True)],
            hovertemplate="%{x}: %{y:.1f} %<extra></extra>",
        )
    )
    figure.update_layout(
        title=f"Converted within {window_days} days (bars: 95 % interval)", yaxis_title="Conversion rate (%)"
    )
    return figure


def results_section(engine: Engine, campaign: Campaign) -> CampaignResults:
    st.subheader("Results")
    window = st.number_input(
        "Conversion window (days)",
        1,
        365,
        campaign.conversion_window_days,
        key=f"campaign_results_window_{campaign.id}",
        help="A conversion is a counted order (not cancelled or refunded) within this many days of the first send.",
    )
    results = campaign_results(engine, campaign.id, window_days=int(window))
    columns = st.columns(5)
    with columns[0]:
        kpi_card("Recipients", f"{results.recipients:,}", "Segment members frozen at launch.")
    with columns[1]:
        kpi_card("Contacted", f"{results.contacted:,}", "Chosen for contact (sent, failed or still waiting).")
    with columns[2]:
        kpi_card("Delivery failures", f"{results.failed:,}", "Refused by the mail server or not rendered.")
    with columns[3]:
        kpi_card("Holdout", f"{results.holdout:,}", "Control group, never contacted.")
    with columns[4]:
        kpi_card("Not contactable", f"{sum(results.not_contactable.values()):,}", "No consent or no address.")
    if results.not_contactable:
        st.caption(
            "Not contactable: " + ", ".join(f"{count:,} {reason}" for reason, count in results.not_contactable.items())
        )
    if campaign.channel == "email":
        st.caption(f"Opened {results.opened:,}, clicked {results.clicked:,} (from the imported mail-tool CSV).")
    groups = results.groups.copy()
    groups["revenue"] = groups["revenue"].astype(float)
    data_table(
        groups,
        labels={"customers": "Customers", "converted": "Converted", "revenue_per_recipient": "Revenue per recipient"},
        money=("revenue", "revenue_per_recipient"),
        percent=("conversion_rate",),
    )
    if results.uplift is not None:
        st.caption(
            f"Uplift {results.uplift.difference * 100:+.1f} points, 95 % interval "
            f"{results.uplift.low * 100:+.1f} to {results.uplift.high * 100:+.1f} "
            "(normal approximation to the difference of two proportions)."
        )
    (st.success if results.uplift is not None and results.uplift.distinguishable else st.info)(results.sentence)
    if results.send_time is not None and (results.groups["customers"] > 0).any():
        show_chart(conversion_figure(results.groups, results.window_days), name=f"campaign_{campaign.id}_conversion")
    revenue = groups.set_index("group")["revenue"]
    st.caption(
        f"Revenue in the window: contacted {format_money(revenue.get('contacted', 0))}, "
        f"holdout {format_money(revenue.get('holdout', 0))}."
    )
    return results


# --- unsubscribe page ---------------------------------------------------------------------------
def unsubscribe_form(engine: Engine, token: str | None) -> None:
    """Confirm-then-unsubscribe: a button, so mail scanners that open links do not unsubscribe anyone."""
    if not token:
        st.error("This unsubscribe link is incomplete. Open the link from the message again.")
        return
    if st.session_state.get("unsubscribe_done") == token:
        st.success("You are unsubscribed: you will no longer receive marketing messages from us.")
        return
    st.write("Do you want to stop receiving marketing messages from us?")
    if st.button("Unsubscribe me", type="primary", key="unsubscribe_confirm"):
        result = unsubscribe(engine, cookie_key(), token)
        if not result.valid:
            st.error("This unsubscribe link is not valid. Open the link from the message again.")
            return
        st.session_state["unsubscribe_done"] = token
        st.success("You are unsubscribed: you will no longer receive marketing messages from us.")
