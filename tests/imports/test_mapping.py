"""Mapping suggestions in several languages, mapping checks, saved mappings."""

from __future__ import annotations

import pytest

from crm.imports import check_mapping, list_mappings, load_mapping, save_mapping, suggest_mapping
from crm.permissions import Actor, PermissionDeniedError


@pytest.mark.parametrize(
    ("columns", "entity", "expected"),
    [
        (
            ["First Name", "Last Name", "E-mail Address", "Mobile", "Date of Birth", "Sex", "Comments"],
            "customers",
            ["first_name", "last_name", "email", "phone", "birth_date", "gender", "notes"],
        ),
        (
            ["姓名", "電子郵件", "電話", "生日", "性別", "備註"],
            "customers",
            ["full_name", "email", "phone", "birth_date", "gender", "notes"],
        ),
        (
            ["이름", "연락처", "생년월일", "성별", "메모", "이메일"],
            "customers",
            ["full_name", "phone", "birth_date", "gender", "notes", "email"],
        ),
        (["氏名", "メールアドレス", "電話番号"], "customers", ["full_name", "email", "phone"]),
        (
            ["Order #", "Customer ID", "Order Date", "Grand Total", "Qty", "SKU"],
            "orders",
            ["order_number", "customer_external_id", "order_date", "total", "quantity", "sku"],
        ),
        (["Product Code", "Product Name", "Price", "Category"], "products", ["sku", "name", "price", "category"]),
    ],
)
def test_headers_in_english_chinese_korean_and_japanese_are_recognised(columns, entity, expected):
    assert list(suggest_mapping(columns, entity).values()) == expected


def test_a_column_nothing_fits_is_suggested_as_ignore_and_each_field_is_used_once():
    suggestion = suggest_mapping(["Email", "Favourite colour", "E-mail"], "customers")
    assert suggestion == {"Email": "email", "Favourite colour": "ignore", "E-mail": "ignore"}


def test_a_full_name_column_next_to_first_and_last_name_is_ignored():
    suggestion = suggest_mapping(["Name", "First Name", "Last Name"], "customers")
    assert suggestion == {"Name": "ignore", "First Name": "first_name", "Last Name": "last_name"}


def test_mapping_problems_name_the_columns():
    problems = check_mapping({"A": "email", "B": "email", "C": "shoe_size", "D": "ignore"}, "customers", ["A", "B"])
    assert problems == [
        "Columns “A” and “B” are both mapped to Email.",
        "Column “C”: customers have no field “shoe_size”.",
        "The file has no column “C” (mapped to shoe_size).",
    ]


def test_saved_mappings_round_trip_and_replace_by_name(engine):
    admin = Actor.system()
    save_mapping(engine, name="Shop X", entity="customers", mapping={"이름": "full_name"}, actor=admin)
    save_mapping(engine, name="Shop X", entity="customers", mapping={"이름": "full_name", "메모": "notes"}, actor=admin)
    save_mapping(engine, name="Other", entity="orders", mapping={"No": "order_number"}, actor=admin)
    assert list_mappings(engine, "customers") == ["Shop X"]
    assert load_mapping(engine, "customers", "Shop X") == {"이름": "full_name", "메모": "notes"}
    with pytest.raises(KeyError):
        load_mapping(engine, "customers", "Other")


def test_an_analyst_may_not_save_mappings(engine):
    with pytest.raises(PermissionDeniedError):
        save_mapping(engine, name="x", entity="customers", mapping={}, actor=Actor(None, "ann", "analyst"))
