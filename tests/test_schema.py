"""The schema accepts good rows and refuses bad ones on both engines."""

from __future__ import annotations

import warnings
from datetime import datetime
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, Engine, Table, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from crm.db import reset_sequences
from crm.schema import (
    alert_rules,
    audit_log,
    campaign_recipients,
    campaigns,
    categories,
    customers,
    digest_subscriptions,
    interactions,
    inventory,
    kb_articles,
    kb_categories,
    loyalty_ledger,
    loyalty_settings,
    loyalty_tier_changes,
    loyalty_tiers,
    metadata,
    notification_deliveries,
    order_items,
    orders,
    price_history,
    product_variants,
    products,
    sla_policies,
    stock_movements,
    ticket_notes,
    ticket_number_days,
    tickets,
    transactions,
    users,
    visit_payments,
    warehouses,
)
from crm.service.search_sql import FULLTEXT_OBJECT_NAMES
from tests.fixtures.tiny_shop import TinyShop


def _insert(engine: Engine, table: object, row: dict[str, object]) -> None:
    with engine.begin() as connection:
        connection.execute(table.insert(), [row])  # type: ignore[attr-defined]


def test_every_table_of_the_metadata_exists_after_migration(engine: Engine) -> None:
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())


def test_tiny_shop_loads_with_its_hand_counted_rows(tiny_shop: TinyShop) -> None:
    with tiny_shop.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(customers)).scalar_one() == 5
        assert connection.execute(select(func.sum(orders.c.total))).scalar_one() == Decimal("428.00")


ORDER = {
    "order_number": "X1",
    "customer_id": 1,
    "order_date": datetime(2025, 1, 1),
    "status": "pending",
    "subtotal": Decimal("1"),
    "tax": Decimal("0"),
    "shipping": Decimal("0"),
    "discount": Decimal("0"),
    "total": Decimal("1"),
}


@pytest.mark.parametrize(
    ("table", "bad_values"),
    [
        (orders, {"status": "lost"}),
        (orders, {"total": Decimal("-1.00")}),
        (orders, {"discount": Decimal("-0.01")}),
        (orders, {"payment_method": "bitcoin"}),
        (orders, {"customer_id": 999}),
        (orders, {"order_number": "O1"}),
    ],
    ids=[
        "unknown status",
        "negative total",
        "negative discount",
        "unknown method",
        "missing customer",
        "duplicate number",
    ],
)
def test_orders_refuse_invalid_rows(tiny_shop: TinyShop, table: object, bad_values: dict[str, object]) -> None:
    with pytest.raises(IntegrityError):
        _insert(tiny_shop.engine, table, {**ORDER, **bad_values})


def test_a_valid_order_is_accepted_next_to_the_refused_ones(tiny_shop: TinyShop) -> None:
    _insert(tiny_shop.engine, orders, ORDER)
    with tiny_shop.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(orders)).scalar_one() == 9


@pytest.mark.parametrize(
    "bad_values",
    [
        {"gender": "x"},
        {"customer_type": "alien"},
        {"status": "gone"},
        {"loyalty_points": -5},
        {"first_name": None, "last_name": None, "email": None, "phone": None, "company": None},
    ],
    ids=["gender", "customer type", "status", "negative points", "nothing identifies the customer"],
)
def test_customers_refuse_invalid_rows(engine: Engine, bad_values: dict[str, object]) -> None:
    with pytest.raises(IntegrityError):
        _insert(engine, customers, {"first_name": "Ann", **bad_values})


def test_products_refuse_negative_prices_and_duplicate_skus(tiny_shop: TinyShop) -> None:
    with pytest.raises(IntegrityError):
        _insert(tiny_shop.engine, products, {"sku": "NEW", "name": "n", "price": Decimal("-1")})
    with pytest.raises(IntegrityError):
        _insert(tiny_shop.engine, products, {"sku": "TS-1", "name": "dup", "price": Decimal("1")})


