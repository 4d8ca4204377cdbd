"""Saved views: a user's named sidebar filters on one page, reopened from the sidebar.

A view stores the page (its address, e.g. ``overview``) and the page-address parameters the
sidebar writes (``crm.filters_url.filters_to_query`` plus the period preset), as a query
string: exactly what a shared link carries, so opening a view and opening a link are one path.
Views are private: every function acts on the actor's own views only (another user's view id
is "not found"). Saving, renaming and deleting are audited in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import Connection, Engine, Row, select
from sqlalchemy.exc import IntegrityError

from crm.audit import record_audit
from crm.permissions import Actor, Permission, require
from crm.schema import saved_views, utc_now

__all__ = [
    "SavedView",
    "SavedViewError",
    "delete_view",
    "list_views",
    "query_from_text",
    "query_to_text",
    "rename_view",
    "save_view",
]

# Column sizes of saved_views (crm/schema.py).
NAME_LENGTH = 80
QUERY_LENGTH = 2000
# Saved views live on pages with the filter sidebar, which every analytics role sees.
PERMISSION = Permission.VIEW_ANALYTICS


class SavedViewError(ValueError):
    """A refused save, rename or delete; the message says why in the user's words."""


@dataclass(frozen=True)
class SavedView:
    id: int
    name: str
    page: str
    query: str

    @property
    def parameters(self) -> dict[str, str]:
        return query_from_text(self.query)


def query_to_text(parameters: Mapping[str, str]) -> str:
    """Parameters as a URL query string (sorted, so equal views store equal text)."""
    return urlencode(sorted(parameters.items()))


def query_from_text(text: str) -> dict[str, str]:
    return dict(parse_qsl(text, keep_blank_values=False))


def _clean_name(name: str) -> str:
    cleaned = " ".join(str(name).split())
    if not cleaned:
        raise SavedViewError("Give the view a name.")
    if len(cleaned) > NAME_LENGTH:
        raise SavedViewError(f"The name is {len(cleaned)} characters long; at most {NAME_LENGTH}.")
    return cleaned


def _own_user_id(actor: Actor) -> int:
    require(actor, PERMISSION)
    if actor.user_id is None:
        raise SavedViewError("Only a signed-in user can keep saved views.")
    return actor.user_id


def list_views(engine: Engine, actor: Actor) -> list[SavedView]:
    """The actor's saved views, by name."""
    user_id = _own_user_id(actor)
    statement = (
        select(saved_views.c.id, saved_views.c.name, saved_views.c.page, saved_views.c.query)
        .where(saved_views.c.user_id == user_id)
        .order_by(saved_views.c.name, saved_views.c.id)
    )
    with engine.connect() as connection:
        return [SavedView(int(row.id), row.name, row.page, row.query) for row in connection.execute(statement)]


def save_view(
    engine: Engine, actor: Actor, name: str, page: str, parameters: Mapping[str, str], *, replace: bool = False
) -> SavedView:
    """Save the view ``name`` (page + parameters); an existing name is refused unless ``replace``."""
    user_id = _own_user_id(actor)
    name = _clean_name(name)
    query = query_to_text(parameters)
    if len(query) > QUERY_LENGTH:
        raise SavedViewError("This view has too many filters to save; pick fewer values.")
    if not page.strip():
        raise SavedViewError("A view belongs to a page.")
    now = utc_now()
    with engine.begin() as connection:
        existing = connection.execute(
            select(saved_views).where(saved_views.c.user_id == user_id, saved_views.c.name == name)
        ).first()
        if existing is not None and not replace:
            raise SavedViewError(f"You already have a view named “{name}”; pick another name or replace it.")
        after = {"name": name, "page": page, "query": query}
        if existing is not None:
            connection.execute(
                saved_views.update()
                .where(saved_views.c.id == existing.id)
                .values(page=page, query=query, updated_at=now, version=saved_views.c.version + 1)
            )
            view_id = int(existing.id)
            record_audit(
                connection,
                actor,
                "update",
                "saved_views",
                view_id,
                before={"name": existing.name, "page": existing.page, "query": existing.query},
                after=after,
            )
        else:
            try:
                with connection.begin_nested():
                    view_id = int(
                        connection.execute(
                            saved_views.insert()
                            .values(user_id=user_id, name=name, page=page, query=query, created_at=now, updated_at=now)
                            .returning(saved_views.c.id)
                        ).scalar_one()
                    )
            except IntegrityError as error:  # saved at the same moment in another tab
                raise SavedViewError(f"You already have a view named “{name}”; pick another name.") from error
            record_audit(connection, actor, "create", "saved_views", view_id, after=after)
    return SavedView(view_id, name, page, query)


def _owned(connection: Connection, user_id: int, view_id: int) -> Row[Any]:
    row = connection.execute(
        select(saved_views).where(saved_views.c.id == view_id, saved_views.c.user_id == user_id)
    ).first()
    if row is None:
        raise SavedViewError("That saved view no longer exists.")
    return row


def rename_view(engine: Engine, actor: Actor, view_id: int, new_name: str) -> SavedView:
    """Rename one of the actor's views; a name already used by another of their views is refused."""
    user_id = _own_user_id(actor)
    new_name = _clean_name(new_name)
    with engine.begin() as connection:
        row = _owned(connection, user_id, view_id)
        if row.name == new_name:
            return SavedView(view_id, row.name, row.page, row.query)
        taken = connection.execute(
            select(saved_views.c.id).where(saved_views.c.user_id == user_id, saved_views.c.name == new_name)
        ).first()
        if taken is not None:
            raise SavedViewError(f"You already have a view named “{new_name}”.")
        connection.execute(
            saved_views.update()
            .where(saved_views.c.id == view_id)
            .values(name=new_name, updated_at=utc_now(), version=saved_views.c.version + 1)
        )
        record_audit(
            connection,
            actor,
            "update",
            "saved_views",
            view_id,
            before={"name": row.name},
            after={"name": new_name},
        )
    return SavedView(view_id, new_name, row.page, row.query)


def delete_view(engine: Engine, actor: Actor, view_id: int) -> None:
    """Delete one of the actor's views."""
    user_id = _own_user_id(actor)
    with engine.begin() as connection:
        row = _owned(connection, user_id, view_id)
        connection.execute(saved_views.delete().where(saved_views.c.id == view_id))
        record_audit(
            connection,
            actor,
            "delete",
            "saved_views",
            view_id,
            before={"name": row.name, "page": row.page, "query": row.query},
        )
