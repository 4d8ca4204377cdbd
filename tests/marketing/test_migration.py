"""Migration 0004: the demo's flat segment rules become the nested format; customers get marketing_consent."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import Engine, text

from crm.db import _alembic_config, init_database
from crm.marketing.segments import get_segment, segment_members
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.test_migrations import database_at_0001  # noqa: F401 - the fixture, on both engines

FLAT_ROWS = [
    (1, "VIP referrals", {"match": "all", "rules": [{"field": "source", "op": "=", "value": "referral"}]}),
    (2, "Social or web", {"match": "any", "rules": [{"field": "source", "op": "in", "value": ["social_media"]}]}),
    (3, "Already nested", {"not": {"field": "source", "op": "=", "value": "website"}}),
]


def test_upgrading_converts_flat_rules_and_adds_consent_off_for_everyone(database_at_0001: Engine) -> None:  # noqa: F811
    engine = database_at_0001
    command.upgrade(_alembic_config(engine), "0002")  # the revision before segments (0004)
    load_tiny_shop(engine)
    with engine.begin() as connection:
        for segment_id, name, rules in FLAT_ROWS:
            connection.execute(
                text(
                    "INSERT INTO segments (id, name, rules_json, created_at, updated_at, version) "
                    "VALUES (:id, :name, :rules, '2025-01-01 00:00:00', '2025-01-01 00:00:00', 1)"
                ),
                {"id": segment_id, "name": name, "rules": json.dumps(rules)},
            )
    init_database(engine)
    assert get_segment(engine, 1).rules == {"all": [{"field": "source", "op": "=", "value": "referral"}]}
    assert get_segment(engine, 2).rules == {"any": [{"field": "source", "op": "in", "value": ["social_media"]}]}
    assert get_segment(engine, 3).rules == FLAT_ROWS[2][2]
    assert [segment_members(engine, get_segment(engine, n).rules) for n in (1, 2, 3)] == [[2], [3], [2, 3]]
    with engine.connect() as connection:
        consent = connection.execute(text("SELECT marketing_consent FROM customers ORDER BY id")).scalars().all()
    assert [bool(value) for value in consent] == [False] * 5
