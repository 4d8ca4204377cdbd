"""Searching the knowledge base: each engine's own full-text index, ranked, with safe highlighting."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect, text

from crm.service import knowledge
from crm.service.knowledge import highlight_html
from crm.service.search_sql import MARK_END, MARK_START, query_words
from tests.fixtures.tiny_shop import TinyShop
from tests.service.knowledge_support import AGENT, ANALYST, MANAGER, KnowledgeBase, build_knowledge_base


@pytest.fixture
def kb(tiny_shop: TinyShop) -> KnowledgeBase:
    return build_knowledge_base(tiny_shop.engine)


def test_a_search_finds_articles_and_faq_with_the_title_match_ranked_first(kb: KnowledgeBase) -> None:
    hits = knowledge.search_knowledge(kb.engine, ANALYST, "refund")
    found = [(hit.kind, hit.item_id) for hit in hits]
    # "refund" in the title outranks "Refunds" in a body; the draft is not shown to a reader.
    assert set(found) == {("article", kb.refund_article), ("article", kb.tracking_article), ("faq", kb.faq_refund)}
    assert found.index(("article", kb.refund_article)) < found.index(("article", kb.tracking_article))
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)


def test_every_word_of_the_query_must_match(kb: KnowledgeBase) -> None:
    hits = knowledge.search_knowledge(kb.engine, ANALYST, "tracking parcel")
    assert {(hit.kind, hit.item_id) for hit in hits} == {("article", kb.tracking_article), ("faq", kb.faq_parcel)}


def test_words_are_matched_by_their_stem(kb: KnowledgeBase) -> None:
    # "refunds" and "refund" share the stem on both engines (porter / english dictionary).
    hits = knowledge.search_knowledge(kb.engine, ANALYST, "refunds")
    assert ("article", kb.refund_article) in {(hit.kind, hit.item_id) for hit in hits}


def test_matched_words_are_highlighted_in_title_and_excerpt(kb: KnowledgeBase) -> None:
    hit = next(
        hit
        for hit in knowledge.search_knowledge(kb.engine, ANALYST, "parcel")
        if hit.kind == "article" and hit.item_id == kb.tracking_article
    )
    assert hit.title_html == "Tracking your <mark>parcel</mark>"
    assert "<mark>parcel</mark>" in hit.excerpt_html
    assert hit.title_text == "Tracking your parcel"
    assert hit.category_path == "Shipping"


def test_drafts_are_found_by_writers_and_hidden_from_readers(kb: KnowledgeBase) -> None:
    def found(actor: object) -> set[int]:
        return {hit.item_id for hit in knowledge.search_knowledge(kb.engine, actor, "damaged") if hit.kind == "article"}  # type: ignore[arg-type]

    assert found(ANALYST) == set()
    assert found(AGENT) == {kb.draft_article}
    assert found(MANAGER) == {kb.draft_article}
    draft = next(hit for hit in knowledge.search_knowledge(kb.engine, AGENT, "damaged") if hit.kind == "article")
    assert draft.is_published is False


def test_an_edit_and_a_delete_reach_the_index(kb: KnowledgeBase) -> None:
    article = knowledge.get_article(kb.engine, MANAGER, kb.tracking_article)
    assert article is not None
    knowledge.save_article(
        kb.engine,
        MANAGER,
        article_id=kb.tracking_article,
        category_id=kb.shipping,
        title="Following a shipment",
        body="Use the courier link.",
        expected_version=article.version,
    )
    assert ("article", kb.tracking_article) not in {
        (hit.kind, hit.item_id) for hit in knowledge.search_knowledge(kb.engine, ANALYST, "tracking")
    }
    assert [hit.item_id for hit in knowledge.search_knowledge(kb.engine, ANALYST, "courier")] == [kb.tracking_article]
    with kb.engine.begin() as connection:
        connection.execute(text("DELETE FROM kb_articles WHERE id = :id"), {"id": kb.tracking_article})
    assert knowledge.search_knowledge(kb.engine, ANALYST, "courier") == []


def test_query_syntax_and_markup_in_a_query_are_plain_words(kb: KnowledgeBase) -> None:
    assert query_words('refund" OR title:* <b>NEAR(') == ["refund", "OR", "title", "b", "NEAR"]
    # Nothing matches all of these words, and nothing raises a syntax error.
    assert knowledge.search_knowledge(kb.engine, ANALYST, 'refund" OR title:* <b>NEAR(') == []
    assert knowledge.search_knowledge(kb.engine, ANALYST, "  ?! ") == []


def test_highlights_escape_the_stored_text_and_only_the_markers_become_tags() -> None:
    marked = f'<script>alert(1)</script> {MARK_START}refund{MARK_END} & "more" {MARK_START}open'
    assert highlight_html(marked) == (
        "&lt;script&gt;alert(1)&lt;/script&gt; <mark>refund</mark> &amp; &quot;more&quot; <mark>open</mark>"
    )


def test_text_written_with_markup_is_found_and_shown_escaped(kb: KnowledgeBase) -> None:
    article_id = knowledge.save_article(
        kb.engine,
        AGENT,
        category_id=kb.account,
        title="<img src=x onerror=alert(1)> voucher",
        body="voucher <script>alert(1)</script>",
    )
    knowledge.set_published(kb.engine, MANAGER, article_id, True)
    (hit,) = knowledge.search_knowledge(kb.engine, ANALYST, "voucher")
    assert hit.title_html == "&lt;img src=x onerror=alert(1)&gt; <mark>voucher</mark>"
    # SQLite's snippet keeps the tag as escaped text; PostgreSQL's headline leaves markup out of fragments.
    assert "<script" not in hit.excerpt_html and "<mark>voucher</mark>" in hit.excerpt_html


def test_each_engine_has_its_own_full_text_index(engine: Engine) -> None:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            indexes = {
                row.indexname: row.indexdef
                for row in connection.execute(
                    text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('kb_articles', 'faqs')")
                )
            }
            assert "USING gin" in indexes["ix_kb_articles_search"]
            assert "USING gin" in indexes["ix_faqs_search"]
            plan = "\n".join(
                connection.execute(
                    text(
                        "SET LOCAL enable_seqscan = off; EXPLAIN SELECT id FROM kb_articles a WHERE "
                        "(setweight(to_tsvector('english'::regconfig, coalesce(a.title, '')), 'A') || "
                        "setweight(to_tsvector('english'::regconfig, coalesce(a.body, '')), 'B')) "
                        "@@ plainto_tsquery('english', 'refund')"
                    )
                ).scalars()
            )
            assert "ix_kb_articles_search" in plan
        else:
            names = set(inspect(connection).get_table_names())
            assert {"kb_articles_fts", "faqs_fts"} <= names
            triggers = set(connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
            assert {
                f"{fts}_after_{event}"
                for fts in ("kb_articles_fts", "faqs_fts")
                for event in ("insert", "update", "delete")
            } <= triggers
