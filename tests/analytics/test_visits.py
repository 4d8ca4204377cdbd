"""Visit analytics and the Overview's takings, computed by hand on tiny_shop plus four March visits.

Visits (UTC):                                   payments
  V1 Alice Fri 14 Feb 11:00 (tiny_shop)         100.00 paypal
  V2 Alice Mon  3 Mar 09:00                      27.00 cash, settles order O8 (27.00, already revenue)
  V3 Bob   Mon  3 Mar 09:30                      —
  V4 Chloe Sat  8 Mar 15:00                      40.00 credit card
  V5 Bob   Mon 10 Mar 09:15                      20.00 cash
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Engine

from crm.analytics.overview import takings
from crm.analytics.visits import busiest_visit_times, visit_payments_by_month, visit_summary, visits_by_month
from crm.filters import Filters
from crm.permissions import Actor
from crm.records.visits import PaymentInput, VisitInput, record_visit
from crm.schema import customers, visit_payments, visits
from tests.fixtures.tiny_shop import TinyShop

MARCH = Filters(start_date=date(2025, 3, 1), end_date=date(2025, 3, 31), today=date(2025, 3, 31))
FEBRUARY = Filters(start_date=date(2025, 2, 1), end_date=date(2025, 2, 28), today=date(2025, 3, 31))
STAMPS = {"created_at": datetime(2025, 3, 1), "updated_at": datetime(2025, 3, 1)}


def _add_march_visits(engine: Engine) -> None:
    with engine.begin() as connection:
        for visit_id, customer_id, moment in (
            (2, 1, datetime(2025, 3, 3, 9)),
            (3, 2, datetime(2025, 3, 3, 9, 30)),
            (4, 3, datetime(2025, 3, 8, 15)),
            (5, 2, datetime(2025, 3, 10, 9, 15)),
        ):
            connection.execute(
                visits.insert().values(id=visit_id, customer_id=customer_id, visited_at=moment, **STAMPS)
            )
        for payment_id, visit_id, amount, method, order_id, moment in (
            (2, 2, "27.00", "cash", 8, datetime(2025, 3, 3, 9, 40)),
            (3, 4, "40.00", "credit_card", None, datetime(2025, 3, 8, 15, 30)),
            (4, 5, "20.00", "cash", None, datetime(2025, 3, 10, 9, 30)),
        ):
            connection.execute(
                visit_payments.insert().values(
                    id=payment_id,
                    visit_id=visit_id,
                    amount=Decimal(amount),
                    method=method,
                    order_id=order_id,
                    paid_at=moment,
                    **STAMPS,
                )
            )


def test_visits_visitors_and_paid_per_month(tiny_shop: TinyShop) -> None:
    _add_march_visits(tiny_shop.engine)
    frame = visits_by_month(tiny_shop.engine, Filters(today=date(2025, 3, 31)))
    # March: 4 visits by Alice, Bob, Chloe; paid 27 + 0 + 40 + 20 = 87; 87 ÷ 4 = 21.75.
    assert frame.to_dict("records") == [
        {"period": "2025-02-01", "visits": 1, "visitors": 1, "paid": 100.0, "average_payment": 100.0},
        {"period": "2025-03-01", "visits": 4, "visitors": 3, "paid": 87.0, "average_payment": 21.75},
    ]


def test_visit_payments_per_month_show_the_part_that_settles_orders(tiny_shop: TinyShop) -> None:
    _add_march_visits(tiny_shop.engine)
    frame = visit_payments_by_month(tiny_shop.engine, Filters())
    assert frame.to_dict("records") == [
        {"period": "2025-02-01", "payments": 1, "amount": 100.0, "for_orders": 0.0},
        {"period": "2025-03-01", "payments": 3, "amount": 87.0, "for_orders": 27.0},
    ]


def test_returning_visitors_count_a_visit_before_the_period_or_two_inside_it(tiny_shop: TinyShop) -> None:
    _add_march_visits(tiny_shop.engine)
    summary = visit_summary(tiny_shop.engine, MARCH)
    # Alice came in February too, Bob twice in March, Chloe once: 2 of 3 visitors return.
    assert (summary.visits, summary.visitors, summary.returning_visitors) == (4, 3, 2)
    assert summary.returning_share == 2 / 3
    assert (summary.paid, summary.average_payment) == (Decimal("87.00"), Decimal("21.75"))
    # February alone: Alice's first visit, nobody returns.
    february = visit_summary(tiny_shop.engine, FEBRUARY)
    assert (february.visits, february.returning_visitors, february.returning_share) == (1, 0, 0.0)


def test_customer_filters_apply_to_the_visiting_customer(tiny_shop: TinyShop) -> None:
    _add_march_visits(tiny_shop.engine)
    referral = Filters(start_date=date(2025, 3, 1), end_date=date(2025, 3, 31), sources=("referral",))
    summary = visit_summary(tiny_shop.engine, referral)
    # Only Bob came by referral: two visits, one payment of 20.
    assert (summary.visits, summary.visitors, summary.returning_visitors, summary.paid) == (2, 1, 1, Decimal("20.00"))
    # Nobody belongs to a brand in tiny_shop.
    assert visit_summary(tiny_shop.engine, Filters(brands=("Aurora",))).visits == 0


def test_busiest_days_and_hours_are_local_time(tiny_shop: TinyShop) -> None:
    _add_march_visits(tiny_shop.engine)
    cells = busiest_visit_times(tiny_shop.engine, Filters())
    # Monday 9h: V2, V3, V5; Friday 11h: V1; Saturday 15h: V4.
    assert list(cells.itertuples(index=False, name=None)) == [(0, 9, 3), (4, 11, 1), (5, 15, 1)]
    seoul = busiest_visit_times(tiny_shop.engine, Filters(timezone_name="Asia/Seoul"))
    # +9 hours: Monday 18h, Friday 20h, and Saturday 15:00 UTC is Sunday 00:00 in Seoul.
    assert list(seoul.itertuples(index=False, name=None)) == [(0, 18, 3), (4, 20, 1), (6, 0, 1)]


def test_total_takings_add_visit_payments_once_and_never_a_sale_twice(tiny_shop: TinyShop) -> None:
    _add_march_visits(tiny_shop.engine)
    march = takings(tiny_shop.engine, MARCH)
    # Revenue in March 77.00 (O7 50 + O8 27); visit takings 87.00, of which 27.00 settles O8.
    assert (march.order_revenue, march.visit_takings, march.visit_takings_for_orders) == (
        Decimal("77.00"),
        Decimal("87.00"),
        Decimal("27.00"),
    )
    assert march.total == Decimal("137.00")
    february = takings(tiny_shop.engine, FEBRUARY)
    assert (february.order_revenue, february.visit_takings, february.total) == (
        Decimal("138.00"),
        Decimal("100.00"),
        Decimal("238.00"),
    )


def test_a_shop_with_only_visits_sees_its_takings(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(customers.insert().values(id=1, first_name="Mina", **STAMPS))
    record_visit(
        engine,
        Actor.system(),
        VisitInput(1, datetime(2025, 3, 5, 10), payments=(PaymentInput("35.00", "cash"), PaymentInput("5", "cash"))),
    )
    money = takings(engine, MARCH)
    assert (money.order_revenue, money.visit_takings, money.total) == (
        Decimal("0.00"),
        Decimal("40.00"),
        Decimal("40.00"),
    )
