"""Every row an import creates, updates, merges or deletes gets its own audit row (both engines)."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import Engine, select

from crm.imports import run_import
from crm.permissions import Actor
from crm.schema import audit_log, customers, order_items, orders
from tests.imports.conftest import DATA

MANAGER = Actor(None, "mia", "manager")


def _audit(engine: Engine, **where) -> list[dict]:
    query = select(audit_log).order_by(audit_log.c.id)
    for name, value in where.items():
        query = query.where(audit_log.c[name] == value)
    with engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(query).mappings()]
    for row in rows:
        row["before"] = json.loads(row["before_json"]) if row["before_json"] else None
        row["after"] = json.loads(row["after_json"]) if row["after_json"] else None
    return rows


def _customer_ids(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return dict(connection.execute(select(customers.c.email_normalized, customers.c.id)).all())


def test_each_inserted_customer_gets_a_create_row_with_its_id_and_values(engine):
    data = b"Email,First Name,City\nada@example.com,Ada,Paris\nbob@example.com,Bob,\n"
    run_import(engine, data, entity="customers", actor=MANAGER)
    ids = _customer_ids(engine)
    created = _audit(engine, action="create")
    assert [(row["entity"], row["entity_id"], row["username"]) for row in created] == [
        ("customers", str(ids["ada@example.com"]), "mia"),
        ("customers", str(ids["bob@example.com"]), "mia"),
    ]
    ada = created[0]["after"]
    assert (ada["email"], ada["first_name"], ada["city"], ada["status"]) == (
        "ada@example.com",
        "Ada",
        "Paris",
        "active",
    )
    assert created[1]["after"]["city"] is None  # the file's City column is blank for Bob
    assert created[0]["before"] is None
    # The import's own summary row is still written, once, after the row audit.
    summary = _audit(engine, action="import")
    assert len(summary) == 1
    assert (summary[0]["entity_id"], summary[0]["after"]["inserted"]) == (None, 2)


def test_an_update_records_only_the_changed_columns_and_unchanged_rows_are_left_alone(engine):
    run_import(engine, b"Email,First Name,City\nada@example.com,Ada,Paris\nbob@example.com,Bob,\n", entity="customers")
    report = run_import(
        engine,
        b"Email,City\nada@example.com,London\nbob@example.com,\n",
        entity="customers",
        on_duplicate="update",
        actor=MANAGER,
    )
    assert report.updated == 2
    updates = _audit(engine, action="update")
    ada_id = _customer_ids(engine)["ada@example.com"]
    # Bob's file row has nothing new (his city is blank in the file): no audit row, no new version.
    assert [(row["entity_id"], row["before"], row["after"]) for row in updates] == [
        (str(ada_id), {"city": "Paris"}, {"city": "London"})
    ]
    with engine.connect() as connection:
        versions = dict(connection.execute(select(customers.c.first_name, customers.c.version)).all())
    assert versions == {"Ada": 2, "Bob": 1}


def test_a_merge_is_audited_as_merge_with_the_blanks_it_filled(engine):
    run_import(engine, b"Email,City\nada@example.com,Paris\nbob@example.com,\n", entity="customers")
    run_import(
        engine, b"Email,City\nbob@example.com,Oslo\nada@example.com,Rome\n", entity="customers", on_duplicate="merge"
    )
    merges = _audit(engine, action="merge")
    bob_id = _customer_ids(engine)["bob@example.com"]
    # Ada keeps Paris (merge only fills blanks), so only Bob changed.
    assert [(row["entity"], row["entity_id"], row["before"], row["after"]) for row in merges] == [
        ("customers", str(bob_id), {"city": None}, {"city": "Oslo"})
    ]


def test_a_dry_run_writes_no_audit_rows(engine):
    run_import(engine, b"Email\nada@example.com\n", entity="customers", dry_run=True)
    assert _audit(engine) == []


def test_orders_audit_new_orders_their_items_and_the_customers_and_products_made_on_the_way(engine):
    run_import(engine, DATA / "orders_items.csv", entity="orders")
    entities = [(row["action"], row["entity"]) for row in _audit(engine)]
    # 2 customers, 2 products, 2 orders, 3 items, the points delivered O-1 earned Ann, then the summary.
    assert sorted(entities[:-1]) == sorted(
        [("create", "customers")] * 2
        + [("create", "products")] * 2
        + [("create", "orders")] * 2
        + [("create", "order_items")] * 3
        + [("update", "customers")]
    )
    assert entities[-1] == ("import", "orders")
    with engine.connect() as connection:
        o1 = connection.execute(select(orders.c.id).where(orders.c.order_number == "O-1")).scalar_one()
    created = {row["entity_id"]: row["after"] for row in _audit(engine, action="create", entity="orders")}
    assert (created[str(o1)]["total"], created[str(o1)]["shipping"]) == ("55.00", "5.00")


def test_replacing_an_orders_items_audits_the_removed_and_new_items_and_the_new_totals(engine):
    run_import(engine, DATA / "orders_items.csv", entity="orders")
    with engine.connect() as connection:
        old_items = set(
            connection.execute(
                select(order_items.c.id)
                .join(orders, orders.c.id == order_items.c.order_id)
                .where(orders.c.order_number == "O-1")
            ).scalars()
        )
    change = (
        b"Order No,Customer Email,Order Date,SKU,Qty,Unit Price,Shipping\n"
        b"O-1,ann@example.com,2025-01-10 12:00,TS,3,20.00,5\n"
    )
    run_import(engine, change, entity="orders", on_duplicate="update")
    deleted = _audit(engine, action="delete", entity="order_items")
    assert {int(row["entity_id"]) for row in deleted} == old_items
    assert {row["before"]["quantity"] for row in deleted} == {2, 1}
    (order_update,) = _audit(engine, action="update", entity="orders")
    # 2×20 + 1×10 = 50 before, 3×20 = 60 after; shipping 5 both times, so not listed.
    assert (order_update["before"], order_update["after"]) == (
        {"subtotal": "50.00", "total": "55.00"},
        {"subtotal": "60.00", "total": "65.00"},
    )
    new_items = _audit(engine, action="create", entity="order_items")[-1:]
    assert (new_items[0]["after"]["quantity"], new_items[0]["after"]["unit_price"]) == (3, "20.00")


def test_a_products_price_change_is_audited_and_written_to_price_history_once(engine):
    run_import(engine, b"SKU,Name,Price\nTS,T-shirt,19.90\nMUG,Mug,9.50\n", entity="products")
    run_import(engine, b"SKU,Price\nTS,25.00\nMUG,9.50\n", entity="products", on_duplicate="update")
    (price_update,) = _audit(engine, action="update", entity="products")
    assert (price_update["before"], price_update["after"]) == ({"price": "19.90"}, {"price": "25.00"})
    assert Decimal(price_update["after"]["price"]) == Decimal("25.00")
