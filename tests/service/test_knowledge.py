"""Knowledge-base writes: who may write and publish, audit rows, views and votes, FAQ order, safe Markdown."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.permissions import Actor, PermissionDeniedError
from crm.schema import audit_log
from crm.service import knowledge
from crm.service.knowledge import KnowledgeError
from crm.service.markdown_render import is_safe_link, render_markdown
from tests.fixtures.tiny_shop import TinyShop
from tests.service.knowledge_support import ADMIN, AGENT, ANALYST, MANAGER, KnowledgeBase, build_knowledge_base


@pytest.fixture
def kb(tiny_shop: TinyShop) -> KnowledgeBase:
    return build_knowledge_base(tiny_shop.engine)


def _audit(kb: KnowledgeBase, entity: str, entity_id: int) -> list[tuple[str, str]]:
    with kb.engine.connect() as connection:
        rows = connection.execute(
            select(audit_log.c.action, audit_log.c.username)
            .where(audit_log.c.entity == entity, audit_log.c.entity_id == str(entity_id))
            .order_by(audit_log.c.id)
        ).all()
    return [(row.action, row.username) for row in rows]


def test_an_agent_writes_a_draft_that_a_manager_publishes_each_step_audited(kb: KnowledgeBase) -> None:
    assert _audit(kb, "kb_articles", kb.refund_article) == [("create", "sam"), ("update", "mia")]
    article = knowledge.get_article(kb.engine, ANALYST, kb.refund_article)
    assert article is not None and article.is_published and article.published_at is not None
    assert article.author == "Sam Agent"


def test_an_agent_may_not_publish_nor_edit_a_published_article(kb: KnowledgeBase) -> None:
    with pytest.raises(PermissionDeniedError):
        knowledge.set_published(kb.engine, AGENT, kb.draft_article, True)
    with pytest.raises(PermissionDeniedError):
        knowledge.save_article(
            kb.engine, AGENT, article_id=kb.refund_article, category_id=kb.returns, title="Changed", body="Changed"
        )
    # Their own draft they may change.
    knowledge.save_article(
        kb.engine, AGENT, article_id=kb.draft_article, category_id=kb.returns, title="Refund exceptions", body="Soon."
    )
    assert _audit(kb, "kb_articles", kb.draft_article) == [("create", "sam"), ("update", "sam")]


def test_analysts_read_published_articles_only_and_write_nothing(kb: KnowledgeBase) -> None:
    assert knowledge.get_article(kb.engine, ANALYST, kb.draft_article) is None
    assert knowledge.get_article(kb.engine, AGENT, kb.draft_article) is not None
    assert set(knowledge.article_list(kb.engine, ANALYST)["id"]) == {kb.refund_article, kb.tracking_article}
    with pytest.raises(PermissionDeniedError):
        knowledge.save_article(kb.engine, ANALYST, category_id=kb.returns, title="Mine", body="Mine")
    with pytest.raises(PermissionDeniedError):
        knowledge.save_faq(kb.engine, AGENT, question="Q?", answer="A.")


def test_listing_a_category_includes_its_subcategories(kb: KnowledgeBase) -> None:
    listed = knowledge.article_list(kb.engine, MANAGER, category_id=kb.shipping)
    assert set(listed["id"]) == {kb.refund_article, kb.tracking_article, kb.draft_article}
    assert dict(zip(listed["id"], listed["category"], strict=True))[kb.refund_article] == "Shipping › Returns"
    assert set(knowledge.article_list(kb.engine, MANAGER, category_id=kb.returns)["id"]) == {
        kb.refund_article,
        kb.draft_article,
    }


def test_the_category_tree_lists_children_under_their_parent(kb: KnowledgeBase) -> None:
    assert [(node.path, node.depth) for node in knowledge.category_tree(kb.engine)] == [
        ("Account", 0),
        ("Shipping", 0),
        ("Shipping › Returns", 1),
    ]
    with pytest.raises(KnowledgeError, match="already exists"):
        knowledge.create_category(kb.engine, MANAGER, "Returns", parent_id=kb.shipping)


def test_an_edit_from_an_old_version_is_refused(kb: KnowledgeBase) -> None:
    article = knowledge.get_article(kb.engine, MANAGER, kb.refund_article)
    assert article is not None
    knowledge.save_article(
        kb.engine,
        MANAGER,
        article_id=article.id,
        category_id=kb.returns,
        title="Refunds",
        body="New text.",
        expected_version=article.version,
    )
    with pytest.raises(KnowledgeError, match="changed by someone else"):
        knowledge.save_article(
            kb.engine,
            MANAGER,
            article_id=article.id,
            category_id=kb.returns,
            title="Refunds 2",
            body="Other.",
            expected_version=article.version,
        )


@pytest.mark.parametrize(
    ("title", "body", "message"),
    [("", "Body", "title: must not be empty"), ("T" * 201, "Body", "title: is 201 characters"), ("T", " ", "body")],
)
def test_an_article_without_title_or_body_is_refused_naming_the_field(
    kb: KnowledgeBase, title: str, body: str, message: str
) -> None:
    with pytest.raises(KnowledgeError, match=message):
        knowledge.save_article(kb.engine, AGENT, category_id=kb.returns, title=title, body=body)


def test_views_count_published_articles_only(kb: KnowledgeBase) -> None:
    knowledge.record_view(kb.engine, kb.refund_article)
    knowledge.record_view(kb.engine, kb.refund_article)
    knowledge.record_view(kb.engine, kb.draft_article)
    assert knowledge.get_article(kb.engine, MANAGER, kb.refund_article).view_count == 2  # type: ignore[union-attr]
    assert knowledge.get_article(kb.engine, MANAGER, kb.draft_article).view_count == 0  # type: ignore[union-attr]


def test_each_user_has_one_helpful_vote_per_article_which_they_can_change(kb: KnowledgeBase) -> None:
    knowledge.vote(kb.engine, ANALYST, kb.refund_article, True)
    knowledge.vote(kb.engine, AGENT, kb.refund_article, True)
    knowledge.vote(kb.engine, MANAGER, kb.refund_article, False)
    knowledge.vote(kb.engine, AGENT, kb.refund_article, True)  # the same answer again changes nothing
    knowledge.vote(kb.engine, ANALYST, kb.refund_article, False)  # a changed mind replaces the vote
    article = knowledge.get_article(kb.engine, ANALYST, kb.refund_article)
    assert article is not None
    assert (article.helpful_yes, article.helpful_no, article.my_vote) == (1, 2, False)
    listed = knowledge.article_list(kb.engine, ANALYST).set_index("id")
    assert (listed.at[kb.refund_article, "helpful_yes"], listed.at[kb.refund_article, "helpful_no"]) == (1, 2)
    assert _audit(kb, "kb_article_votes", kb.refund_article) == [
        ("create", "ann"),
        ("create", "sam"),
        ("create", "mia"),
        ("update", "ann"),
    ]


def test_drafts_and_anonymous_actors_cannot_be_voted_on(kb: KnowledgeBase) -> None:
    with pytest.raises(KnowledgeError, match="not published"):
        knowledge.vote(kb.engine, AGENT, kb.draft_article, True)
    with pytest.raises(KnowledgeError, match="signed-in"):
        knowledge.vote(kb.engine, Actor.system(), kb.refund_article, True)


def test_the_faq_lists_pinned_entries_first_then_by_sort_order(kb: KnowledgeBase) -> None:
    entries = knowledge.faq_entries(kb.engine)
    assert [entry.id for entry in entries] == [kb.faq_password, kb.faq_parcel, kb.faq_refund]
    knowledge.set_faq_pinned(kb.engine, MANAGER, kb.faq_password, False)
    knowledge.set_faq_pinned(kb.engine, ADMIN, kb.faq_refund, True)
    assert [entry.id for entry in knowledge.faq_entries(kb.engine)] == [kb.faq_refund, kb.faq_parcel, kb.faq_password]
    assert [entry.id for entry in knowledge.faq_entries(kb.engine, category_id=kb.shipping)] == [
        kb.faq_refund,
        kb.faq_parcel,
    ]
    assert _audit(kb, "faqs", kb.faq_refund) == [("create", "mia"), ("update", "ada")]


def test_a_faq_entry_is_edited_with_its_version(kb: KnowledgeBase) -> None:
    (entry,) = [entry for entry in knowledge.faq_entries(kb.engine) if entry.id == kb.faq_parcel]
    knowledge.save_faq(
        kb.engine,
        MANAGER,
        faq_id=entry.id,
        question="Where is my order?",
        answer="See tracking.",
        category_id=kb.shipping,
        sort_order=5,
        expected_version=entry.version,
    )
    (changed,) = [entry for entry in knowledge.faq_entries(kb.engine) if entry.id == kb.faq_parcel]
    assert (changed.question, changed.sort_order) == ("Where is my order?", 5)
    with pytest.raises(KnowledgeError, match="sort order"):
        knowledge.save_faq(kb.engine, MANAGER, question="Q?", answer="A.", sort_order=-1)


def test_markdown_renders_formatting_but_never_a_script_tag_or_javascript_link() -> None:
    rendered = render_markdown(
        "**Bold** [help](https://example.com/help)\n\n<script>alert(1)</script>\n\n"
        "[click](javascript:alert(1)) [again](JaVaScRiPt:alert(1)) [tab](java\tscript:alert(1)) "
        "[data](data:text/html;base64,PHNjcmlwdD4=) <img src=x onerror=alert(1)> ![pixel](https://evil.example/p.png)"
    )
    assert "<strong>Bold</strong>" in rendered
    assert 'href="https://example.com/help"' in rendered
    assert "<script" not in rendered and "&lt;script&gt;" in rendered
    assert "<img" not in rendered and "&lt;img" in rendered
    assert 'href="javascript' not in rendered.lower() and 'href="data' not in rendered.lower()
    assert "[click](javascript:alert(1))" in rendered  # left as the text that was written


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://example.com", True),
        ("mailto:help@example.com", True),
        ("/knowledge_base?article=3", True),
        ("#returns", True),
        ("javascript:alert(1)", False),
        (" JAVASCRIPT:alert(1)", False),
        ("vbscript:msgbox", False),
        ("file:///etc/passwd", False),
        ("//evil.example/x", False),
    ],
)
def test_only_web_mail_and_in_app_links_are_kept(url: str, safe: bool) -> None:
    assert is_safe_link(url) is safe


def test_an_article_link_for_a_reply_keeps_the_title_as_link_text() -> None:
    assert (
        knowledge.article_link(7, "Refunds [EU] \\ more") == "[Refunds \\[EU\\] \\\\ more](/knowledge_base?article=7)"
    )


def test_a_category_moves_and_is_renamed_but_never_under_its_own_subtree(kb: KnowledgeBase) -> None:
    knowledge.update_category(kb.engine, MANAGER, kb.returns, name="Returns & refunds", parent_id=kb.account)
    assert [node.path for node in knowledge.category_tree(kb.engine)] == [
        "Account",
        "Account › Returns & refunds",
        "Shipping",
    ]
    with pytest.raises(KnowledgeError, match="under itself or one of its subcategories"):
        knowledge.update_category(kb.engine, MANAGER, kb.account, name="Account", parent_id=kb.returns)
    with pytest.raises(KnowledgeError, match="already exists"):
        knowledge.update_category(kb.engine, MANAGER, kb.account, name="Shipping", parent_id=None)
    with pytest.raises(PermissionDeniedError):
        knowledge.update_category(kb.engine, AGENT, kb.account, name="Mine", parent_id=None)
    assert _audit(kb, "kb_categories", kb.returns) == [("create", "mia"), ("update", "mia")]
