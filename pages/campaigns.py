"""Campaigns: target a saved segment, preview real messages, launch, send or export, and measure the result."""

from __future__ import annotations

import streamlit as st

from crm.marketing.campaigns import list_campaigns
from crm.permissions import Permission, allowed
from crm.ui import campaign_view as view
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission

engine = get_engine()
actor = require_page_permission(engine, Permission.VIEW_ANALYTICS)
st.title("Campaigns")
view.show_flash()
can_launch = allowed(actor.role, Permission.LAUNCH_CAMPAIGNS)
campaigns = list_campaigns(engine)
if can_launch:
    with st.expander("New campaign", expanded=not campaigns, icon=":material/add:"):
        view.create_form(engine, actor)
if not campaigns:
    st.info("No campaigns yet." + (" Create one above." if can_launch else " Managers and admins create them."))
    st.stop()

view.campaigns_table(campaigns)
campaign = view.campaign_picker(campaigns)
view.campaign_header(campaign)
if campaign.is_app_campaign:
    view.message_preview(engine, campaign)
if can_launch:
    view.campaign_actions(engine, actor, campaign)
view.results_section(engine, campaign)
