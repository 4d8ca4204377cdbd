"""Widgets of the Knowledge base page and the article-link picker of the ticket reply form.

What staff wrote is shown safely: titles and questions as plain text (crm/ui/plain.py), article
bodies and FAQ answers as HTML from crm.service.markdown_render (raw HTML off, unsafe links dropped)
through ``st.html``, search highlights as escaped text with ``<mark>`` tags (crm.service.knowledge).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import streamlit as st
from sqlalchemy import Engine

from crm.permissions import Actor, Permission, PermissionDeniedError, allowed
from crm.service import knowledge
from crm.service.knowledge import Article, FaqEntry, KnowledgeError, SearchHit
from crm.service.markdown_render import render_markdown
from crm.ui.cache import invalidate
from crm.ui.plain import escape_markdown, plain_caption, plain_heading
from crm.ui.session import current_actor

__all__ = [
    "ARTICLE_PARAM",
    "article_editor",
    "article_link_picker",
    "article_list",
    "article_view",
    "category_editor",
    "faq_editor",
    "faq_view",
    "open_article_id",
    "search_results",
]

# The address of an article: /knowledge_base?article=ID (links inserted into ticket replies use it too).
ARTICLE_PARAM = "article"
MESSAGE_STATE = "kb_message"
VIEWED_STATE = "kb_viewed_articles"


def _run_write(write: Callable[[], Any], success: str) -> bool:
    """Run a knowledge-base write; the outcome shows as one message on the next run."""
    try:
        write()
    except (KnowledgeError, PermissionDeniedError) as error:
        st.session_state[MESSAGE_STATE] = ("error", str(error))
        return False
    invalidate()
    st.session_state[MESSAGE_STATE] = ("success", success)
    return True


def show_message() -> None:
    kind, text = st.session_state.pop(MESSAGE_STATE, (None, None))
    if kind == "error":
        st.error(text)
    elif kind == "success":
        st.success(text)


def open_article_id() -> int | None:
    """The article named in the address (``?article=ID``), if any."""
    raw = st.query_params.get(ARTICLE_PARAM)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _open(article_id: int | None) -> None:
    if article_id is None:
        st.query_params.pop(ARTICLE_PARAM, None)
    else:
        st.query_params[ARTICLE_PARAM] = str(article_id)


def _hit_html(hit: SearchHit) -> str:
    kind = "FAQ" if hit.kind == "faq" else "Article" if hit.is_published else "Draft"
    category = html.escape(hit.category_path)
    return (
        f'<div class="kb-hit"><small>{kind}{" · " + category if category else ""}</small><br>'
        f"<strong>{hit.title_html}</strong><br><span>{hit.excerpt_html}</span></div>"
    )


def search_results(engine: Engine, actor: Actor, query: str) -> None:
    """Ranked hits of ``query`` with the matched words highlighted; an article opens with its button."""
    hits = knowledge.search_knowledge(engine, actor, query)
    if not hits:
        st.info("No article or FAQ entry contains all of these words.", icon=":material/search_off:")
        return
    st.caption(f"{len(hits)} result{'s' if len(hits) != 1 else ''}, best match first.")
    for index, hit in enumerate(hits):
        with st.container(border=True):
            st.html(_hit_html(hit))
            if hit.kind == "article":
                st.button("Open", key=f"kb_open_hit_{index}", on_click=_open, args=(hit.item_id,))


def article_list(engine: Engine, actor: Actor) -> None:
    """Articles by category (a category includes its subcategories); pick one to open it."""
    tree = knowledge.category_tree(engine)
    choices: list[int | None] = [None, *(node.id for node in tree)]
    paths = {node.id: ("\u2003" * node.depth) + node.name for node in tree}
    category_id = st.selectbox(
        "Category", choices, format_func=lambda value: "All categories" if value is None else paths[value]
    )
    frame = knowledge.article_list(engine, actor, category_id)
    if frame.empty:
        st.caption("No articles here yet.")
        return
    titles = dict(zip(frame["id"], frame["title"], strict=True))
    status = dict(zip(frame["id"], frame["status"], strict=True))
    chosen = st.selectbox(
        "Article",
        list(frame["id"]),
        index=None,
        placeholder="Choose an article to read",
        format_func=lambda value: titles[value] + (" (draft)" if status[value] == "draft" else ""),
        key="kb_article_choice",
    )
    if chosen is not None:
        st.button("Open", key="kb_open_chosen", on_click=_open, args=(int(chosen),))
    st.dataframe(
        frame.drop(columns=["id"]),
        hide_index=True,
        column_config={"updated_at": st.column_config.DatetimeColumn("Updated", format="YYYY-MM-DD HH:mm")},
    )


def _vote(engine: Engine, actor: Actor, article_id: int, helpful: bool) -> None:
    _run_write(lambda: knowledge.vote(engine, actor, article_id, helpful), "Thank you for your answer.")


def _publish(engine: Engine, actor: Actor, article_id: int, published: bool) -> None:
    _run_write(
        lambda: knowledge.set_published(engine, actor, article_id, published),
        "Article published." if published else "Article taken back to draft.",
    )


def article_view(engine: Engine, actor: Actor, article: Article) -> None:
    """The article: title, category, body (safe HTML), views, helpful votes and, for staff, publishing."""
    viewed: set[int] = st.session_state.setdefault(VIEWED_STATE, set())
    views = article.view_count
    if article.is_published and article.id not in viewed:
        knowledge.record_view(engine, article.id)  # once per reader session
        viewed.add(article.id)
        views += 1  # this reading, counted after the article was read from the database
    st.button("← All articles", key="kb_back", on_click=_open, args=(None,))
    plain_heading(article.title)
    status = "Published" if article.is_published else "Draft — only writers see it"
    plain_caption(f"{article.category_path} · {status} · {views:,} views · by {article.author or '—'}")
    st.html(f'<div class="kb-article">{article.body_html}</div>')
    if article.is_published:
        st.caption(f"Was this helpful? {article.helpful_yes:,} yes, {article.helpful_no:,} no.")
        yes, no, _rest = st.columns([1, 1, 6])
        yes.button(
            "Yes" + (" ✓" if article.my_vote is True else ""),
            key="kb_vote_yes",
            on_click=_vote,
            args=(engine, actor, article.id, True),
        )
        no.button(
            "No" + (" ✓" if article.my_vote is False else ""),
            key="kb_vote_no",
            on_click=_vote,
            args=(engine, actor, article.id, False),
        )
    if allowed(actor.role, Permission.PUBLISH_ARTICLES):
        label = "Take back to draft" if article.is_published else "Publish"
        st.button(
            label, key="kb_publish", on_click=_publish, args=(engine, actor, article.id, not article.is_published)
        )
    may_edit = allowed(actor.role, Permission.PUBLISH_ARTICLES) or (
        allowed(actor.role, Permission.WRITE_ARTICLES) and not article.is_published
    )
    if may_edit:
        with st.expander("Edit this article"):
            article_editor(engine, actor, article)


def _save_article(engine: Engine, actor: Actor, prefix: str, article: Article | None) -> None:
    state = st.session_state
    saved = _run_write(
        lambda: state.__setitem__(
            f"{prefix}_saved_id",
            knowledge.save_article(
                engine,
                actor,
                category_id=state[f"{prefix}_category"],
                title=state[f"{prefix}_title"],
                body=state[f"{prefix}_body"],
                article_id=None if article is None else article.id,
                expected_version=None if article is None else article.version,
            ),
        ),
        "Draft saved." if article is None else "Article saved.",
    )
    if saved and article is None:
        for field in ("title", "body"):
            state[f"{prefix}_{field}"] = ""


def article_editor(engine: Engine, actor: Actor, article: Article | None = None) -> None:
    """Write a new draft (``article`` None) or edit one: Markdown with a live preview."""
    tree = knowledge.category_tree(engine)
    if not tree:
        st.caption("Add a category first.")
        return
    prefix = "kb_new" if article is None else f"kb_edit_{article.id}_{article.version}"
    paths = {node.id: node.path for node in tree}
    ids = list(paths)
    st.selectbox(
        "Category",
        ids,
        index=ids.index(article.category_id) if article and article.category_id in paths else 0,
        format_func=paths.get,
        key=f"{prefix}_category",
    )
    st.text_input("Title", value=article.title if article else "", max_chars=200, key=f"{prefix}_title")
    write, preview = st.tabs(["Write", "Preview"])
    with write:
        st.text_area("Body (Markdown)", value=article.body if article else "", height=240, key=f"{prefix}_body")
    with preview:
        rendered = render_markdown(st.session_state.get(f"{prefix}_body", ""))
        if rendered.strip():
            st.html(rendered)
        else:
            st.caption("Nothing to preview yet.")
    st.button(
        "Save draft" if article is None else "Save",
        key=f"{prefix}_save",
        type="primary",
        on_click=_save_article,
        args=(engine, actor, prefix, article),
    )


def faq_view(engine: Engine, actor: Actor) -> None:
    """The FAQ: pinned entries first, then in their order; managers pin and unpin."""
    entries = knowledge.faq_entries(engine)
    if not entries:
        st.caption("No FAQ entries yet.")
        return
    manager = allowed(actor.role, Permission.PUBLISH_ARTICLES)
    paths: dict[int | None, str] = {
        None: "No category",
        **{node.id: node.path for node in knowledge.category_tree(engine)},
    }
    for entry in entries:
        label = ("📌 " if entry.is_pinned else "") + escape_markdown(entry.question)
        with st.expander(label):
            if entry.category_path:
                plain_caption(entry.category_path)
            st.html(entry.answer_html)
            if manager:
                st.button(
                    "Unpin" if entry.is_pinned else "Pin to the top",
                    key=f"kb_pin_{entry.id}",
                    on_click=lambda entry_id=entry.id, pinned=not entry.is_pinned: _run_write(
                        lambda: knowledge.set_faq_pinned(engine, actor, entry_id, pinned),
                        "FAQ order saved.",
                    ),
                )
                _faq_entry_editor(engine, actor, entry, paths)


def _save_faq_entry(engine: Engine, actor: Actor, entry: FaqEntry, prefix: str) -> None:
    state = st.session_state
    _run_write(
        lambda: knowledge.save_faq(
            engine,
            actor,
            faq_id=entry.id,
            expected_version=entry.version,
            question=state[f"{prefix}_question"],
            answer=state[f"{prefix}_answer"],
            category_id=state[f"{prefix}_category"],
            sort_order=int(state[f"{prefix}_order"]),
            is_pinned=entry.is_pinned,
        ),
        "FAQ entry saved.",
    )


def _faq_entry_editor(engine: Engine, actor: Actor, entry: FaqEntry, paths: dict[int | None, str]) -> None:
    """Change an entry's question, answer, category or order (keys carry the version: a save refreshes them)."""
    prefix = f"kb_faq_{entry.id}_{entry.version}"
    with st.popover("Edit", icon=":material/edit:"):
        st.text_input("Question", value=entry.question, max_chars=300, key=f"{prefix}_question")
        st.text_area("Answer (Markdown)", value=entry.answer, height=120, key=f"{prefix}_answer")
        choices = list(paths)
        st.selectbox(
            "Category",
            choices,
            index=choices.index(entry.category_id) if entry.category_id in paths else 0,
            format_func=paths.get,
            key=f"{prefix}_category",
        )
        st.number_input("Order (lower first)", min_value=0, value=entry.sort_order, step=1, key=f"{prefix}_order")
        st.button("Save", key=f"{prefix}_save", on_click=_save_faq_entry, args=(engine, actor, entry, prefix))