def test_order_items_need_a_positive_quantity(tiny_shop: TinyShop) -> None:
    with pytest.raises(IntegrityError):
        _insert(tiny_shop.engine, order_items, {"order_id": 1, "product_id": 1, "quantity": 0, "unit_price": 1})


def test_ticket_satisfaction_is_between_one_and_five(tiny_shop: TinyShop) -> None:
    row = {
        "ticket_number": "CS202501010009",
        "customer_id": 1,
        "subject": "s",
        "satisfaction": 6,
        "created_at": datetime(2025, 1, 1),
        "updated_at": datetime(2025, 1, 1),
    }
    with pytest.raises(IntegrityError):
        _insert(tiny_shop.engine, tickets, row)


def test_a_referenced_customer_cannot_be_deleted(tiny_shop: TinyShop) -> None:
    with pytest.raises(IntegrityError), tiny_shop.engine.begin() as connection:
        connection.execute(customers.delete().where(customers.c.id == 1))


def test_a_rolled_back_savepoint_leaves_nothing_behind(engine: Engine) -> None:
    """SQLite's driver used to commit rolled-back savepoints; crm.db applies the documented fix."""
    with engine.begin() as connection:
        savepoint = connection.begin_nested()
        connection.execute(customers.insert(), [{"first_name": "Ghost"}])
        savepoint.rollback()
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(customers)).scalar_one() == 0


# --- every CHECK rule refuses its bad row and accepts the same row without the fault ---------------

NOON = datetime(2025, 1, 1, 12)
STAMPS = {"created_at": NOON, "updated_at": NOON}

# One valid row per table, pointing at tiny_shop's rows (customer 1, order 1, product 1, user 1,
# visit 1, ticket 1) and at the extra parents of ``shop_with_parents`` (warehouse 2, kb category 1).
VALID_ROWS: dict[str, dict[str, object]] = {
    "users": {"username": "new", "full_name": "New User", "password_hash": "x", "role": "agent", **STAMPS},
    "customers": {"first_name": "Ann", "gender": "female", "customer_type": "individual", "status": "active"},
    "categories": {"id": 50, "name": "Garden", "parent_id": 1, **STAMPS},
    "products": {"sku": "NEW-1", "name": "New", "price": Decimal("1.00"), "cost": Decimal("0.50"), **STAMPS},
    "product_variants": {"product_id": 1, "sku": "TS-1-RED", "color": "red", "price": Decimal("21.00"), **STAMPS},
    "inventory": {"product_id": 1, "warehouse_id": 2, "on_hand": 5, "reserved": 5, "reorder_level": 1, **STAMPS},
    "stock_movements": {"product_id": 1, "warehouse_id": 1, "movement_type": "in", "quantity": 3, "created_at": NOON},
    "price_history": {"product_id": 1, "old_price": Decimal("0.00"), "new_price": Decimal("1.00"), "changed_at": NOON},
    "orders": ORDER | {"order_number": "X2", **STAMPS},
    "order_items": {"order_id": 1, "product_id": 1, "quantity": 1, "unit_price": Decimal("0.00"), **STAMPS},
    "transactions": {
        "transaction_number": "TX-NEW",
        "customer_id": 1,
        "transaction_type": "refund",
        "status": "completed",
        "method": "paypal",
        "amount": Decimal("0.00"),
        "processed_at": NOON,
        **STAMPS,
    },
    "interactions": {
        "customer_id": 1,
        "interaction_type": "follow_up",
        "subject": "s",
        "priority": "urgent",
        "status": "planned",
        "duration_minutes": 0,
        "occurred_at": NOON,
        **STAMPS,
    },
    "visit_payments": {"visit_id": 1, "amount": Decimal("0.00"), "method": "cash", "paid_at": NOON, **STAMPS},
    "tickets": {
        "ticket_number": "CS202501019999",
        "customer_id": 1,
        "subject": "s",
        "category": "billing",
        "priority": "low",
        "status": "waiting",
        "satisfaction": 1,
        "first_response_at": NOON,
        "resolved_at": NOON,
        **STAMPS,
    },
    "ticket_notes": {"ticket_id": 1, "note_type": "resolution", "body": "b", "created_at": NOON},
    "ticket_number_days": {"day": "20250101", "last_sequence": 9999},
    "sla_policies": {"priority": "low", "first_response_hours": 1, "resolution_hours": 1, **STAMPS},
    "kb_articles": {"category_id": 1, "title": "t", "body": "b", "view_count": 0, **STAMPS},
    "loyalty_tiers": {"name": "diamond", "min_points": 50_000},
    "loyalty_ledger": {"customer_id": 1, "points": -10, "reason": "redeemed", "kind": "redeem", "created_at": NOON},
    "loyalty_settings": {"points_per_currency_unit": Decimal("0"), "points_per_discount_unit": 1, **STAMPS},
    "loyalty_tier_changes": {
        "customer_id": 1,
        "from_tier": "bronze",
        "to_tier": "silver",
        "balance": 1000,
        "changed_at": NOON,
    },
    "campaigns": {
        "name": "Spring",
        "channel": "push",
        "status": "finished",
        "starts_at": NOON,
        "ends_at": NOON,
        "budget": Decimal("0.00"),
        **STAMPS,
    },
    "campaign_recipients": {"campaign_id": 1, "customer_id": 1, "status": "holdout"},
    "audit_log": {"username": "ada", "action": "export", "entity": "customers", "at": NOON},
    "digest_subscriptions": {"user_id": 1, "frequency": "weekly", "weekday": 6, "send_at": "23:59", **STAMPS},
    "alert_rules": {"kind": "revenue_drop", "threshold": Decimal("0.00"), **STAMPS},
    "notification_deliveries": {
        "kind": "alert",
        "reference_id": 1,
        "user_id": 1,
        "status": "failed",
        "claimed_at": NOON,
    },
}

