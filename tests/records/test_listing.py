"""Listing and search: server-side paging, sorting, filters; search literal and case-insensitive."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest
from sqlalchemy import Engine

from crm.records import ENTITIES, RecordQuery, escape_like, get_record, list_records, lookup_options
from crm.records.listing import MAX_PAGE_SIZE, export_records
from crm.records.orders import customer_choices, product_choices
from crm.schema import customers, products, utc_now
from tests.fixtures.tiny_shop import TinyShop


def _add_customers(engine: Engine, *rows: dict[str, object]) -> None:
    now = utc_now()
    with engine.begin() as connection:
        for row in rows:
            connection.execute(customers.insert().values(created_at=now, updated_at=now, **row))


def _names(engine: Engine, query: RecordQuery, entity: str = "customers", column: str = "first_name") -> list:
    return list(list_records(engine, entity, query).rows[column])


@pytest.mark.parametrize(
    ("text", "escaped"),
    [("100%", "100\\%"), ("a_b", "a\\_b"), ("back\\slash", "back\\\\slash"), ("O'Brien", "O'Brien")],
)
def test_like_wildcards_are_escaped(text: str, escaped: str) -> None:
    assert escape_like(text) == escaped


def test_every_entity_lists_without_error_on_the_tiny_shop(tiny_shop: TinyShop) -> None:
    for name, spec in ENTITIES.items():
        page = list_records(tiny_shop.engine, name)
        assert list(page.rows.columns) == list(spec.column_names), name


def test_customer_search_is_case_insensitive_over_name_email_phone_and_company(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    assert _names(engine, RecordQuery(search="ALICE")) == ["Alice"]
    assert _names(engine, RecordQuery(search="alice kim")) == ["Alice"]  # first + last name
    assert _names(engine, RecordQuery(search="BOB@EXAMPLE")) == ["Bob"]
    assert _names(engine, RecordQuery(search="0000-0003")) == ["Chloe"]
    assert _names(engine, RecordQuery(search="moss ltd")) == ["Dan"]


def test_search_matches_percent_underscore_and_quotes_literally(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    _add_customers(
        engine,
        {"first_name": "Percy", "last_name": "Hundred", "company": "100% Cotton"},
        {"first_name": "Una", "last_name": "Score", "company": "snake_case ltd"},
        {"first_name": "Oscar", "last_name": "O'Brien"},
    )
    # '%' would match every company containing "100" followed by anything; only the literal one matches.
    _add_customers(engine, {"first_name": "Decoy", "company": "1000 Cotton"})
    assert _names(engine, RecordQuery(search="100%")) == ["Percy"]
    # '_' would match any character ("snakeXcase"); add such a decoy.
    _add_customers(engine, {"first_name": "Decoy2", "company": "snakeXcase"})
    assert _names(engine, RecordQuery(search="snake_case")) == ["Una"]
    assert _names(engine, RecordQuery(search="o'brien")) == ["Oscar"]
    assert _names(engine, RecordQuery(search="%")) == ["Percy"]
    assert _names(engine, RecordQuery(search="'; DROP TABLE customers; --")) == []
    assert list_records(engine, "customers").total == 10


def test_customers_filter_by_source_and_birthday_month(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    website = RecordQuery(sources=("website",), sort_by="id", descending=False)
    assert _names(engine, website) == ["Alice", "Dan", "Eve"]
    # Birthdays: Alice 05-10, Bob 03-02, Chloe 12-24, Dan 07-07.
    assert _names(engine, RecordQuery(birthday_month=3)) == ["Bob"]
    assert _names(engine, RecordQuery(birthday_month=12)) == ["Chloe"]


def test_pagination_and_sorting_happen_in_the_database(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    first = list_records(engine, "customers", RecordQuery(sort_by="first_name", descending=False, page_size=2))
    assert first.total == 5
    assert first.pages == 3
    assert list(first.rows["first_name"]) == ["Alice", "Bob"]
    third = list_records(engine, "customers", RecordQuery(sort_by="first_name", descending=False, page=3, page_size=2))
    assert list(third.rows["first_name"]) == ["Eve"]
    beyond = list_records(engine, "customers", RecordQuery(page=99, page_size=2))
    assert beyond.page == 3  # clamped to the last page


def test_orders_search_by_customer_and_filter_by_status_and_dates(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    by_customer = list_records(engine, "orders", RecordQuery(search="alice", sort_by="order_number", descending=False))
    assert list(by_customer.rows["order_number"]) == ["O1", "O2", "O8"]
    assert set(by_customer.rows["customer"]) == {"Alice Kim"}
    by_number = list_records(engine, "orders", RecordQuery(search="o7"))
    assert list(by_number.rows["order_number"]) == ["O7"]
    open_orders = list_records(engine, "orders", RecordQuery(statuses=("pending", "processing")))
    assert sorted(open_orders.rows["order_number"]) == ["O7", "O8"]
    # February 2025: O2 (02-14) and O5 (02-20); the end day is inclusive.
    february = list_records(engine, "orders", RecordQuery(date_from=date(2025, 2, 1), date_to=date(2025, 2, 20)))
    assert sorted(february.rows["order_number"]) == ["O2", "O5"]
    assert february.rows["order_date"].iloc[0] == datetime(2025, 2, 20, 12)
    assert by_customer.rows["total"].sum() == pytest.approx(49 + 100 + 27)


def test_transactions_filter_by_type_status_and_customer(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    refunds = list_records(engine, "transactions", RecordQuery(types=("refund",)))
    assert list(refunds.rows["transaction_number"]) == ["T7"]
    failed = list_records(engine, "transactions", RecordQuery(statuses=("failed",)))
    assert list(failed.rows["transaction_number"]) == ["T4"]
    dan = list_records(engine, "transactions", RecordQuery(search="DAN MOSS"))
    assert sorted(dan.rows["transaction_number"]) == ["T6", "T7", "T8"]


def test_inventory_shows_available_and_filters_low_and_out_of_stock(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    rows = list_records(engine, "inventory", RecordQuery(sort_by="id", descending=False)).rows
    # available = on hand − reserved: 50−1, 8−5, 0−0
    assert list(rows["available"]) == [49, 3, 0]
    assert list(rows["warehouse"]) == ["W1", "W1", "W1"]
    low = list_records(engine, "inventory", RecordQuery(flags=("low_stock",))).rows
    assert list(low["sku"]) == ["MUG-1"]
    out = list_records(engine, "inventory", RecordQuery(flags=("out_of_stock",))).rows
    assert list(out["sku"]) == ["JK-1"]


def test_lookup_fields_show_names_and_offer_the_choices(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    product = get_record(engine, "products", 2)
    assert product is not None
    assert (product["brand"], product["category"]) == ("Boreal", "Home")
    assert lookup_options(engine, "products", "brand") == ("Aurora", "Boreal")
    items = list_records(engine, "order_items", RecordQuery(equals=(("order_id", 5),), sort_by="id", descending=False))
    assert list(items.rows["product"]) == ["T-shirt", "Mug"]
    assert list(items.rows["line_total"]) == [20.0, 10.0]


def test_interactions_filter_follow_ups_due_and_planned(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    # Dan's "Bulk pricing" follow-up is on 2025-04-01, in the past by now; Alice's call has none.
    due = list_records(engine, "interactions", RecordQuery(flags=("follow_up_due",))).rows
    assert list(due["subject"]) == ["Bulk pricing"]
    assert list_records(engine, "interactions", RecordQuery(flags=("follow_up_planned",))).total == 0


def test_grids_show_a_joined_name_right_after_its_id_column() -> None:
    assert ENTITIES["orders"].display_order[:4] == ("id", "order_number", "customer_id", "customer")
    assert ENTITIES["inventory"].display_order[:4] == ("id", "product_id", "sku", "product")
    assert set(ENTITIES["orders"].display_order) == set(ENTITIES["orders"].column_names) - {"version"}


def test_date_filters_are_local_calendar_days_of_the_app(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    # O2 was placed 2025-02-14 12:00 UTC: 21:00 the same day in Seoul (UTC+9), 01:00 on the 15th in Auckland (UTC+13).
    seoul = RecordQuery(date_from=date(2025, 2, 14), date_to=date(2025, 2, 14), timezone_name="Asia/Seoul")
    assert _names(engine, seoul, "orders", "order_number") == ["O2"]
    auckland_14 = RecordQuery(date_from=date(2025, 2, 14), date_to=date(2025, 2, 14), timezone_name="Pacific/Auckland")
    assert _names(engine, auckland_14, "orders", "order_number") == []
    auckland_15 = RecordQuery(date_from=date(2025, 2, 15), date_to=date(2025, 2, 15), timezone_name="Pacific/Auckland")
    assert _names(engine, auckland_15, "orders", "order_number") == ["O2"]
    # One picked day alone is "from that day on".
    from_march = RecordQuery(date_from=date(2025, 3, 20), sort_by="order_date", descending=False)
    assert _names(engine, from_march, "orders", "order_number") == ["O7", "O8"]


def test_an_export_holds_every_matching_row_in_the_grid_order_past_the_page_size_limit(engine: Engine) -> None:
    now = utc_now()
    with engine.begin() as connection:
        connection.execute(
            customers.insert(),
            [
                {
                    "first_name": f"Many{number:04d}",
                    "company": "Busan Co" if number % 3 else "Seoul Co",
                    "created_at": now,
                    "updated_at": now,
                }
                for number in range(1, 1_201)
            ],
        )
    # Page 2 of 25 rows on screen; a page never holds more than MAX_PAGE_SIZE rows.
    query = RecordQuery(search="busan co", sort_by="first_name", descending=False, page=2, page_size=25)
    assert len(list_records(engine, "customers", query).rows) == 25
    assert len(list_records(engine, "customers", RecordQuery(page_size=100_000)).rows) == MAX_PAGE_SIZE
    # The export: all 800 customers of Busan Co (numbers not divisible by 3), from the first, in the grid's order.
    exported = export_records(engine, "customers", query)
    assert len(exported) == 800
    assert list(exported["first_name"][:3]) == ["Many0001", "Many0002", "Many0004"]
    assert list(exported.columns) == list(ENTITIES["customers"].column_names)
    assert list(export_records(engine, "customers", query, limit=2)["first_name"]) == ["Many0001", "Many0002"]


def test_search_ignores_case_beyond_ascii_on_both_engines(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    _add_customers(
        engine,
        {"first_name": "Élodie", "last_name": "Dupré", "company": "Ça Va SARL"},
        {"first_name": "Jürgen", "last_name": "Müller", "email": "JUERGEN@EXAMPLE.DE"},
        {"first_name": "Ирина", "last_name": "Волкова"},
        {"first_name": "Ola", "last_name": "ÅSTRÖM"},
    )
    # The same query with an ASCII pattern first: the non-ASCII one must not reuse its compiled SQL.
    assert _names(engine, RecordQuery(search="elodie")) == []
    assert _names(engine, RecordQuery(search="élodie")) == ["Élodie"]
    assert _names(engine, RecordQuery(search="ÉLODIE DUPRÉ")) == ["Élodie"]
    assert _names(engine, RecordQuery(search="DUPR")) == ["Élodie"]
    assert _names(engine, RecordQuery(search="MÜLLER")) == ["Jürgen"]
    assert _names(engine, RecordQuery(search="müller")) == ["Jürgen"]
    assert _names(engine, RecordQuery(search="ça va")) == ["Élodie"]
    assert _names(engine, RecordQuery(search="ирина")) == ["Ирина"]
    assert _names(engine, RecordQuery(search="åström")) == ["Ola"]
    # Wildcards stay literal with folding too: "m_ller" is not "müller".
    assert _names(engine, RecordQuery(search="m_ller")) == []
    assert _names(engine, RecordQuery(search="%ller")) == []
    # The pickers of the order form and the 360 view fold the same way.
    assert list(customer_choices(engine, "MÜLLER")["label"]) == ["Jürgen Müller · JUERGEN@EXAMPLE.DE"]


def test_product_picker_search_ignores_case_beyond_ascii(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    now = utc_now()
    with engine.begin() as connection:
        connection.execute(
            products.insert().values(sku="CAFÉ-1", name="Café Crème", price=5, cost=1, created_at=now, updated_at=now)
        )
    assert list(product_choices(engine, "café crème")["sku"]) == ["CAFÉ-1"]
    assert list(product_choices(engine, "CAFÉ")["sku"]) == ["CAFÉ-1"]


def test_orders_sort_by_the_joined_customer_name_and_page_through_it(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    # Customers by name: Alice Kim (O1 O2 O8), Bob Lee (O3 O4), Chloe Park (O5), Dan Moss (O6 O7); ties by id.
    query = RecordQuery(sort_by="customer", descending=False, page_size=3)
    pages = [list_records(engine, "orders", replace(query, page=page)).rows for page in (1, 2, 3)]
    assert [list(rows["order_number"]) for rows in pages] == [["O1", "O2", "O8"], ["O3", "O4", "O5"], ["O6", "O7"]]
    newest_name_first = list_records(engine, "orders", RecordQuery(sort_by="customer", descending=True, page_size=2))
    assert list(newest_name_first.rows["customer"]) == ["Dan Moss", "Dan Moss"]
    assert list(newest_name_first.rows["order_number"]) == ["O7", "O6"]
    exported = export_records(engine, "orders", query)
    assert list(exported["order_number"]) == ["O1", "O2", "O8", "O3", "O4", "O5", "O6", "O7"]