def _save_faq(engine: Engine, actor: Actor) -> None:
    state = st.session_state
    if _run_write(
        lambda: knowledge.save_faq(
            engine,
            actor,
            question=state["kb_faq_question"],
            answer=state["kb_faq_answer"],
            category_id=state["kb_faq_category"],
            sort_order=int(state["kb_faq_order"]),
            is_pinned=bool(state["kb_faq_pinned"]),
        ),
        "FAQ entry added.",
    ):
        state["kb_faq_question"] = state["kb_faq_answer"] = ""


def faq_editor(engine: Engine, actor: Actor) -> None:
    """A new FAQ entry (managers): question, Markdown answer, category, order, pin."""
    tree = knowledge.category_tree(engine)
    paths: dict[int | None, str] = {None: "No category", **{node.id: node.path for node in tree}}
    st.text_input("Question", max_chars=300, key="kb_faq_question")
    st.text_area("Answer (Markdown)", height=120, key="kb_faq_answer")
    left, middle, right = st.columns(3)
    left.selectbox("Category", list(paths), format_func=paths.get, key="kb_faq_category")
    middle.number_input("Order (lower first)", min_value=0, value=0, step=1, key="kb_faq_order")
    right.checkbox("Pinned to the top", key="kb_faq_pinned")
    st.button("Add FAQ entry", key="kb_faq_add", on_click=_save_faq, args=(engine, actor))