# (table, the fault, the CHECK constraint that must refuse it)
BAD_ROWS: list[tuple[Table, dict[str, object], str]] = [
    (users, {"role": "owner"}, "ck_users_role_allowed"),
    (customers, {"gender": "x"}, "ck_customers_gender_allowed"),
    (customers, {"customer_type": "alien"}, "ck_customers_customer_type_allowed"),
    (customers, {"status": "gone"}, "ck_customers_status_allowed"),
    (customers, {"preferred_season": "monsoon"}, "ck_customers_preferred_season_allowed"),
    (customers, {"loyalty_points": -1}, "ck_customers_loyalty_points_non_negative"),
    (customers, {"first_name": None}, "ck_customers_identifiable"),
    (categories, {"parent_id": 50}, "ck_categories_not_own_parent"),
    (products, {"price": Decimal("-0.01")}, "ck_products_price_non_negative"),
    (products, {"cost": Decimal("-0.01")}, "ck_products_cost_non_negative"),
    (products, {"weight_kg": Decimal("-0.001")}, "ck_products_weight_non_negative"),
    (product_variants, {"price": Decimal("-1.00")}, "ck_product_variants_price_non_negative"),
    (inventory, {"on_hand": -1, "reserved": 0}, "ck_inventory_on_hand_non_negative"),
    (inventory, {"reserved": -1}, "ck_inventory_reserved_non_negative"),
    (inventory, {"reorder_level": -1}, "ck_inventory_reorder_level_non_negative"),
    (inventory, {"reserved": 6}, "ck_inventory_reserved_within_on_hand"),
    (stock_movements, {"movement_type": "teleport"}, "ck_stock_movements_movement_type_allowed"),
    (stock_movements, {"quantity": 0}, "ck_stock_movements_quantity_not_zero"),
    (price_history, {"new_price": Decimal("-1.00")}, "ck_price_history_new_price_non_negative"),
    (price_history, {"old_price": Decimal("-1.00")}, "ck_price_history_old_price_non_negative"),
    (orders, {"status": "lost"}, "ck_orders_status_allowed"),
    (orders, {"payment_method": "bitcoin"}, "ck_orders_payment_method_allowed"),
    (orders, {"subtotal": Decimal("-0.01")}, "ck_orders_subtotal_non_negative"),
    (orders, {"tax": Decimal("-0.01")}, "ck_orders_tax_non_negative"),
    (orders, {"shipping": Decimal("-0.01")}, "ck_orders_shipping_non_negative"),
    (orders, {"discount": Decimal("-0.01")}, "ck_orders_discount_non_negative"),
    (orders, {"total": Decimal("-0.01")}, "ck_orders_total_non_negative"),
    (order_items, {"quantity": 0}, "ck_order_items_quantity_positive"),
    (order_items, {"unit_price": Decimal("-0.01")}, "ck_order_items_unit_price_non_negative"),
    (transactions, {"transaction_type": "gift"}, "ck_transactions_transaction_type_allowed"),
    (transactions, {"status": "lost"}, "ck_transactions_status_allowed"),
    (transactions, {"method": "bitcoin"}, "ck_transactions_method_allowed"),
    (transactions, {"amount": Decimal("-0.01")}, "ck_transactions_amount_non_negative"),
    (interactions, {"interaction_type": "telepathy"}, "ck_interactions_interaction_type_allowed"),
    (interactions, {"priority": "whenever"}, "ck_interactions_priority_allowed"),
    (interactions, {"status": "forgotten"}, "ck_interactions_status_allowed"),
    (interactions, {"duration_minutes": -1}, "ck_interactions_duration_non_negative"),
    (visit_payments, {"method": "barter"}, "ck_visit_payments_method_allowed"),
    (visit_payments, {"amount": Decimal("-0.01")}, "ck_visit_payments_amount_non_negative"),
    (tickets, {"category": "gossip"}, "ck_tickets_category_allowed"),
    (tickets, {"priority": "whenever"}, "ck_tickets_priority_allowed"),
    (tickets, {"status": "lost"}, "ck_tickets_status_allowed"),
    (tickets, {"satisfaction": 0}, "ck_tickets_satisfaction_range"),
    (tickets, {"satisfaction": 6}, "ck_tickets_satisfaction_range"),
    (tickets, {"first_response_at": datetime(2025, 1, 1, 11)}, "ck_tickets_response_after_creation"),
    (tickets, {"resolved_at": datetime(2025, 1, 1, 11)}, "ck_tickets_resolution_after_creation"),
    (tickets, {"ticket_number": "CS20250101999"}, "ck_tickets_ticket_number_format"),
    (tickets, {"ticket_number": "XX202501019999"}, "ck_tickets_ticket_number_format"),
    (tickets, {"ticket_number": "CS2025010199A9"}, "ck_tickets_ticket_number_format"),
    (tickets, {"ticket_number": "cs202501019999"}, "ck_tickets_ticket_number_format"),
    (ticket_notes, {"note_type": "rumour"}, "ck_ticket_notes_note_type_allowed"),
    (ticket_number_days, {"last_sequence": 10_000}, "ck_ticket_number_days_last_sequence_range"),
    (sla_policies, {"priority": "someday"}, "ck_sla_policies_priority_allowed"),
    (sla_policies, {"first_response_hours": 0, "resolution_hours": 0}, "ck_sla_policies_first_response_hours_positive"),
    (sla_policies, {"resolution_hours": 0}, "ck_sla_policies_resolution_after_first_response"),
    (kb_articles, {"view_count": -1}, "ck_kb_articles_view_count_non_negative"),
    (loyalty_tiers, {"min_points": -1}, "ck_loyalty_tiers_min_points_non_negative"),
    (loyalty_ledger, {"points": 0}, "ck_loyalty_ledger_points_not_zero"),
    (loyalty_ledger, {"kind": "gift"}, "ck_loyalty_ledger_kind_allowed"),
    (
        loyalty_settings,
        {"points_per_currency_unit": Decimal("-1")},
        "ck_loyalty_settings_points_per_currency_unit_non_negative",
    ),
    (loyalty_settings, {"points_per_discount_unit": 0}, "ck_loyalty_settings_points_per_discount_unit_positive"),
    (loyalty_tier_changes, {"to_tier": "bronze"}, "ck_loyalty_tier_changes_tier_changed"),
    (campaigns, {"channel": "pigeon"}, "ck_campaigns_channel_allowed"),
    (campaigns, {"status": "paused"}, "ck_campaigns_status_allowed"),
    (campaigns, {"budget": Decimal("-0.01")}, "ck_campaigns_budget_non_negative"),
    (campaigns, {"ends_at": datetime(2025, 1, 1, 11)}, "ck_campaigns_ends_after_start"),
    (campaigns, {"holdout_percent": 91}, "ck_campaigns_holdout_percent_range"),
    (campaigns, {"conversion_window_days": 0}, "ck_campaigns_conversion_window_range"),
    (campaign_recipients, {"status": "bounced"}, "ck_campaign_recipients_status_allowed"),
    (audit_log, {"action": "hack"}, "ck_audit_log_action_allowed"),
    (digest_subscriptions, {"frequency": "hourly"}, "ck_digest_subscriptions_frequency_allowed"),
    (digest_subscriptions, {"view": "revenue"}, "ck_digest_subscriptions_view_allowed"),
    (digest_subscriptions, {"weekday": 7}, "ck_digest_subscriptions_weekday_range"),
    (digest_subscriptions, {"weekday": None}, "ck_digest_subscriptions_weekly_has_weekday"),
    (digest_subscriptions, {"send_at": "8am"}, "ck_digest_subscriptions_send_at_format"),
    (alert_rules, {"kind": "weather"}, "ck_alert_rules_kind_allowed"),
    (alert_rules, {"threshold": Decimal("-1")}, "ck_alert_rules_threshold_non_negative"),
    (notification_deliveries, {"kind": "sms"}, "ck_notification_deliveries_kind_allowed"),
    (notification_deliveries, {"status": "lost"}, "ck_notification_deliveries_status_allowed"),
]


