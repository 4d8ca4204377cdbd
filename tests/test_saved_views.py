"""Saved views: private per user, unique names per user, renamed and deleted by their owner, audited."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from crm.permissions import Actor, PermissionDeniedError
from crm.saved_views import SavedViewError, delete_view, list_views, rename_view, save_view
from crm.schema import audit_log
from tests.fixtures.tiny_shop import TinyShop

ADA = Actor(user_id=1, username="ada", role="admin")
# tiny_shop's second user is an agent; as an analyst here, to hold the analytics permission.
SAM = Actor(user_id=2, username="sam", role="analyst")


def test_a_saved_view_keeps_its_page_and_parameters(engine: Engine, tiny_shop: TinyShop) -> None:
    saved = save_view(engine, ADA, "  Spring   referrals ", "overview", {"sources": "referral", "period": "custom"})
    assert saved.name == "Spring referrals", "spaces are tidied"
    assert saved.query == "period=custom&sources=referral"
    assert list_views(engine, ADA) == [saved]
    assert saved.parameters == {"period": "custom", "sources": "referral"}


def test_views_are_private_and_names_are_unique_per_user(engine: Engine, tiny_shop: TinyShop) -> None:
    mine = save_view(engine, ADA, "Web", "overview", {"sources": "website"})
    save_view(engine, SAM, "Web", "revenue", {"sources": "website"})
    assert [view.page for view in list_views(engine, SAM)] == ["revenue"]
    with pytest.raises(SavedViewError, match="already have a view named “Web”"):
        save_view(engine, ADA, "Web", "cohorts", {})
    replaced = save_view(engine, ADA, "Web", "cohorts", {}, replace=True)
    assert (replaced.id, replaced.page, replaced.query) == (mine.id, "cohorts", "")
    with pytest.raises(SavedViewError, match="no longer exists"):
        delete_view(engine, SAM, mine.id)


def test_rename_refuses_a_taken_name_and_delete_removes_the_view(engine: Engine, tiny_shop: TinyShop) -> None:
    first = save_view(engine, ADA, "First", "overview", {})
    save_view(engine, ADA, "Second", "overview", {})
    with pytest.raises(SavedViewError, match="Second"):
        rename_view(engine, ADA, first.id, "Second")
    assert rename_view(engine, ADA, first.id, "Renamed").name == "Renamed"
    delete_view(engine, ADA, first.id)
    assert [view.name for view in list_views(engine, ADA)] == ["Second"]
    with engine.connect() as connection:
        logged = connection.execute(
            select(audit_log.c.action, audit_log.c.username)
            .where(audit_log.c.entity == "saved_views")
            .order_by(audit_log.c.id)
        ).all()
    assert [tuple(row) for row in logged] == [
        ("create", "ada"),
        ("create", "ada"),
        ("update", "ada"),
        ("delete", "ada"),
    ]


def test_an_empty_name_and_a_role_without_analytics_are_refused(engine: Engine, tiny_shop: TinyShop) -> None:
    with pytest.raises(SavedViewError, match="name"):
        save_view(engine, ADA, "   ", "overview", {})
    with pytest.raises(PermissionDeniedError):
        save_view(engine, Actor(user_id=2, username="sam", role="agent"), "Mine", "overview", {})
