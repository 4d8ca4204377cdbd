"""Knowledge base: search articles and FAQ, read an article, write drafts, publish, keep the FAQ in order."""

from __future__ import annotations

import streamlit as st

from crm.permissions import Permission, allowed
from crm.service.knowledge import get_article
from crm.ui import knowledge_view as view
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission

engine = get_engine()
actor = require_page_permission(engine, Permission.READ_KNOWLEDGE_BASE)
st.title("Knowledge base")
view.show_message()

article_id = view.open_article_id()
if article_id is not None:
    article = get_article(engine, actor, article_id)
    if article is None:
        st.warning("This article does not exist or is not published.")
    else:
        view.article_view(engine, actor, article)
        st.stop()

query = st.text_input("Search articles and FAQ", key="kb_query", placeholder="e.g. refund parcel")
if query.strip():
    view.search_results(engine, actor, query)

writer = allowed(actor.role, Permission.WRITE_ARTICLES)
manager = allowed(actor.role, Permission.PUBLISH_ARTICLES)
tabs = ["Articles", "FAQ"] + (["Write an article"] if writer else []) + (["Manage"] if manager else [])
shown = dict(zip(tabs, st.tabs(tabs), strict=True))
with shown["Articles"]:
    view.article_list(engine, actor)
with shown["FAQ"]:
    view.faq_view(engine, actor)
if writer:
    with shown["Write an article"]:
        st.caption("New articles are drafts: writers see them, a manager publishes them for everyone.")
        view.article_editor(engine, actor)
if manager:
    with shown["Manage"]:
        st.subheader("New FAQ entry")
        view.faq_editor(engine, actor)
        st.subheader("New category")
        view.category_editor(engine, actor)
