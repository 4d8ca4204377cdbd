"""Full-text search of the knowledge base, in each engine's own kind: the one place they differ.

PostgreSQL matches ``plainto_tsquery('english', …)`` against the weighted tsvector expression of
migration 0007's GIN indexes (title/question weight A, body/answer weight B), ranks with ``ts_rank``
and marks matches with ``ts_headline``. SQLite matches the FTS5 tables of migration 0007 (porter
stemmer, so "returns" finds "returning" as on PostgreSQL), ranks with ``bm25()`` (title weighted
10:1 over the body) and marks matches with ``highlight()``/``snippet()``.

Matches are wrapped in the control characters ``MARK_START``/``MARK_END``, never in HTML: the text is
escaped afterwards and only then are the markers turned into highlighting (``crm.service.knowledge``).
Both engines AND the query's words; PostgreSQL also drops English stop words ("how", "to").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, text

__all__ = [
    "FULLTEXT_OBJECT_NAMES",
    "MARK_END",
    "MARK_START",
    "SearchRow",
    "query_words",
    "search_rows",
]

MARK_START = "\x02"
MARK_END = "\x03"

# Database objects migration 0007 creates outside the metadata (the schema test leaves them out).
FULLTEXT_OBJECT_NAMES = frozenset(
    {
        f"{fts}{suffix}"
        for fts in ("kb_articles_fts", "faqs_fts")
        for suffix in ("", "_data", "_idx", "_docsize", "_config", "_content")
    }
    | {"ix_kb_articles_search", "ix_faqs_search"}
)

_WORD = re.compile(r"\w+", re.UNICODE)
# Words of a snippet around the matches (the body can be long; the title is shown whole).
SNIPPET_WORDS = 24


@dataclass(frozen=True)
class SearchRow:
    """One hit: ``kind`` 'article' or 'faq', its id, the title and an excerpt with marked matches."""

    kind: str
    item_id: int
    marked_title: str
    marked_excerpt: str
    score: float  # higher is better; comparable within one engine's results only
    is_published: bool
    category_id: int | None


def query_words(query: str) -> list[str]:
    """The words a search looks for: letters and digits only, so no query syntax reaches the engine."""
    return _WORD.findall(query.replace(MARK_START, " ").replace(MARK_END, " "))


def _postgres_vector(alias: str, title: str, body: str) -> str:
    # Character for character the expression of migration 0007's GIN index, so the index is used.
    return (
        f"(setweight(to_tsvector('english'::regconfig, coalesce({alias}.{title}, '')), 'A') || "
        f"setweight(to_tsvector('english'::regconfig, coalesce({alias}.{body}, '')), 'B'))"
    )


_POSTGRES_SEARCH = f"""
WITH q AS (SELECT plainto_tsquery('english', :query) AS query)
SELECT * FROM (
    SELECT 'article' AS kind, a.id AS item_id,
           ts_headline('english', a.title, q.query, :title_options) AS marked_title,
           ts_headline('english', a.body, q.query, :excerpt_options) AS marked_excerpt,
           ts_rank({_postgres_vector("a", "title", "body")}, q.query) AS score,
           a.is_published AS is_published, a.category_id AS category_id
    FROM kb_articles a, q
    WHERE {_postgres_vector("a", "title", "body")} @@ q.query AND (a.is_published OR :include_drafts)
    UNION ALL
    SELECT 'faq', f.id,
           ts_headline('english', f.question, q.query, :title_options),
           ts_headline('english', f.answer, q.query, :excerpt_options),
           ts_rank({_postgres_vector("f", "question", "answer")}, q.query),
           TRUE, f.category_id
    FROM faqs f, q
    WHERE {_postgres_vector("f", "question", "answer")} @@ q.query
) hits
ORDER BY score DESC, kind, item_id
LIMIT :limit
"""

_SQLITE_SEARCH = f"""
SELECT kind, item_id, marked_title, marked_excerpt, score, is_published, category_id FROM (
    SELECT 'article' AS kind, a.id AS item_id,
           highlight(kb_articles_fts, 0, :mark_start, :mark_end) AS marked_title,
           snippet(kb_articles_fts, 1, :mark_start, :mark_end, '…', {SNIPPET_WORDS}) AS marked_excerpt,
           -bm25(kb_articles_fts, 10.0, 1.0) AS score,
           a.is_published AS is_published, a.category_id AS category_id
    FROM kb_articles_fts JOIN kb_articles a ON a.id = kb_articles_fts.rowid
    WHERE kb_articles_fts MATCH :match AND (a.is_published OR :include_drafts)
    UNION ALL
    SELECT 'faq', f.id,
           highlight(faqs_fts, 0, :mark_start, :mark_end),
           snippet(faqs_fts, 1, :mark_start, :mark_end, '…', {SNIPPET_WORDS}),
           -bm25(faqs_fts, 10.0, 1.0),
           1, f.category_id
    FROM faqs_fts JOIN faqs f ON f.id = faqs_fts.rowid
    WHERE faqs_fts MATCH :match
)
ORDER BY score DESC, kind, item_id
LIMIT :limit
"""


def _postgres_rows(connection: Connection, words: list[str], include_drafts: bool, limit: int) -> list[object]:
    marks = f'StartSel="{MARK_START}", StopSel="{MARK_END}"'
    return list(
        connection.execute(
            text(_POSTGRES_SEARCH),
            {
                "query": " ".join(words),
                "title_options": f"{marks}, HighlightAll=true",
                "excerpt_options": f"{marks}, MaxFragments=2, MaxWords={SNIPPET_WORDS}, MinWords=8, "
                'FragmentDelimiter=" … "',
                "include_drafts": include_drafts,
                "limit": limit,
            },
        )
    )


def _sqlite_rows(connection: Connection, words: list[str], include_drafts: bool, limit: int) -> list[object]:
    # Each word quoted: FTS5 then reads it as a plain term (no column filters, NEAR or operators);
    # space-separated terms must all occur.
    match = " ".join('"' + word.replace('"', "") + '"' for word in words)
    return list(
        connection.execute(
            text(_SQLITE_SEARCH),
            {
                "match": match,
                "mark_start": MARK_START,
                "mark_end": MARK_END,
                "include_drafts": include_drafts,
                "limit": limit,
            },
        )
    )


_ENGINES: dict[str, Callable[[Connection, list[str], bool, int], list[object]]] = {
    "postgresql": _postgres_rows,
    "sqlite": _sqlite_rows,
}


def search_rows(connection: Connection, query: str, *, include_drafts: bool, limit: int = 20) -> list[SearchRow]:
    """Published articles (and drafts when ``include_drafts``) and FAQ entries matching every word of
    ``query``, best first. A query without words finds nothing."""
    words = query_words(query)
    if not words:
        return []
    rows = _ENGINES[connection.dialect.name](connection, words, include_drafts, limit)
    return [
        SearchRow(
            kind=row.kind,  # type: ignore[attr-defined]
            item_id=int(row.item_id),  # type: ignore[attr-defined]
            marked_title=row.marked_title or "",  # type: ignore[attr-defined]
            marked_excerpt=row.marked_excerpt or "",  # type: ignore[attr-defined]
            score=float(row.score),  # type: ignore[attr-defined]
            is_published=bool(row.is_published),  # type: ignore[attr-defined]
            category_id=row.category_id,  # type: ignore[attr-defined]
        )
        for row in rows
    ]