@pytest.fixture
def shop_with_parents(tiny_shop: TinyShop) -> Engine:
    """tiny_shop plus the parents its tables lack: a second warehouse and a knowledge-base category."""
    with tiny_shop.engine.begin() as connection:
        connection.execute(warehouses.insert(), [{"id": 2, "code": "W2", "name": "Second", **STAMPS}])
        connection.execute(kb_categories.insert(), [{"id": 1, "name": "Shipping", **STAMPS}])
        connection.execute(campaigns.insert(), [{"id": 1, "name": "Parent", "channel": "export", **STAMPS}])
        # The reference data seeds every priority's SLA: free one for the valid sla_policies row.
        connection.execute(sla_policies.delete().where(sla_policies.c.priority == "low"))
    reset_sequences(tiny_shop.engine)  # PostgreSQL: rows added without an id come after these
    return tiny_shop.engine


def _refusal(engine: Engine, table: Table, row: dict[str, object]) -> str:
    with pytest.raises(IntegrityError) as caught:
        _insert(engine, table, row)
    return str(caught.value.orig)


@pytest.mark.parametrize(
    ("table", "fault", "constraint"),
    BAD_ROWS,
    ids=[f"{table.name}: {', '.join(f'{k}={v}' for k, v in fault.items())}" for table, fault, _name in BAD_ROWS],
)
def test_a_row_breaking_one_check_is_refused_by_that_check_and_accepted_without_the_fault(
    shop_with_parents: Engine, table: Table, fault: dict[str, object], constraint: str
) -> None:
    valid = VALID_ROWS[table.name]
    # SQLite says "CHECK constraint failed: <name>", PostgreSQL 'violates check constraint "<name>"'.
    assert constraint in _refusal(shop_with_parents, table, valid | fault)
    _insert(shop_with_parents, table, valid)