def _add_category(engine: Engine, actor: Actor) -> None:
    state = st.session_state
    if _run_write(
        lambda: knowledge.create_category(engine, actor, state["kb_category_name"], state["kb_category_parent"]),
        "Category added.",
    ):
        state["kb_category_name"] = ""


def category_editor(engine: Engine, actor: Actor) -> None:
    """A new category, at the top or under another (the tree as indented names)."""
    tree = knowledge.category_tree(engine)
    parents: dict[int | None, str] = {None: "(top level)", **{node.id: node.path for node in tree}}
    st.text_input("New category", max_chars=120, key="kb_category_name")
    st.selectbox("Under", list(parents), format_func=parents.get, key="kb_category_parent")
    st.button("Add category", key="kb_category_add", on_click=_add_category, args=(engine, actor))
    if not tree:
        return
    st.divider()
    names = {node.id: node.name for node in tree}
    chosen = st.selectbox("Rename or move", list(names), format_func=parents.get, key="kb_category_edit")
    node = next(node for node in tree if node.id == chosen)
    prefix = f"kb_category_{node.id}"
    st.text_input("Name", value=node.name, max_chars=120, key=f"{prefix}_name")
    parent_choices = list(parents)
    st.selectbox(
        "Under",
        parent_choices,
        index=parent_choices.index(node.parent_id),
        format_func=parents.get,
        key=f"{prefix}_parent",
    )
    st.button("Save category", key=f"{prefix}_save", on_click=_update_category, args=(engine, actor, node.id, prefix))


