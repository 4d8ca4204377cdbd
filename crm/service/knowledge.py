"""The knowledge base: a category tree, Markdown articles (draft → published), views, helpful votes,
FAQ entries (pinned first, then their order) and one search across articles and FAQ.

Who may do what (crm/permissions.py): every role reads published articles and the FAQ
(READ_KNOWLEDGE_BASE); agents write and edit drafts (WRITE_ARTICLES) and see drafts in lists and
search; managers publish, unpublish, edit published articles and the FAQ (PUBLISH_ARTICLES). Every
write checks the permission and writes its audit row in the same transaction; a view is counted
without an audit row (reading is not a change), a vote is audited.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, and_, case, func, select, update
from sqlalchemy.exc import IntegrityError

from crm.audit import record_audit
from crm.permissions import Actor, Permission, allowed, require
from crm.schema import faqs, kb_article_votes, kb_articles, kb_categories, users, utc_now
from crm.service.markdown_render import render_markdown
from crm.service.search_sql import MARK_END, MARK_START, search_rows

__all__ = [
    "Article",
    "CategoryNode",
    "FaqEntry",
    "KnowledgeError",
    "SearchHit",
    "article_link",
    "article_list",
    "category_tree",
    "create_category",
    "faq_entries",
    "get_article",
    "highlight_html",
    "record_view",
    "render_markdown",
    "save_article",
    "save_faq",
    "search_knowledge",
    "set_faq_pinned",
    "set_published",
    "update_category",
    "vote",
]

TITLE_LIMIT = 200
QUESTION_LIMIT = 300
CATEGORY_NAME_LIMIT = 120


class KnowledgeError(ValueError):
    """A refused knowledge-base change; the message names the field and what is wrong."""


@dataclass(frozen=True)
class CategoryNode:
    id: int
    name: str
    parent_id: int | None
    depth: int  # 0 for a root category
    path: str  # "Orders & shipping › Returns"


@dataclass(frozen=True)
class Article:
    id: int
    category_id: int
    category_path: str
    title: str
    body: str
    is_published: bool
    view_count: int
    helpful_yes: int
    helpful_no: int
    author: str | None
    published_at: datetime | None
    updated_at: datetime
    version: int
    my_vote: bool | None  # the reader's own vote, if any

    @property
    def body_html(self) -> str:
        """The body as safe HTML (crm.service.markdown_render)."""
        return render_markdown(self.body)


@dataclass(frozen=True)
class FaqEntry:
    id: int
    category_id: int | None
    category_path: str
    question: str
    answer: str
    sort_order: int
    is_pinned: bool
    version: int

    @property
    def answer_html(self) -> str:
        return render_markdown(self.answer)


@dataclass(frozen=True)
class SearchHit:
    """A search result; ``title_html``/``excerpt_html`` are escaped text with ``<mark>`` around matches."""

    kind: str  # 'article' or 'faq'
    item_id: int
    title_html: str
    excerpt_html: str
    score: float
    is_published: bool
    category_path: str

    @property
    def title_text(self) -> str:
        """The title without highlighting (for labels that show plain text)."""
        return html.unescape(self.title_html.replace("<mark>", "").replace("</mark>", ""))


def highlight_html(marked: str) -> str:
    """Text whose matches the database wrapped in MARK_START/MARK_END, as escaped HTML with ``<mark>``.

    The text is escaped first, so nothing the writer typed can become markup; only the markers
    (control characters, which escaping leaves alone) turn into tags. An unpaired marker is dropped.
    """
    parts: list[str] = []
    open_mark = False
    for piece in _split_marks(marked):
        if piece == MARK_START:
            if not open_mark:
                parts.append("<mark>")
                open_mark = True
        elif piece == MARK_END:
            if open_mark:
                parts.append("</mark>")
                open_mark = False
        else:
            parts.append(html.escape(piece, quote=True))
    if open_mark:
        parts.append("</mark>")
    return "".join(parts)


def _split_marks(marked: str) -> list[str]:
    pieces: list[str] = []
    current: list[str] = []
    for character in marked:
        if character in (MARK_START, MARK_END):
            pieces.append("".join(current))
            pieces.append(character)
            current = []
        else:
            current.append(character)
    pieces.append("".join(current))
    return [piece for piece in pieces if piece]


# --- categories --------------------------------------------------------------------------------------


def category_tree(engine: Engine) -> list[CategoryNode]:
    """Every category, depth-first with children under their parent (names in alphabetical order)."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(kb_categories.c.id, kb_categories.c.name, kb_categories.c.parent_id).order_by(
                kb_categories.c.name, kb_categories.c.id
            )
        ).all()
    children: dict[int | None, list[Any]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    nodes: list[CategoryNode] = []

    def walk(parent_id: int | None, depth: int, prefix: str) -> None:
        for row in children.get(parent_id, []):
            path = f"{prefix} › {row.name}" if prefix else row.name
            nodes.append(CategoryNode(row.id, row.name, row.parent_id, depth, path))
            walk(row.id, depth + 1, path)

    walk(None, 0, "")
    return nodes


def _category_paths(engine: Engine) -> dict[int, str]:
    return {node.id: node.path for node in category_tree(engine)}


def create_category(engine: Engine, actor: Actor, name: str, parent_id: int | None = None) -> int:
    """A new category (under ``parent_id``); names are unique among siblings."""
    require(actor, Permission.WRITE_ARTICLES)
    name = _required_text(name, "name", CATEGORY_NAME_LIMIT)
    now = utc_now()
    with engine.begin() as connection:
        if parent_id is not None and not _exists(connection, kb_categories, parent_id):
            raise KnowledgeError(f"parent: category {parent_id} does not exist.")
        sibling = connection.execute(
            select(kb_categories.c.id).where(
                kb_categories.c.name == name,
                kb_categories.c.parent_id.is_(None) if parent_id is None else kb_categories.c.parent_id == parent_id,
            )
        ).first()
        if sibling is not None:
            raise KnowledgeError(f"name: a category named {name!r} already exists there.")
        values = {"name": name, "parent_id": parent_id, "created_at": now, "updated_at": now}
        category_id = int(connection.execute(kb_categories.insert().values(values)).inserted_primary_key[0])
        record_audit(connection, actor, "create", "kb_categories", category_id, after=values)
    return category_id


def update_category(
    engine: Engine,
    actor: Actor,
    category_id: int,
    *,
    name: str,
    parent_id: int | None,
    expected_version: int | None = None,
) -> None:
    """Rename a category or move it under another parent (never under itself or one of its descendants)."""
    require(actor, Permission.PUBLISH_ARTICLES)
    name = _required_text(name, "name", CATEGORY_NAME_LIMIT)
    tree = category_tree(engine)
    if category_id not in {node.id for node in tree}:
        raise KnowledgeError(f"category: category {category_id} does not exist.")
    if parent_id is not None:
        if parent_id not in {node.id for node in tree}:
            raise KnowledgeError(f"parent: category {parent_id} does not exist.")
        if parent_id in _with_descendants(tree, category_id):
            raise KnowledgeError("parent: a category cannot move under itself or one of its subcategories.")
    with engine.begin() as connection:
        before = connection.execute(
            select(kb_categories.c.name, kb_categories.c.parent_id).where(kb_categories.c.id == category_id)
        ).one()
        sibling = connection.execute(
            select(kb_categories.c.id).where(
                kb_categories.c.name == name,
                kb_categories.c.id != category_id,
                kb_categories.c.parent_id.is_(None) if parent_id is None else kb_categories.c.parent_id == parent_id,
            )
        ).first()
        if sibling is not None:
            raise KnowledgeError(f"name: a category named {name!r} already exists there.")
        values = {"name": name, "parent_id": parent_id, "updated_at": utc_now()}
        _update_versioned(connection, kb_categories, category_id, expected_version, values, "category")
        record_audit(
            connection,
            actor,
            "update",
            "kb_categories",
            category_id,
            before={"name": before.name, "parent_id": before.parent_id},
            after={"name": name, "parent_id": parent_id},
        )


# --- articles -------------------------------------------------------------------------------------------


def _required_text(value: str | None, field: str, limit: int | None = None) -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise KnowledgeError(f"{field}: must not be empty.")
    if limit is not None and len(cleaned) > limit:
        raise KnowledgeError(f"{field}: is {len(cleaned)} characters long; at most {limit} fit.")
    return cleaned


def _exists(connection: Connection, table: Any, row_id: int) -> bool:
    return connection.execute(select(table.c.id).where(table.c.id == row_id)).first() is not None


def _vote_counts() -> Any:
    """Per article: helpful yes / no vote counts (a subquery to join)."""
    return (
        select(
            kb_article_votes.c.article_id,
            func.sum(case((kb_article_votes.c.helpful, 1), else_=0)).label("helpful_yes"),
            func.sum(case((kb_article_votes.c.helpful, 0), else_=1)).label("helpful_no"),
        )
        .group_by(kb_article_votes.c.article_id)
        .subquery("votes")
    )


def sees_drafts(actor: Actor) -> bool:
    """Writers see drafts (theirs and their colleagues'); readers only published articles."""
    return allowed(actor.role, Permission.WRITE_ARTICLES)


def save_article(
    engine: Engine,
    actor: Actor,
    *,
    category_id: int,
    title: str,
    body: str,
    article_id: int | None = None,
    expected_version: int | None = None,
) -> int:
    """Create a draft (``article_id`` None) or edit an article; returns its id.

    Agents may edit drafts only; a published article is edited by a manager (PUBLISH_ARTICLES).
    An edit names the ``expected_version`` it started from: another save in between is refused.
    """
    require(actor, Permission.WRITE_ARTICLES)
    title = _required_text(title, "title", TITLE_LIMIT)
    body = _required_text(body, "body")
    now = utc_now()
    with engine.begin() as connection:
        if not _exists(connection, kb_categories, category_id):
            raise KnowledgeError(f"category: category {category_id} does not exist.")
        values = {"category_id": category_id, "title": title, "body": body, "updated_at": now}
        if article_id is None:
            values |= {"is_published": False, "view_count": 0, "author_id": actor.user_id, "created_at": now}
            new_id = int(connection.execute(kb_articles.insert().values(values)).inserted_primary_key[0])
            record_audit(connection, actor, "create", "kb_articles", new_id, after=values)
            return new_id
        before = connection.execute(select(kb_articles).where(kb_articles.c.id == article_id)).mappings().first()
        if before is None:
            raise KnowledgeError(f"article: article {article_id} does not exist.")
        if before["is_published"]:
            require(actor, Permission.PUBLISH_ARTICLES)
        _update_versioned(connection, kb_articles, article_id, expected_version, values, "article")
        record_audit(
            connection,
            actor,
            "update",
            "kb_articles",
            article_id,
            before={key: before[key] for key in values},
            after=values,
        )
    return article_id


def _update_versioned(
    connection: Connection, table: Any, row_id: int, expected_version: int | None, values: dict[str, Any], noun: str
) -> None:
    condition = table.c.id == row_id
    if expected_version is not None:
        condition = and_(condition, table.c.version == expected_version)
    changed = connection.execute(
        update(table).where(condition).values({**values, "version": table.c.version + 1})
    ).rowcount
    if changed == 0:
        raise KnowledgeError(f"{noun} {row_id} was changed by someone else meanwhile; reload it and try again.")


def set_published(engine: Engine, actor: Actor, article_id: int, published: bool) -> None:
    """Publish (readers see it, search finds it for everyone) or take back to draft; managers only."""
    require(actor, Permission.PUBLISH_ARTICLES)
    now = utc_now()
    with engine.begin() as connection:
        before = connection.execute(
            select(kb_articles.c.is_published, kb_articles.c.published_at).where(kb_articles.c.id == article_id)
        ).first()
        if before is None:
            raise KnowledgeError(f"article: article {article_id} does not exist.")
        values = {"is_published": published, "published_at": now if published else None, "updated_at": now}
        _update_versioned(connection, kb_articles, article_id, None, values, "article")
        record_audit(
            connection,
            actor,
            "update",
            "kb_articles",
            article_id,
            before={"is_published": bool(before.is_published), "published_at": before.published_at},
            after={"is_published": published, "published_at": values["published_at"]},
        )


def _article_select(actor: Actor) -> Any:
    votes = _vote_counts()
    mine = (
        select(kb_article_votes.c.helpful)
        .where(kb_article_votes.c.article_id == kb_articles.c.id, kb_article_votes.c.user_id == actor.user_id)
        .scalar_subquery()
    )
    statement = select(
        kb_articles,
        func.coalesce(votes.c.helpful_yes, 0).label("helpful_yes"),
        func.coalesce(votes.c.helpful_no, 0).label("helpful_no"),
        users.c.full_name.label("author_name"),
        users.c.username.label("author_username"),
        mine.label("my_vote"),
    ).select_from(
        kb_articles.outerjoin(votes, votes.c.article_id == kb_articles.c.id).outerjoin(
            users, users.c.id == kb_articles.c.author_id
        )
    )
    if not sees_drafts(actor):
        statement = statement.where(kb_articles.c.is_published.is_(True))
    return statement


def get_article(engine: Engine, actor: Actor, article_id: int) -> Article | None:
    """The article, or None when it does not exist or is a draft the actor may not see."""
    require(actor, Permission.READ_KNOWLEDGE_BASE)
    with engine.connect() as connection:
        row = connection.execute(_article_select(actor).where(kb_articles.c.id == article_id)).mappings().first()
    if row is None:
        return None
    paths = _category_paths(engine)
    return Article(
        id=row["id"],
        category_id=row["category_id"],
        category_path=paths.get(row["category_id"], ""),
        title=row["title"],
        body=row["body"],
        is_published=bool(row["is_published"]),
        view_count=int(row["view_count"]),
        helpful_yes=int(row["helpful_yes"]),
        helpful_no=int(row["helpful_no"]),
        author=row["author_name"] or row["author_username"],
        published_at=row["published_at"],
        updated_at=row["updated_at"],
        version=int(row["version"]),
        my_vote=None if row["my_vote"] is None else bool(row["my_vote"]),
    )


def article_list(engine: Engine, actor: Actor, category_id: int | None = None) -> pd.DataFrame:
    """Articles the actor may see (in ``category_id`` and its subcategories when given), newest first.

    Columns: id, title, category (its path), status ('published'/'draft'), views, helpful_yes,
    helpful_no, updated_at.
    """
    require(actor, Permission.READ_KNOWLEDGE_BASE)
    tree = category_tree(engine)
    paths = {node.id: node.path for node in tree}
    statement = _article_select(actor).order_by(kb_articles.c.updated_at.desc(), kb_articles.c.id.desc())
    if category_id is not None:
        statement = statement.where(kb_articles.c.category_id.in_(_with_descendants(tree, category_id)))
    with engine.connect() as connection:
        rows = connection.execute(statement).mappings().all()
    return pd.DataFrame(
        [
            {
                "id": row["id"],
                "title": row["title"],
                "category": paths.get(row["category_id"], ""),
                "status": "published" if row["is_published"] else "draft",
                "views": int(row["view_count"]),
                "helpful_yes": int(row["helpful_yes"]),
                "helpful_no": int(row["helpful_no"]),
                "updated_at": row["updated_at"],
            }
            for row in rows
        ],
        columns=["id", "title", "category", "status", "views", "helpful_yes", "helpful_no", "updated_at"],
    )


def _with_descendants(tree: list[CategoryNode], category_id: int) -> list[int]:
    wanted = {category_id}
    for node in tree:  # depth-first order: a parent always comes before its children
        if node.parent_id in wanted:
            wanted.add(node.id)
    return sorted(wanted)


def record_view(engine: Engine, article_id: int) -> None:
    """Count one reading of a published article (one UPDATE, so simultaneous readers all count)."""
    with engine.begin() as connection:
        connection.execute(
            update(kb_articles)
            .where(kb_articles.c.id == article_id, kb_articles.c.is_published.is_(True))
            .values(view_count=kb_articles.c.view_count + 1)
        )


def vote(engine: Engine, actor: Actor, article_id: int, helpful: bool) -> None:
    """The actor's "was this helpful?" answer; a second vote replaces the first (one per user and article)."""
    require(actor, Permission.READ_KNOWLEDGE_BASE)
    if actor.user_id is None:
        raise KnowledgeError("vote: only a signed-in user can vote.")
    now = utc_now()
    with engine.begin() as connection:
        published = connection.execute(
            select(kb_articles.c.is_published).where(kb_articles.c.id == article_id)
        ).scalar_one_or_none()
        if not published:
            raise KnowledgeError(f"article: article {article_id} is not published.")
        mine = kb_article_votes.c.article_id == article_id, kb_article_votes.c.user_id == actor.user_id
        previous = connection.execute(select(kb_article_votes.c.helpful).where(*mine)).scalar_one_or_none()
        after = {"article_id": article_id, "user_id": actor.user_id, "helpful": helpful}
        if previous is None:
            try:
                with connection.begin_nested():
                    connection.execute(kb_article_votes.insert().values({**after, "voted_at": now}))
            except IntegrityError:  # the same user voted in another tab at the same moment
                connection.execute(update(kb_article_votes).where(*mine).values(helpful=helpful, voted_at=now))
            record_audit(connection, actor, "create", "kb_article_votes", article_id, after=after)
        elif bool(previous) != helpful:
            connection.execute(update(kb_article_votes).where(*mine).values(helpful=helpful, voted_at=now))
            record_audit(
                connection, actor, "update", "kb_article_votes", article_id, before={"helpful": previous}, after=after
            )


def article_link(article_id: int, title: str) -> str:
    """A Markdown link to the article in the app, for a ticket reply (the title as plain link text)."""
    # Brackets and backslashes would end or escape the link text; everything else reads as written.
    text = title.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    return f"[{text}](/knowledge_base?article={int(article_id)})"


# --- FAQ ------------------------------------------------------------------------------------------------


def faq_entries(engine: Engine, category_id: int | None = None) -> list[FaqEntry]:
    """FAQ entries (of one category and its subcategories when given): pinned first, then by sort order."""
    tree = category_tree(engine)
    paths = {node.id: node.path for node in tree}
    statement = select(faqs).order_by(faqs.c.is_pinned.desc(), faqs.c.sort_order, faqs.c.id)
    if category_id is not None:
        statement = statement.where(faqs.c.category_id.in_(_with_descendants(tree, category_id)))
    with engine.connect() as connection:
        rows = connection.execute(statement).mappings().all()
    return [
        FaqEntry(
            id=row["id"],
            category_id=row["category_id"],
            category_path=paths.get(row["category_id"], "") if row["category_id"] is not None else "",
            question=row["question"],
            answer=row["answer"],
            sort_order=int(row["sort_order"]),
            is_pinned=bool(row["is_pinned"]),
            version=int(row["version"]),
        )
        for row in rows
    ]


def save_faq(
    engine: Engine,
    actor: Actor,
    *,
    question: str,
    answer: str,
    category_id: int | None = None,
    sort_order: int = 0,
    is_pinned: bool = False,
    faq_id: int | None = None,
    expected_version: int | None = None,
) -> int:
    """Create or edit a FAQ entry (managers: the FAQ is public the moment it is saved); returns its id."""
    require(actor, Permission.PUBLISH_ARTICLES)
    question = _required_text(question, "question", QUESTION_LIMIT)
    answer = _required_text(answer, "answer")
    if sort_order < 0:
        raise KnowledgeError(f"sort order: {sort_order} is negative; it must be 0 or more.")
    now = utc_now()
    values = {
        "category_id": category_id,
        "question": question,
        "answer": answer,
        "sort_order": sort_order,
        "is_pinned": is_pinned,
        "updated_at": now,
    }
    with engine.begin() as connection:
        if category_id is not None and not _exists(connection, kb_categories, category_id):
            raise KnowledgeError(f"category: category {category_id} does not exist.")
        if faq_id is None:
            new_id = int(
                connection.execute(faqs.insert().values({**values, "created_at": now})).inserted_primary_key[0]
            )
            record_audit(connection, actor, "create", "faqs", new_id, after=values)
            return new_id
        before = connection.execute(select(faqs).where(faqs.c.id == faq_id)).mappings().first()
        if before is None:
            raise KnowledgeError(f"faq: entry {faq_id} does not exist.")
        _update_versioned(connection, faqs, faq_id, expected_version, values, "FAQ entry")
        record_audit(
            connection, actor, "update", "faqs", faq_id, before={key: before[key] for key in values}, after=values
        )
    return faq_id


def set_faq_pinned(engine: Engine, actor: Actor, faq_id: int, pinned: bool) -> None:
    """Pin an entry to the top of the FAQ (or unpin it)."""
    require(actor, Permission.PUBLISH_ARTICLES)
    with engine.begin() as connection:
        before = connection.execute(select(faqs.c.is_pinned).where(faqs.c.id == faq_id)).scalar_one_or_none()
        if before is None:
            raise KnowledgeError(f"faq: entry {faq_id} does not exist.")
        _update_versioned(connection, faqs, faq_id, None, {"is_pinned": pinned, "updated_at": utc_now()}, "FAQ entry")
        record_audit(
            connection, actor, "update", "faqs", faq_id, before={"is_pinned": bool(before)}, after={"is_pinned": pinned}
        )


# --- search ---------------------------------------------------------------------------------------------


def search_knowledge(engine: Engine, actor: Actor, query: str, limit: int = 20) -> list[SearchHit]:
    """Articles and FAQ entries matching every word of ``query``, best first, matches highlighted.

    Drafts are found only by those who may write articles (and are flagged ``is_published`` False).
    """
    require(actor, Permission.READ_KNOWLEDGE_BASE)
    with engine.connect() as connection:
        rows = search_rows(connection, query, include_drafts=sees_drafts(actor), limit=limit)
    paths = _category_paths(engine) if rows else {}
    return [
        SearchHit(
            kind=row.kind,
            item_id=row.item_id,
            title_html=highlight_html(row.marked_title),
            excerpt_html=highlight_html(row.marked_excerpt),
            score=row.score,
            is_published=row.is_published,
            category_path=paths.get(row.category_id, "") if row.category_id is not None else "",
        )
        for row in rows
    ]
