"""Finding rows that are already stored: a few IN lookups for a small file, one scan for a big one."""

from __future__ import annotations

import pandas as pd
import pytest

import crm.imports.dedupe as dedupe
from crm.contacts import phone_key
from crm.imports import run_import
from crm.imports.dedupe import database_matches
from crm.schema import customers


@pytest.mark.parametrize("keys_per_row_for_a_scan", [0.0, 1e9], ids=["scan", "in-lists"])
def test_stored_keys_are_found_the_same_way_by_a_scan_or_by_in_lists(engine, monkeypatch, keys_per_row_for_a_scan):
    run_import(
        engine,
        b"Email,Phone\nada@example.com,111-1111\ngrace@example.com,222-2222\nada2@example.com,111-1111\n",
        entity="customers",
        on_duplicate="update",
    )
    monkeypatch.setattr(dedupe, "SCAN_WHEN_KEYS_PER_ROW", keys_per_row_for_a_scan)
    monkeypatch.setattr(dedupe, "LOOKUP_CHUNK", 1)  # one IN list per key: the chunks must add up
    emails = pd.Series(["grace@example.com", None, "nobody@example.com"])
    # The stored phone keys are the ones crm.contacts makes of the file's "111-1111" and "222-2222".
    phones = pd.Series([None, phone_key("111-1111"), phone_key("222-2222")])
    with engine.connect() as connection:
        found, by = database_matches(
            connection,
            customers.c.id,
            {"email": (customers.c.email_normalized, emails), "phone": (customers.c.phone_normalized, phones)},
        )
    # Ada (id 1) and her repeat (combined into her row) share 1111111; grace is id 2.
    assert found.tolist() == [2.0, 1.0, 2.0]
    assert by.tolist() == ["email", "phone", "phone"]
