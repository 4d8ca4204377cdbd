"""Grid labels for customer, order, product, variant and visit ids: readable, searchable, mapping back to the id."""

from __future__ import annotations

import pytest

from crm.records.refs import LABELLED_TABLES, id_of_label, ref_labels, ref_search
from tests.fixtures.tiny_shop import TinyShop


def test_labels_name_the_row_and_end_with_its_id(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    assert ref_labels(engine, "customers", [2, 4, 99]) == {
        2: "Bob Lee · bob@example.com (#2)",
        4: "Dan Moss · dan@example.com (#4)",
    }
    assert ref_labels(engine, "products", [1]) == {1: "T-shirt (TS-1) (#1)"}
    assert ref_labels(engine, "visits", [1]) == {1: "Alice Kim · 2025-02-14 11:00 UTC (#1)"}
    order_label = ref_labels(engine, "orders", [2])[2]
    assert order_label.endswith(" · Alice Kim (#2)")
    assert ref_labels(engine, "customers", []) == {}


@pytest.mark.parametrize(
    ("table", "text", "expected"),
    [
        ("customers", "010-0000-0003", [3]),  # by phone
        ("customers", "MOSS", [4]),  # by name, any case
        ("products", "mug", [2]),
        ("orders", "chloe", [5]),  # by the customer's name
        ("visits", "seoul store", [1]),  # by location
    ],
)
def test_the_grid_picker_finds_rows_by_what_people_know(
    tiny_shop: TinyShop, table: str, text: str, expected: list[int]
) -> None:
    assert list(ref_search(tiny_shop.engine, table, text)) == expected


def test_a_label_maps_back_to_exactly_its_id() -> None:
    assert id_of_label("Alice Kim (#1) · alice@example.com (#12)") == 12
    assert id_of_label("Alice Kim") is None
    assert id_of_label(12) is None
    assert {"customers", "orders", "products"} <= LABELLED_TABLES
