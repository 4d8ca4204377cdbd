"""Importing orders (per order and per item), transactions and products on both engines."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Engine, func, select

from crm.imports import run_import
from crm.schema import customers, order_items, orders, price_history, products, transactions
from tests.imports.conftest import DATA

# CDNOW's layout: customer id, date as YYYYMMDD, number of CDs, amount; no order numbers.
CDNOW_LIKE = (
    b"customer_id,date,quantity,amount\n"
    b"00001,19970101,1,11.77\n"
    b"00002,19970112,1,12.00\n"
    b"00002,19970112,5,77.00\n"
    b"00003,19970102,2,20.76\n"
    b"00003,19970330,2,20.76\n"
    b"00003,19970330,2,20.76\n"
)
CDNOW_MAPPING = {"customer_id": "customer_external_id", "date": "order_date", "quantity": "ignore", "amount": "total"}


def _scalar(engine: Engine, statement):
    with engine.connect() as connection:
        return connection.execute(statement).scalar_one()


def _orders(engine: Engine) -> dict[str, tuple]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                orders.c.order_number,
                customers.c.email,
                orders.c.status,
                orders.c.subtotal,
                orders.c.shipping,
                orders.c.total,
            ).join(customers, customers.c.id == orders.c.customer_id)
        ).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_one_row_per_item_builds_orders_with_their_items_customers_and_products(engine):
    report = run_import(engine, DATA / "orders_items.csv", entity="orders")
    # O-1: 2×T-shirt@20 + 1×Mug@10 = 50, shipping 5 -> 55; O-2: 3×Mug@10 = 30; O-3 has quantity 0.
    assert _orders(engine) == {
        "O-1": ("ann@example.com", "delivered", Decimal("50.00"), Decimal("5.00"), Decimal("55.00")),
        "O-2": ("bob@example.com", "shipped", Decimal("30.00"), Decimal("0.00"), Decimal("30.00")),
    }
    assert (report.rows_read, report.inserted, report.rejected_rows) == (4, 2, 1)
    assert report.rejected == [{"row": 5, "column": "Qty", "reason": "quantity must be at least 1"}]
    assert report.created == {"customers": 2, "products": 2, "order_items": 3}
    assert [decision["reason"] for decision in report.decisions[:2]] == ["", "item of order O-1 (row 2)"]
    assert _scalar(engine, select(func.sum(order_items.c.quantity))) == 6
    assert _scalar(engine, select(products.c.price).where(products.c.sku == "MUG")) == Decimal("10.00")


def test_re_importing_orders_adds_nothing(engine):
    run_import(engine, DATA / "orders_items.csv", entity="orders")
    again = run_import(engine, DATA / "orders_items.csv", entity="orders")
    # O-1 and O-2 are skipped, and so is O-1's second item row; the quantity-0 row is rejected.
    assert (again.inserted, again.skipped_duplicates, again.rejected_rows) == (0, 3, 1)
    assert again.created == {}
    assert _scalar(engine, select(func.count()).select_from(order_items)) == 3


def test_cdnow_style_orders_create_customers_by_external_id_and_keep_identical_purchases(engine):
    report = run_import(engine, CDNOW_LIKE, entity="orders", mapping=CDNOW_MAPPING, file_name="cdnow.csv")
    # Six purchases, two of them identical (customer 00003 on 30 Mar 1997): still six orders.
    assert (report.inserted, report.created) == (6, {"customers": 3})
    # Item fields are not "missing" in a file without items.
    assert report.not_provided == {"status": 6, "tax": 6, "shipping": 6, "discount": 6}
    # 11.77 + 12.00 + 77.00 + 3 × 20.76 = 100.77 + 62.28 = 163.05
    assert _scalar(engine, select(func.sum(orders.c.total))) == Decimal("163.05")
    with engine.connect() as connection:
        names = connection.execute(
            select(customers.c.external_id, customers.c.first_name, customers.c.last_name).order_by(customers.c.id)
        ).all()
        first_date = connection.execute(select(func.min(orders.c.order_date))).scalar_one()
    assert [tuple(row) for row in names] == [
        ("00001", "Customer", "00001"),
        ("00002", "Customer", "00002"),
        ("00003", "Customer", "00003"),
    ]
    assert first_date == datetime(1997, 1, 1)
    again = run_import(engine, CDNOW_LIKE, entity="orders", mapping=CDNOW_MAPPING)
    assert (again.inserted, again.skipped_duplicates, again.created) == (0, 6, {})


def test_orders_link_to_customers_imported_before(engine, messy_workbook):
    run_import(engine, messy_workbook, entity="customers", mapping={"Customer ID": "external_id", "Name": "full_name"})
    report = run_import(
        engine,
        messy_workbook,
        entity="orders",
        sheet="Orders",
        file_name="shop.xlsx",
        mapping={
            "Order No": "order_number",
            "Customer ID": "customer_external_id",
            "Date": "order_date",
            "Total": "total",
        },
    )
    assert (report.inserted, report.created) == (2, {})
    with engine.connect() as connection:
        linked = connection.execute(
            select(orders.c.order_number, customers.c.last_name, orders.c.total)
            .join(customers, customers.c.id == orders.c.customer_id)
            .order_by(orders.c.order_number)
        ).all()
    assert [tuple(row) for row in linked] == [("X-1", "김", Decimal("30.00")), ("X-2", "Sato", Decimal("12.50"))]


def test_updating_orders_changes_the_mapped_fields_and_keeps_amounts_the_file_lacks(engine):
    run_import(engine, DATA / "orders_items.csv", entity="orders")
    change = b"Order No,Customer Email,Order Date,Status\nO-2,bob@example.com,2025-02-01,delivered\n"
    skipped = run_import(engine, change, entity="orders")
    assert (skipped.updated, skipped.skipped_duplicates) == (0, 1)
    updated = run_import(engine, change, entity="orders", on_duplicate="update")
    assert updated.updated == 1
    assert _orders(engine)["O-2"] == (
        "bob@example.com",
        "delivered",
        Decimal("30.00"),
        Decimal("0.00"),
        Decimal("30.00"),
    )


def test_orders_without_any_amount_are_rejected(engine):
    report = run_import(engine, b"Order No,Email,Date\nN-1,a@b.co,2025-01-01\n", entity="orders")
    assert report.rejected[0]["reason"].startswith("no total, subtotal or items")
    assert _scalar(engine, select(func.count()).select_from(orders)) == 0


def test_transactions_link_to_orders_and_their_customers(engine):
    run_import(engine, DATA / "orders_items.csv", entity="orders")
    data = (
        b"Order No,Amount,Date,Type,Method\n"
        b"O-1,55.00,2025-01-10,sale,card\n"
        b"O-2,30.00,2025-02-01,sale,PayPal\n"
        b"ZZ-9,1.00,2025-01-01,sale,cash\n"
    )
    report = run_import(engine, data, entity="transactions")
    assert (report.inserted, report.rejected) == (
        2,
        [{"row": 4, "column": "Order No", "reason": "no order with this number"}],
    )
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                orders.c.order_number,
                customers.c.email,
                transactions.c.method,
                transactions.c.status,
                transactions.c.amount,
            )
            .join(orders, orders.c.id == transactions.c.order_id)
            .join(customers, customers.c.id == transactions.c.customer_id)
            .order_by(orders.c.order_number)
        ).all()
    assert [tuple(row) for row in rows] == [
        ("O-1", "ann@example.com", "credit_card", "completed", Decimal("55.00")),
        ("O-2", "bob@example.com", "paypal", "completed", Decimal("30.00")),
    ]
    assert run_import(engine, data, entity="transactions").inserted == 0


def test_products_by_sku_with_categories_and_price_history_on_update(engine):
    data = "SKU;Product Name;Category;Brand;Price;Cost\nTS;T-shirt;Apparel;Aurora;19,90;8,00\nMUG;Mug;Home;;9,50;3\n"
    report = run_import(engine, data.encode("cp1252"), entity="products")
    assert (report.inserted, report.created) == (2, {"categories": 2, "brands": 1})
    assert _scalar(engine, select(products.c.price).where(products.c.sku == "TS")) == Decimal("19.90")
    updated = run_import(engine, b"SKU,Price\nTS,25.00\nMUG,9.50\n", entity="products", on_duplicate="update")
    assert updated.updated == 2
    with engine.connect() as connection:
        history = connection.execute(select(price_history.c.old_price, price_history.c.new_price)).all()
    # Only the T-shirt's price changed.
    assert [tuple(row) for row in history] == [(Decimal("19.90"), Decimal("25.00"))]


def test_updating_an_order_with_items_replaces_its_items_and_amounts(engine):
    run_import(engine, DATA / "orders_items.csv", entity="orders")
    change = (
        b"Order No,Customer Email,Order Date,SKU,Qty,Unit Price,Shipping\n"
        b"O-1,ann@example.com,2025-01-10 12:00,TS,3,20.00,5\n"
    )
    report = run_import(engine, change, entity="orders", on_duplicate="update")
    assert (report.updated, report.inserted) == (1, 0)
    # 3 × 20 = 60 + shipping 5 = 65; the mug line is gone.
    assert _orders(engine)["O-1"][2:] == (Decimal("60.00"), Decimal("5.00"), Decimal("65.00"))
    with engine.connect() as connection:
        items = connection.execute(
            select(products.c.sku, order_items.c.quantity)
            .join(products, products.c.id == order_items.c.product_id)
            .join(orders, orders.c.id == order_items.c.order_id)
            .where(orders.c.order_number == "O-1")
        ).all()
    assert [tuple(item) for item in items] == [("TS", 3)]


def test_a_numeric_customer_key_finds_a_customer_by_phone_but_a_new_one_keeps_it_as_external_id_only(engine):
    run_import(engine, b"Name,Phone\nAda Lovelace,100-00001\n", entity="customers")
    data = b"Order No,Customer,Date,Total\nN-1,10000001,2025-01-01,5\nN-2,20000002,2025-01-02,7\n"
    report = run_import(engine, data, entity="orders")
    assert (report.inserted, report.created) == (2, {"customers": 1})
    with engine.connect() as connection:
        linked = connection.execute(
            select(orders.c.order_number, customers.c.first_name, customers.c.external_id, customers.c.phone)
            .join(customers, customers.c.id == orders.c.customer_id)
            .order_by(orders.c.order_number)
        ).all()
    # N-1's key is Ada's phone (matching only); N-2's is nobody's: a new customer, no phone.
    assert [tuple(row) for row in linked] == [
        ("N-1", "Ada", None, "100-00001"),
        ("N-2", "Customer", "20000002", None),
    ]


def test_order_rows_per_item_are_counted_so_the_summary_adds_up(engine):
    report = run_import(engine, DATA / "orders_items.csv", entity="orders")
    # 4 rows: O-1 (2 item rows: 1 inserted + 1 combined), O-2 inserted, O-3 rejected (quantity 0).
    assert (report.rows_read, report.inserted, report.combined, report.rejected_rows) == (4, 2, 1, 1)
    assert report.items_read == 3
    assert [decision["decision"] for decision in report.decisions] == ["insert", "combine", "insert", "reject"]
    assert report.summary() == (
        "4 rows read (3 order items): 2 were inserted, 0 updated, 0 merged, 0 skipped as duplicates, "
        "1 combined with an earlier row, 1 rejected."
    )


def test_a_mapped_customer_column_left_blank_is_named_in_the_reason(engine):
    data = b"Order No,Customer Email,Date,Total\nB-1,,2025-01-01,5\n"
    report = run_import(engine, data, entity="orders")
    assert report.rejected == [{"row": 2, "column": "Customer Email", "reason": "no customer: Customer Email is blank"}]
    unmapped = run_import(engine, b"Order No,Date,Total\nB-2,2025-01-01,5\n", entity="orders")
    assert unmapped.rejected[0]["reason"] == "no customer: map a customer email, phone or ID column"


def test_in_file_repeats_of_a_transaction_under_update_are_combined_not_counted_as_updates(engine):
    run_import(engine, DATA / "orders_items.csv", entity="orders")
    data = b"Transaction ID,Order No,Amount,Date\nT-1,O-1,55.00,2025-01-10\nT-1,O-1,50.00,2025-01-10\n"
    report = run_import(engine, data, entity="transactions", on_duplicate="update")
    assert (report.inserted, report.updated, report.combined) == (1, 0, 1)
    assert _scalar(engine, select(transactions.c.amount)) == Decimal("50.00")
