"""Demo data: deterministic, fills every table, respects every constraint, never overwrites by accident.

Also: sign-in accounts only on request, sizes at both extremes, and a shop whose rows tell one
consistent story (ages, sign-ups, variants, prices, tickets, campaigns, loyalty, payments).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from crm.cli import main
from crm.db import make_engine
from crm.demo import DEMO_ACCOUNTS, DEMO_COLLEAGUES, HISTORY_DAYS, DemoDataExistsError, DemoSize, generate_demo
from crm.schema import (
    REVENUE_ORDER_STATUSES,
    campaign_recipients,
    campaigns,
    customers,
    inventory,
    loyalty_ledger,
    loyalty_tiers,
    metadata,
    order_items,
    orders,
    price_history,
    product_variants,
    ticket_notes,
    tickets,
    transactions,
    users,
    utc_now,
)
from crm.settings import get_settings

SMALL = DemoSize(customers=200, orders=1_500)
END = date(2025, 6, 30)
END_MOMENT = datetime(2025, 6, 30, 23, 59, 59)
# A shop big enough for statistics (ages, ticket mix), generated once for the tests that only read it.
REALISTIC = DemoSize(customers=1_000, orders=12_000)


def _fingerprint(engine: Engine) -> tuple[object, ...]:
    with engine.connect() as connection:
        return tuple(
            connection.execute(
                select(func.count(orders.c.id), func.sum(orders.c.total), func.max(orders.c.order_date))
            ).one()
        )


USER_CHOICE_TABLES = {
    "saved_views",
    "digest_subscriptions",
    "alert_rules",
    "alert_recipients",
    "alert_episodes",
    "notification_deliveries",
}


def test_every_table_gets_rows(engine: Engine) -> None:
    summary = generate_demo(engine, SMALL, seed=3, end_date=END, with_demo_accounts=True)
    with engine.connect() as connection:
        empty = [
            table.name
            for table in metadata.sorted_tables
            # ticket_number_days is numbering bookkeeping: the next number also counts on from stored tickets.
            # Saved views, digest subscriptions, alert settings and what was mailed are users' own choices and logs;
            # stored CLV fits are a cache.
            if table.name
            not in {"user_sessions", "login_attempts", "import_mappings", "ticket_number_days", "clv_fits"}
            and table.name not in USER_CHOICE_TABLES
            and connection.execute(select(func.count()).select_from(table)).scalar_one() == 0
        ]
    assert empty == []
    assert summary.rows["orders"] == SMALL.orders
    assert summary.rows["customers"] == SMALL.customers


def test_the_same_seed_gives_the_same_shop_on_both_engines(engine: Engine, sqlite_engine: Engine) -> None:
    generate_demo(engine, SMALL, seed=11, end_date=END)
    generate_demo(sqlite_engine, SMALL, seed=11, end_date=END)
    assert _fingerprint(engine) == _fingerprint(sqlite_engine)


def test_another_seed_gives_another_shop(engine: Engine, sqlite_engine: Engine) -> None:
    generate_demo(engine, SMALL, seed=11, end_date=END)
    generate_demo(sqlite_engine, SMALL, seed=12, end_date=END)
    assert _fingerprint(engine) != _fingerprint(sqlite_engine)


def test_order_totals_add_up_from_their_parts_and_items(engine: Engine) -> None:
    generate_demo(engine, SMALL, seed=5, end_date=END)
    with engine.connect() as connection:
        mismatched = connection.execute(
            # SQLite keeps NUMERIC as binary floating point, so compare to half a cent.
            select(func.count()).where(
                func.abs(orders.c.total - (orders.c.subtotal + orders.c.tax + orders.c.shipping - orders.c.discount))
                > Decimal("0.005")
            )
        ).scalar_one()
        item_sums = (
            select(order_items.c.order_id, func.sum(order_items.c.quantity * order_items.c.unit_price).label("lines"))
            .group_by(order_items.c.order_id)
            .subquery()
        )
        wrong_subtotals = connection.execute(
            select(func.count())
            .select_from(orders.join(item_sums, item_sums.c.order_id == orders.c.id))
            .where(func.abs(item_sums.c.lines - orders.c.subtotal) > Decimal("0.005"))
        ).scalar_one()
        latest = connection.execute(select(func.max(orders.c.order_date))).scalar_one()
    assert mismatched == 0
    assert wrong_subtotals == 0
    assert latest.date() <= END


def test_shop_has_repeat_buyers_prospects_and_stock_alerts(engine: Engine) -> None:
    generate_demo(engine, SMALL, seed=5, end_date=END)
    with engine.connect() as connection:
        per_customer = (
            select(orders.c.customer_id, func.count().label("n"))
            .where(orders.c.status.in_(REVENUE_ORDER_STATUSES))
            .group_by(orders.c.customer_id)
            .subquery()
        )
        repeat_buyers = connection.execute(select(func.count()).where(per_customer.c.n >= 2)).scalar_one()
        prospects = connection.execute(select(func.count()).where(customers.c.status == "prospect")).scalar_one()
        out_of_stock = connection.execute(
            select(func.count()).where(inventory.c.on_hand - inventory.c.reserved <= 0)
        ).scalar_one()
        negative_stock = connection.execute(select(func.count()).where(inventory.c.on_hand < 0)).scalar_one()
        answered_late = connection.execute(
            select(func.count()).where(tickets.c.first_response_at < tickets.c.created_at)
        ).scalar_one()
    assert repeat_buyers > 20
    assert prospects > 0
    assert out_of_stock > 0
    assert negative_stock == 0
    assert answered_late == 0


def test_existing_data_is_never_overwritten_without_replace(engine: Engine) -> None:
    generate_demo(engine, SMALL, seed=5, end_date=END)
    before = _fingerprint(engine)
    with pytest.raises(DemoDataExistsError):
        generate_demo(engine, SMALL, seed=6, end_date=END)
    assert _fingerprint(engine) == before


def test_replace_starts_over_but_keeps_accounts_and_tiers(engine: Engine) -> None:
    generate_demo(engine, SMALL, seed=5, end_date=END)
    with engine.begin() as connection:
        connection.execute(
            users.insert().values(username="owner", full_name="Shop Owner", password_hash="x", role="admin")
        )
    generate_demo(
        engine, DemoSize(customers=100, orders=500), seed=6, end_date=END, replace=True, with_demo_accounts=True
    )
    with engine.connect() as connection:
        names = set(connection.execute(select(users.c.username)).scalars())
        order_count = connection.execute(select(func.count()).select_from(orders)).scalar_one()
        tiers = connection.execute(select(func.count()).select_from(loyalty_tiers)).scalar_one()
    assert {"owner", "admin", "manager", "analyst", "agent"} <= names
    assert order_count == 500
    assert tiers == 4


# --- sign-in accounts ------------------------------------------------------------------------------
def test_no_sign_in_account_is_created_unless_asked_for(engine: Engine) -> None:
    summary = generate_demo(engine, SMALL, seed=3, end_date=END)
    with engine.connect() as connection:
        accounts = connection.execute(select(func.count()).select_from(users)).scalar_one()
        assigned = connection.execute(select(func.count()).where(tickets.c.assignee_id.is_not(None))).scalar_one()
    assert (accounts, summary.accounts_created, summary.rows["users"]) == (0, (), 0)
    assert assigned == 0  # nobody works in the shop yet


def test_without_demo_accounts_the_shop_is_run_by_the_existing_staff(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(users.insert().values(username="sam", full_name="Sam", password_hash="x", role="agent"))
    generate_demo(engine, SMALL, seed=3, end_date=END)
    with engine.connect() as connection:
        names = set(connection.execute(select(users.c.username)).scalars())
        assignees = set(
            connection.execute(
                select(users.c.username).distinct().join(tickets, tickets.c.assignee_id == users.c.id)
            ).scalars()
        )
    assert names == {"sam"}
    assert assignees == {"sam"}


def test_demo_accounts_never_replace_an_existing_username(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            users.insert().values(username="admin", full_name="Real Admin", password_hash="kept", role="analyst")
        )
    summary = generate_demo(engine, SMALL, seed=3, end_date=END, with_demo_accounts=True)
    with engine.connect() as connection:
        admin = connection.execute(
            select(users.c.full_name, users.c.password_hash, users.c.role).where(users.c.username == "admin")
        ).one()
        names = set(connection.execute(select(users.c.username)).scalars())
    assert tuple(admin) == ("Real Admin", "kept", "analyst")
    assert "admin" not in summary.accounts_created
    assert set(summary.accounts_created) == (set(DEMO_ACCOUNTS) | set(DEMO_COLLEAGUES)) - {"admin"}
    assert names == set(DEMO_ACCOUNTS) | set(DEMO_COLLEAGUES)


@pytest.fixture
def demo_mode_off(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.delenv("CRM_DEMO_MODE", raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("demo_mode", "arguments", "expected_accounts"),
    [
        (None, [], 0),
        ("0", [], 0),
        ("1", [], len(DEMO_ACCOUNTS) + len(DEMO_COLLEAGUES)),
        (None, ["--with-demo-accounts"], len(DEMO_ACCOUNTS) + len(DEMO_COLLEAGUES)),
    ],
)
def test_the_demo_command_creates_demo_accounts_only_in_demo_mode_or_when_asked(
    tmp_path: Path,
    demo_mode_off: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    demo_mode: str | None,
    arguments: list[str],
    expected_accounts: int,
) -> None:
    if demo_mode is not None:
        demo_mode_off.setenv("CRM_DEMO_MODE", demo_mode)
        get_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["--database-url", url, "demo", "--customers", "50", "--orders", "300", *arguments]) == 0
    output = capsys.readouterr().out
    with make_engine(url).connect() as connection:
        assert connection.execute(select(func.count()).select_from(users)).scalar_one() == expected_accounts
    assert ("demo-admin" in output) == bool(expected_accounts)
    assert ("No sign-in account was created" in output) == (not expected_accounts)


# --- sizes at both extremes ------------------------------------------------------------------------
def test_fewer_orders_than_customers_means_fewer_buyers(sqlite_engine: Engine) -> None:
    summary = generate_demo(sqlite_engine, DemoSize(customers=1_000, orders=500), seed=2, end_date=END)
    with sqlite_engine.connect() as connection:
        buyers = connection.execute(select(func.count(orders.c.customer_id.distinct()))).scalar_one()
        prospects = connection.execute(select(func.count()).where(customers.c.status == "prospect")).scalar_one()
    assert summary.rows["orders"] == 500
    assert buyers == 500
    assert prospects == 500


@pytest.mark.parametrize("size", [DemoSize(customers=20, orders=800), DemoSize(customers=100, orders=3_000)])
def test_many_orders_per_customer_still_buy_at_most_about_weekly(sqlite_engine: Engine, size: DemoSize) -> None:
    summary = generate_demo(sqlite_engine, size, seed=2, end_date=END)
    with sqlite_engine.connect() as connection:
        frame = pd.DataFrame(connection.execute(select(orders.c.customer_id, orders.c.order_date)).all())
    per_customer = frame.groupby("customer_id")["order_date"].agg(["min", "count"])
    weeks_left = (END_MOMENT - per_customer["min"]).dt.days // 7
    assert summary.rows["orders"] == size.orders
    assert (per_customer["count"] <= weeks_left + 1).all()


def test_more_orders_than_weekly_buying_can_hold_are_refused_before_anything_is_written(engine: Engine) -> None:
    with pytest.raises(ValueError, match="at most 400 orders"):
        generate_demo(engine, DemoSize(customers=10, orders=401), seed=1, end_date=END)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(customers)).scalar_one() == 0


def test_the_demo_command_reports_an_impossible_size_in_one_error_line_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["--database-url", url, "demo", "--customers", "10", "--orders", "401"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: 401 orders for 10 customers")
    assert len(error.splitlines()) == 1


# --- nothing in the future -------------------------------------------------------------------------
def _latest_moments(engine: Engine) -> dict[str, datetime]:
    columns = {
        "orders": orders.c.order_date,
        "order items": order_items.c.created_at,
        "transactions": transactions.c.processed_at,
        "loyalty ledger": loyalty_ledger.c.created_at,
        "ticket created": tickets.c.created_at,
        "ticket answered": tickets.c.first_response_at,
        "ticket resolved": tickets.c.resolved_at,
        "ticket updated": tickets.c.updated_at,
        "ticket notes": ticket_notes.c.created_at,
        "campaign opened": campaign_recipients.c.opened_at,
        "campaign clicked": campaign_recipients.c.clicked_at,
        "campaign converted": campaign_recipients.c.converted_at,
        "customers": customers.c.created_at,
    }
    with engine.connect() as connection:
        return {name: connection.execute(select(func.max(column))).scalar_one() for name, column in columns.items()}


def test_nothing_is_dated_after_the_moment_of_generation(engine: Engine) -> None:
    generate_demo(engine, SMALL, seed=4)  # ends today: now, not tonight
    finished = utc_now()
    latest = _latest_moments(engine)
    assert {name: moment for name, moment in latest.items() if moment is not None and moment > finished} == {}


def test_a_past_end_date_ends_the_data_at_the_end_of_that_day(engine: Engine) -> None:
    generate_demo(engine, SMALL, seed=4, end_date=END)
    latest = _latest_moments(engine)
    assert {name: moment for name, moment in latest.items() if moment is not None and moment > END_MOMENT} == {}
    assert latest["orders"].date() == END


# --- a realistic shop ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def realistic_shop(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("realistic-shop") / "crm.db"
    shutil.copy(sqlite_template, path)
    shop = make_engine(f"sqlite:///{path}")
    generate_demo(shop, REALISTIC, seed=7, end_date=END, with_demo_accounts=True)
    yield shop
    shop.dispose()


def _frame(engine: Engine, statement: object) -> pd.DataFrame:
    with engine.connect() as connection:
        result = connection.execute(statement)  # type: ignore[call-overload]
        return pd.DataFrame(result.all(), columns=list(result.keys()))


def test_customers_are_adults_most_of_them_between_25_and_45(realistic_shop: Engine) -> None:
    births = _frame(realistic_shop, select(customers.c.birth_date).where(customers.c.birth_date.is_not(None)))
    age = births["birth_date"].map(lambda born: (END - born).days / 365.25)
    share = {
        "under 25": (age < 25).mean(),
        "25-44": ((age >= 25) & (age < 45)).mean(),
        "45-64": ((age >= 45) & (age < 65)).mean(),
        "65 and over": (age >= 65).mean(),
    }
    assert age.min() >= 18 and age.max() < 81
    assert share["25-44"] > 0.45
    assert share["under 25"] > 0.05 and share["45-64"] > 0.15 and share["65 and over"] > 0.01


def test_customers_sign_up_over_the_whole_history_and_more_each_year(realistic_shop: Engine) -> None:
    joined = _frame(realistic_shop, select(customers.c.created_at))["created_at"]
    start = END_MOMENT - timedelta(days=HISTORY_DAYS)
    per_year = joined.map(lambda moment: (moment - start).days // 365).value_counts().sort_index()
    assert joined.min() < start + timedelta(days=30)
    assert list(per_year.index) == [0, 1, 2]
    assert per_year.is_monotonic_increasing


def test_apparel_lines_and_stock_name_a_variant_of_their_product(realistic_shop: Engine) -> None:
    with realistic_shop.connect() as connection:
        lines_with_variant = connection.execute(
            select(func.count()).where(order_items.c.variant_id.is_not(None))
        ).scalar_one()
        wrong_product = connection.execute(
            select(func.count())
            .select_from(order_items.join(product_variants, product_variants.c.id == order_items.c.variant_id))
            .where(product_variants.c.product_id != order_items.c.product_id)
        ).scalar_one()
        # A product with variants is always sold as one of them.
        without_variant = connection.execute(
            select(func.count()).where(
                order_items.c.variant_id.is_(None),
                order_items.c.product_id.in_(select(product_variants.c.product_id)),
            )
        ).scalar_one()
        stocked_variants = connection.execute(
            select(func.count(inventory.c.variant_id.distinct())).where(inventory.c.variant_id.is_not(None))
        ).scalar_one()
        variant_count = connection.execute(select(func.count()).select_from(product_variants)).scalar_one()
    assert lines_with_variant > 0
    assert (wrong_product, without_variant) == (0, 0)
    assert stocked_variants == variant_count


def test_order_lines_cost_the_price_in_force_on_the_order_date(engine: Engine) -> None:
    generate_demo(engine, SMALL, seed=5, end_date=END)
    in_force = (
        select(price_history.c.new_price)
        .where(
            price_history.c.product_id == order_items.c.product_id, price_history.c.changed_at <= orders.c.order_date
        )
        .order_by(price_history.c.changed_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    with engine.connect() as connection:
        off_price = connection.execute(
            select(func.count())
            .select_from(order_items.join(orders, orders.c.id == order_items.c.order_id))
            .where(func.abs(order_items.c.unit_price - in_force) > Decimal("0.005"))
        ).scalar_one()
        repriced = connection.execute(
            select(func.count(price_history.c.product_id.distinct())).where(price_history.c.old_price.is_not(None))
        ).scalar_one()
    assert repriced > 0
    assert off_price == 0


def test_ticket_numbers_count_each_local_day_in_time_order(realistic_shop: Engine) -> None:
    frame = _frame(realistic_shop, select(tickets.c.ticket_number, tickets.c.created_at).order_by(tickets.c.id))
    frame["day"] = frame["ticket_number"].str[2:10]
    frame["sequence"] = frame["ticket_number"].str[10:].astype(int)
    for _day, of_day in frame.groupby("day"):
        by_time = of_day.sort_values("created_at", kind="stable")
        assert list(by_time["sequence"]) == list(range(1, len(of_day) + 1))


def test_recent_tickets_are_still_being_worked_on_by_several_agents(realistic_shop: Engine) -> None:
    frame = _frame(
        realistic_shop,
        select(tickets.c.status, tickets.c.created_at, tickets.c.resolved_at, tickets.c.assignee_id),
    )
    recent = frame[frame["created_at"] > END_MOMENT - timedelta(days=14)]
    unresolved = frame["status"].isin(["open", "in_progress", "waiting"])
    assert (unresolved == frame["resolved_at"].isna()).all()  # status and resolution time agree
    assert recent["status"].isin(["open", "in_progress", "waiting"]).any()
    assert recent["status"].isin(["resolved", "closed"]).any()
    assert frame["assignee_id"].nunique() >= 3


def test_campaigns_reach_only_customers_who_had_joined_and_their_status_fits_their_dates(
    realistic_shop: Engine,
) -> None:
    recipients = _frame(
        realistic_shop,
        select(customers.c.created_at, campaign_recipients.c.sent_at, campaign_recipients.c.converted_at).join(
            customers, customers.c.id == campaign_recipients.c.customer_id
        ),
    )
    plans = _frame(realistic_shop, select(campaigns.c.status, campaigns.c.starts_at, campaigns.c.ends_at))
    expected = [
        "scheduled" if start > END_MOMENT else ("running" if end >= END_MOMENT else "finished")
        for start, end in zip(plans["starts_at"], plans["ends_at"], strict=True)
    ]
    assert len(recipients) > 0
    assert (recipients["created_at"] < recipients["sent_at"]).all()
    assert (recipients["converted_at"].dropna() > recipients["sent_at"][recipients["converted_at"].notna()]).all()
    assert list(plans["status"]) == expected
    assert {"finished", "running"} <= set(expected)


def test_loyalty_points_are_earned_per_order_and_add_up_to_each_balance(realistic_shop: Engine) -> None:
    with realistic_shop.connect() as connection:
        entries, linked = connection.execute(select(func.count(), func.count(loyalty_ledger.c.order_id))).one()
        counted_orders = connection.execute(
            select(func.count()).where(orders.c.status.in_((*REVENUE_ORDER_STATUSES, "refunded")))
        ).scalar_one()
        balances = (
            select(loyalty_ledger.c.customer_id, func.sum(loyalty_ledger.c.points).label("points"))
            .group_by(loyalty_ledger.c.customer_id)
            .subquery()
        )
        mismatched = connection.execute(
            select(func.count())
            .select_from(customers.outerjoin(balances, balances.c.customer_id == customers.c.id))
            .where(func.coalesce(balances.c.points, 0) != customers.c.loyalty_points)
        ).scalar_one()
    assert entries == linked
    assert entries >= counted_orders  # one per earning order, plus a reversal per refund
    assert mismatched == 0


def test_payments_are_recorded_and_a_declined_card_is_followed_by_a_completed_charge(realistic_shop: Engine) -> None:
    charges = _frame(
        realistic_shop,
        select(
            orders.c.id,
            orders.c.status.label("order_status"),
            transactions.c.transaction_type,
            transactions.c.status,
            transactions.c.processed_at,
        )
        .join(transactions, transactions.c.order_id == orders.c.id)
        .where(transactions.c.transaction_type.in_(("sale", "payment"))),
    )
    declined = charges[(charges["status"] == "failed") & (charges["order_status"] == "delivered")]
    completed = charges[charges["status"] == "completed"].groupby("id")["processed_at"].min()
    assert (charges["transaction_type"] == "payment").any()
    assert len(declined) > 0
    assert declined["id"].isin(completed.index).all()
    assert (declined["processed_at"].to_numpy() < completed[declined["id"]].to_numpy()).all()


def test_demo_rows_and_their_id_sequences_commit_together_so_a_crash_leaves_nothing_half_done(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import crm.demo

    def crash(connection: object) -> None:
        raise RuntimeError("killed while setting the sequences")

    monkeypatch.setattr(crm.demo, "advance_sequences", crash)
    with pytest.raises(RuntimeError, match="killed"):
        generate_demo(engine, DemoSize(customers=10, orders=20), seed=1, end_date=END)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(customers)).scalar_one() == 0
        assert connection.execute(select(func.count()).select_from(orders)).scalar_one() == 0

    monkeypatch.undo()
    generate_demo(engine, DemoSize(customers=10, orders=20), seed=1, end_date=END)
    # The sequences moved with the rows: a customer added afterwards gets the next free id.
    with engine.begin() as connection:
        largest = connection.execute(select(func.max(customers.c.id))).scalar_one()
        now = utc_now()
        added = connection.execute(
            customers.insert().values(first_name="Late", created_at=now, updated_at=now)
        ).inserted_primary_key[0]
    assert added == largest + 1
