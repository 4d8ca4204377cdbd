"""Saved segments: save, rename, edit, delete (campaigns kept), permissions and audit rows."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import Engine, select

from crm.marketing.rules import RuleError
from crm.marketing.segments import (
    SegmentError,
    delete_segment,
    export_segment_members,
    get_segment,
    list_segments,
    rename_segment,
    save_segment,
    segment_members,
    segment_sample,
    update_segment,
)
from crm.permissions import Actor, PermissionDeniedError
from crm.schema import audit_log, campaigns, utc_now
from tests.fixtures.tiny_shop import TinyShop

ANALYST = Actor(user_id=None, username="ana", role="analyst")
MANAGER = Actor(user_id=None, username="max", role="manager")
AGENT = Actor(user_id=2, username="sam", role="agent")
WEBSITE = {"all": [{"field": "source", "op": "=", "value": "website"}]}
BOUGHT = {"all": [{"field": "orders_count", "op": ">=", "value": 1}]}


def _audit(engine: Engine) -> list[tuple[str, str, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(audit_log.c.username, audit_log.c.action, audit_log.c.entity_id)
            .where(audit_log.c.entity == "segments")
            .order_by(audit_log.c.id)
        ).all()
    return [tuple(row) for row in rows]


def test_an_analyst_saves_a_segment_read_back_by_name_and_id_with_an_audit_row(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    segment_id = save_segment(engine, ANALYST, "  Website   buyers ", WEBSITE, description="From the site")
    by_name = get_segment(engine, "Website buyers")
    assert by_name == get_segment(engine, segment_id) == get_segment(engine, str(segment_id))
    assert by_name.rules == WEBSITE and by_name.description == "From the site" and by_name.version == 1
    assert segment_members(engine, by_name.rules) == [1, 4, 5]
    assert _audit(engine) == [("ana", "create", str(segment_id))]


def test_a_name_is_unique_ignoring_case_and_a_bad_rule_is_never_saved(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    save_segment(engine, MANAGER, "Buyers", BOUGHT)
    with pytest.raises(SegmentError, match="already exists"):
        save_segment(engine, MANAGER, "buyers", WEBSITE)
    with pytest.raises(SegmentError, match="needs a name"):
        save_segment(engine, MANAGER, "   ", WEBSITE)
    with pytest.raises(RuleError, match='all\\[0\\]: unknown field "totl_spent"'):
        save_segment(engine, MANAGER, "Bad", {"all": [{"field": "totl_spent", "op": ">", "value": 1}]})
    assert [segment.name for segment in list_segments(engine)] == ["Buyers"]


def test_agents_may_not_build_segments(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    with pytest.raises(PermissionDeniedError):
        save_segment(engine, AGENT, "Mine", WEBSITE)
    segment_id = save_segment(engine, ANALYST, "Theirs", WEBSITE)
    with pytest.raises(PermissionDeniedError):
        rename_segment(engine, AGENT, segment_id, "Renamed")
    with pytest.raises(PermissionDeniedError):
        delete_segment(engine, AGENT, segment_id)
    assert get_segment(engine, segment_id).name == "Theirs"


def test_rename_and_edit_bump_the_version_and_refuse_a_stale_edit(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    segment_id = save_segment(engine, ANALYST, "Web", WEBSITE)
    save_segment(engine, ANALYST, "Other", BOUGHT)
    renamed = rename_segment(engine, ANALYST, segment_id, "Website customers")
    assert (renamed.name, renamed.version) == ("Website customers", 2)
    with pytest.raises(SegmentError, match="already exists"):
        rename_segment(engine, ANALYST, segment_id, "other")
    edited = update_segment(engine, MANAGER, segment_id, rules=BOUGHT, expected_version=2)
    assert (edited.rules, edited.version) == (BOUGHT, 3)
    with pytest.raises(SegmentError, match="changed by someone else"):
        update_segment(engine, MANAGER, segment_id, rules=WEBSITE, expected_version=2)
    assert [action for _user, action, _id in _audit(engine)] == ["create", "create", "update", "update"]


def test_deleting_a_segment_keeps_its_campaigns(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    segment_id = save_segment(engine, MANAGER, "Web", WEBSITE)
    now = utc_now()
    with engine.begin() as connection:
        connection.execute(
            campaigns.insert().values(
                id=1, name="Spring", channel="email", segment_id=segment_id, created_at=now, updated_at=now
            )
        )
    assert get_segment(engine, segment_id).campaign_count == 1
    delete_segment(engine, MANAGER, segment_id)
    with pytest.raises(SegmentError):
        get_segment(engine, segment_id)
    with engine.connect() as connection:
        assert connection.execute(select(campaigns.c.name, campaigns.c.segment_id)).all() == [("Spring", None)]
    delete_row = _audit(engine)[-1]
    assert delete_row == ("max", "delete", str(segment_id))


def test_member_sample_and_export_hold_contact_columns_and_the_export_is_audited(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    sample = segment_sample(engine, WEBSITE, limit=2, as_of=date(2025, 3, 31))
    assert list(sample["customer_id"]) == [1, 4]
    assert list(sample["first_name"]) == ["Alice", "Dan"]
    data = export_segment_members(engine, ANALYST, WEBSITE, file_format="csv", name="web_members")
    lines = data.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("customer_id,first_name,last_name,email")
    assert len(lines) == 4
    with pytest.raises(PermissionDeniedError):
        export_segment_members(engine, AGENT, WEBSITE, file_format="csv")
    with engine.connect() as connection:
        exported = connection.execute(select(audit_log.c.after_json).where(audit_log.c.action == "export")).scalar()
    assert json.loads(exported)["rows"] == 3