def test_every_check_constraint_of_the_metadata_has_a_bad_row_test() -> None:
    declared = {
        str(constraint.name)
        for table in metadata.sorted_tables
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
    }
    # Boolean columns get no CHECK here (create_constraint is off by default in SQLAlchemy 2).
    assert declared == {name for _table, _fault, name in BAD_ROWS}


# --- unique rules that NULLs must not defeat ------------------------------------------------------


def test_a_second_inventory_row_without_variant_for_the_same_product_and_warehouse_is_refused(
    shop_with_parents: Engine,
) -> None:
    row = {"product_id": 1, "warehouse_id": 2, "on_hand": 1, **STAMPS}
    _insert(shop_with_parents, inventory, row)
    assert "uq_inventory_item_place" in _refusal(shop_with_parents, inventory, row)


def test_inventory_rows_differing_only_in_variant_are_separate_items(shop_with_parents: Engine) -> None:
    _insert(shop_with_parents, product_variants, VALID_ROWS["product_variants"] | {"id": 7})
    _insert(shop_with_parents, inventory, {"product_id": 1, "warehouse_id": 2, **STAMPS})
    _insert(shop_with_parents, inventory, {"product_id": 1, "variant_id": 7, "warehouse_id": 2, **STAMPS})
    assert "uq_inventory_item_place" in _refusal(
        shop_with_parents, inventory, {"product_id": 1, "variant_id": 7, "warehouse_id": 2, **STAMPS}
    )