def _update_category(engine: Engine, actor: Actor, category_id: int, prefix: str) -> None:
    state = st.session_state
    _run_write(
        lambda: knowledge.update_category(
            engine, actor, category_id, name=state[f"{prefix}_name"], parent_id=state[f"{prefix}_parent"]
        ),
        "Category saved.",
    )


def _pick(key: str, links: dict[int, str], target_state: str | None) -> None:
    chosen = st.session_state.get(f"{key}_choice")
    if chosen is None:
        return
    link = links[chosen]
    st.session_state[f"{key}_picked"] = link
    if target_state is not None:
        current = st.session_state.get(target_state) or ""
        st.session_state[target_state] = f"{current.rstrip()}\n{link}".strip() if current.strip() else link


def article_link_picker(engine: Engine, key: str, target_state: str | None = None) -> str | None:
    """Search the published articles and insert one's link: returns the Markdown link picked in this run.

    With ``target_state`` (the session-state key of a text area placed *below* this widget, e.g. the
    ticket reply's ``ticket_reply_body``), the button's callback appends the link there, so it shows in
    the text being written.
    """
    actor = current_actor(engine)
    if actor is None or not allowed(actor.role, Permission.READ_KNOWLEDGE_BASE):
        return None
    with st.popover("Insert a knowledge-base link", icon=":material/menu_book:"):
        query = st.text_input("Search the knowledge base", key=f"{key}_query", placeholder="e.g. refund")
        if not query.strip():
            st.caption("Type words from the article's title or text.")
            return st.session_state.pop(f"{key}_picked", None)
        # Customers follow the link: only published articles qualify.
        hits = [
            hit
            for hit in knowledge.search_knowledge(engine, actor, query, limit=10)
            if hit.kind == "article" and hit.is_published
        ]
        if not hits:
            st.caption("No published article matches.")
            return st.session_state.pop(f"{key}_picked", None)
        titles = {hit.item_id: hit.title_text for hit in hits}
        links = {hit.item_id: knowledge.article_link(hit.item_id, hit.title_text) for hit in hits}
        st.radio(
            "Article",
            list(titles),
            format_func=lambda value: escape_markdown(titles[value]),
            key=f"{key}_choice",
        )
        st.button("Insert link", key=f"{key}_insert", on_click=_pick, args=(key, links, target_state))
    return st.session_state.pop(f"{key}_picked", None)
