"""Readable labels for grid columns that hold a customer, order, product, variant or visit id.

The record grids show such a column as a pick list of labels ("Alice Kim · alice@example.com
(#1)") instead of a number to type; the label ends with the id, so a chosen label maps back
to exactly one row (names repeat, ids do not). ``ref_labels`` labels the ids on a grid page;
``ref_search`` finds rows by name, email, phone, number or SKU for the picker above the grid.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, func, literal, or_, select

from crm.dialect import folded_like
from crm.records.listing import search_pattern
from crm.schema import customers, orders, product_variants, products, visits

__all__ = ["LABELLED_TABLES", "id_of_label", "ref_labels", "ref_search"]

_LABEL_ID = re.compile(r"\(#(\d+)\)\s*$")


def _customer_name(table: Any) -> ColumnElement[Any]:
    name = func.trim(func.coalesce(table.c.first_name, "") + literal(" ") + func.coalesce(table.c.last_name, ""))
    return func.coalesce(func.nullif(name, ""), table.c.company, table.c.email, table.c.phone)


def _customers() -> tuple[Select, list[ColumnElement[Any]], Callable[[Any], str]]:
    statement = select(customers.c.id, _customer_name(customers).label("name"), customers.c.email)
    searched = [_customer_name(customers), customers.c.email, customers.c.phone, customers.c.company]
    return statement, searched, lambda row: " · ".join(part for part in (row.name, row.email) if part)


def _orders() -> tuple[Select, list[ColumnElement[Any]], Callable[[Any], str]]:
    statement = select(orders.c.id, orders.c.order_number, _customer_name(customers).label("name")).select_from(
        orders.join(customers, customers.c.id == orders.c.customer_id)
    )
    searched = [orders.c.order_number, _customer_name(customers), customers.c.email]
    return statement, searched, lambda row: " · ".join(part for part in (row.order_number, row.name) if part)


def _products() -> tuple[Select, list[ColumnElement[Any]], Callable[[Any], str]]:
    statement = select(products.c.id, products.c.name, products.c.sku)
    return statement, [products.c.name, products.c.sku], lambda row: f"{row.name} ({row.sku})"


def _variants() -> tuple[Select, list[ColumnElement[Any]], Callable[[Any], str]]:
    statement = select(product_variants.c.id, product_variants.c.sku, product_variants.c.color, product_variants.c.size)
    searched = [product_variants.c.sku, product_variants.c.color, product_variants.c.size]
    return (
        statement,
        searched,
        lambda row: " · ".join(str(part) for part in (row.sku, row.color, row.size) if part),
    )


def _visits() -> tuple[Select, list[ColumnElement[Any]], Callable[[Any], str]]:
    statement = select(visits.c.id, visits.c.visited_at, _customer_name(customers).label("name")).select_from(
        visits.join(customers, customers.c.id == visits.c.customer_id)
    )
    searched = [_customer_name(customers), customers.c.email, customers.c.phone, visits.c.location]
    return statement, searched, lambda row: f"{row.name} · {row.visited_at:%Y-%m-%d %H:%M} UTC"


_BUILDERS: dict[str, Callable[[], tuple[Select, list[ColumnElement[Any]], Callable[[Any], str]]]] = {
    "customers": _customers,
    "orders": _orders,
    "products": _products,
    "product_variants": _variants,
    "visits": _visits,
}
# Tables whose ids the grids show as labels.
LABELLED_TABLES = frozenset(_BUILDERS)
_TABLES = {"customers": customers, "orders": orders, "products": products, "product_variants": product_variants}
_TABLES["visits"] = visits


def _label(text: str, record_id: int) -> str:
    return f"{text} (#{record_id})"


def id_of_label(label: object) -> int | None:
    """The id at the end of a label ("… (#12)" → 12); None for anything else."""
    if not isinstance(label, str):
        return None
    found = _LABEL_ID.search(label)
    return int(found.group(1)) if found else None


def ref_labels(engine: Engine, table_name: str, ids: Iterable[int]) -> dict[int, str]:
    """Labels of the given ids of ``table_name`` (ids that do not exist are left out)."""
    wanted = sorted({int(value) for value in ids})
    if not wanted:
        return {}
    statement, _searched, text_of = _BUILDERS[table_name]()
    id_column = _TABLES[table_name].c.id
    with engine.connect() as connection:
        rows = connection.execute(statement.where(id_column.in_(wanted))).all()
    return {int(row.id): _label(text_of(row), int(row.id)) for row in rows}


def ref_search(engine: Engine, table_name: str, text: str, *, limit: int = 20) -> dict[int, str]:
    """Rows of ``table_name`` whose name, email, phone, number or SKU contains ``text`` (newest first)."""
    if not text.strip():
        return {}
    statement, searched, text_of = _BUILDERS[table_name]()
    pattern = search_pattern(text)
    id_column = _TABLES[table_name].c.id
    statement = statement.where(or_(*(folded_like(column, pattern) for column in searched)))
    with engine.connect() as connection:
        rows = connection.execute(statement.order_by(id_column.desc()).limit(limit)).all()
    return {int(row.id): _label(text_of(row), int(row.id)) for row in rows}