@pytest.mark.parametrize("table", [categories, kb_categories], ids=["categories", "kb_categories"])
def test_root_categories_cannot_repeat_a_name_but_other_parents_can(shop_with_parents: Engine, table: Table) -> None:
    _insert(shop_with_parents, table, {"id": 60, "name": "Outdoor", **STAMPS})
    assert f"uq_{table.name}_parent_name" in _refusal(shop_with_parents, table, {"name": "Outdoor", **STAMPS})
    _insert(shop_with_parents, table, {"name": "Outdoor", "parent_id": 60, **STAMPS})  # a child may repeat it
    assert f"uq_{table.name}_parent_name" in _refusal(
        shop_with_parents, table, {"name": "Outdoor", "parent_id": 60, **STAMPS}
    )
    _insert(shop_with_parents, table, {"name": "outdoor", **STAMPS})  # names are compared exactly


# --- the migrated database is the metadata ----------------------------------------------------------

EXPRESSION_INDEXES = {
    "uq_categories_parent_name": "categories",
    "uq_kb_categories_parent_name": "kb_categories",
    "uq_inventory_item_place": "inventory",
}


def _declared_in_metadata_or_not_fulltext(name: str | None, _type: str, _parent_names: object) -> bool:
    # Full-text indexes are each engine's own objects (FTS5 tables, GIN expression indexes) that
    # migration 0007 creates outside the metadata; tests/service/test_knowledge_search.py checks them.
    return name not in FULLTEXT_OBJECT_NAMES


def test_the_migrated_database_matches_the_metadata(engine: Engine) -> None:
    with engine.connect() as connection, warnings.catch_warnings():
        # SQLAlchemy cannot reflect SQLite expression indexes; the next test checks those directly.
        warnings.filterwarnings("ignore", message=".*expression-based index.*")
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": _declared_in_metadata_or_not_fulltext}
        )
        assert compare_metadata(context, metadata) == []


def test_the_migrated_database_has_every_check_constraint_and_null_safe_unique_index(engine: Engine) -> None:
    with engine.connect() as connection, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*expression-based index.*")
        inspector = inspect(connection)
        for table in metadata.sorted_tables:
            declared = {str(c.name) for c in table.constraints if isinstance(c, CheckConstraint)}
            assert {check["name"] for check in inspector.get_check_constraints(table.name)} == declared, table.name
        if engine.dialect.name == "sqlite":
            created = dict(
                connection.execute(
                    text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name LIKE 'uq_%'")
                ).all()
            )
            for name in EXPRESSION_INDEXES:
                assert created[name].startswith(f"CREATE UNIQUE INDEX {name} ON {EXPRESSION_INDEXES[name]} (")
                assert "coalesce(" in created[name]
