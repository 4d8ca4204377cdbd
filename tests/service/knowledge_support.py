"""A small knowledge base written through crm.service.knowledge, shared by the knowledge tests."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from crm.db import reset_sequences
from crm.permissions import Actor
from crm.schema import users, utc_now
from crm.service import knowledge

ADMIN = Actor(user_id=1, username="ada", role="admin")
AGENT = Actor(user_id=2, username="sam", role="agent")
MANAGER = Actor(user_id=3, username="mia", role="manager")
ANALYST = Actor(user_id=4, username="ann", role="analyst")


@dataclass(frozen=True)
class KnowledgeBase:
    engine: Engine
    shipping: int  # root category
    returns: int  # child of shipping
    account: int  # root category
    refund_article: int  # published, in returns
    tracking_article: int  # published, in shipping
    draft_article: int  # draft by the agent, in returns
    faq_refund: int  # FAQ in returns, sort order 2
    faq_password: int  # FAQ in account, sort order 1, pinned
    faq_parcel: int  # FAQ in shipping, sort order 0


def add_staff(engine: Engine) -> None:
    """A manager (id 3) and an analyst (id 4) next to tiny_shop's admin and agent."""
    now = utc_now()
    with engine.begin() as connection:
        connection.execute(
            users.insert(),
            [
                {
                    "id": 3,
                    "username": "mia",
                    "full_name": "Mia Manager",
                    "role": "manager",
                    "password_hash": "x",
                    "created_at": now,
                    "updated_at": now,
                },
                {
                    "id": 4,
                    "username": "ann",
                    "full_name": "Ann Analyst",
                    "role": "analyst",
                    "password_hash": "x",
                    "created_at": now,
                    "updated_at": now,
                },
            ],
        )
    reset_sequences(engine)


def build_knowledge_base(engine: Engine) -> KnowledgeBase:
    add_staff(engine)
    shipping = knowledge.create_category(engine, MANAGER, "Shipping")
    returns = knowledge.create_category(engine, MANAGER, "Returns", parent_id=shipping)
    account = knowledge.create_category(engine, MANAGER, "Account")
    refund_article = knowledge.save_article(
        engine,
        AGENT,
        category_id=returns,
        title="Refund policy",
        body="A refund reaches your card 5-10 days after we receive the returned parcel.",
    )
    tracking_article = knowledge.save_article(
        engine,
        AGENT,
        category_id=shipping,
        title="Tracking your parcel",
        body="Every shipped parcel has a tracking link. Refunds are explained elsewhere.",
    )
    draft_article = knowledge.save_article(
        engine,
        AGENT,
        category_id=returns,
        title="Refund exceptions (internal draft)",
        body="Refund rules for damaged items are still being written.",
    )
    knowledge.set_published(engine, MANAGER, refund_article, True)
    knowledge.set_published(engine, MANAGER, tracking_article, True)
    faq_refund = knowledge.save_faq(
        engine,
        MANAGER,
        question="How long does a refund take?",
        answer="5-10 days.",
        category_id=returns,
        sort_order=2,
    )
    faq_password = knowledge.save_faq(
        engine,
        MANAGER,
        question="How do I reset my password?",
        answer="Use *Forgot password*.",
        category_id=account,
        sort_order=1,
        is_pinned=True,
    )
    faq_parcel = knowledge.save_faq(
        engine,
        MANAGER,
        question="Where is my parcel?",
        answer="Follow the tracking link.",
        category_id=shipping,
        sort_order=0,
    )
    return KnowledgeBase(
        engine,
        shipping,
        returns,
        account,
        refund_article,
        tracking_article,
        draft_article,
        faq_refund,
        faq_password,
        faq_parcel,
    )
