"""The points ledger: every change of a balance is a ``loyalty_ledger`` row, written here only.

``customers.loyalty_points`` is the running sum of the customer's ledger rows and never goes
below zero; both change in the same transaction (``book``), with a tier change recorded when
the balance crosses a threshold and an audit row per customer whose balance moved.

Orders: an order earns when it becomes delivered, points by the earning rule from its total
(``crm.loyalty.rules``), as an ``earn`` row linked to the order. Cancelling or refunding it
books a ``reversal`` of what the order still holds. Rows are keyed by order: an order earns
only while its earn and reversal rows net to zero or less, so delivering twice never earns
twice. A reversal takes at most the balance (points already spent are not clawed back below
zero); the reason says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, bindparam, func, select

from crm.audit import record_audit, to_json
from crm.loyalty.rules import LoyaltyError, discount_for_points, points_for_total, read_rule
from crm.loyalty.tiers import read_tiers, record_tier_changes
from crm.permissions import Actor, Permission, require
from crm.schema import audit_log, customers, loyalty_ledger, orders, users, utc_now

__all__ = [
    "BalanceProblem",
    "Entry",
    "OrderStatusChange",
    "adjust_points",
    "apply_order_status_changes",
    "balance_problems",
    "book",
    "customer_ledger",
    "find_customer",
    "rebuild_balances",
    "redeem_for_order",
    "redeem_points",
    "redeemable_orders",
]

# Ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits.
CHUNK = 900
COUNTED_STATUS = "delivered"
REVERSING_STATUSES = ("cancelled", "refunded")
ORDER_KINDS = ("earn", "reversal")
REDEEMABLE_ORDER_STATUSES = ("pending", "processing", "shipped")
REASON_LIMIT = 200


@dataclass(frozen=True)
class Entry:
    """One ledger row to write. ``partial_ok``: a negative entry may shrink to the balance instead of failing."""

    customer_id: int
    points: int
    kind: str
    reason: str
    order_id: int | None = None
    partial_ok: bool = False


@dataclass(frozen=True)
class OrderStatusChange:
    order_id: int
    before: str | None  # None: the order is new
    after: str


def _chunks(values: Sequence[int]) -> Iterable[list[int]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def _balances(connection: Connection, customer_ids: Sequence[int]) -> dict[int, int]:
    """Balances, locking the customers' rows (PostgreSQL) so concurrent bookings queue up."""
    found: dict[int, int] = {}
    for chunk in _chunks(customer_ids):
        statement = (
            select(customers.c.id, customers.c.loyalty_points).where(customers.c.id.in_(chunk)).with_for_update()
        )
        found.update({row.id: int(row.loyalty_points or 0) for row in connection.execute(statement)})
    return found


def book(
    connection: Connection,
    entries: Sequence[Entry],
    actor: Actor,
    *,
    balances_written: bool = False,
    audit: bool = True,
) -> list[Entry]:
    """Write ``entries`` and move each customer's balance by them, in the caller's transaction.

    ``balances_written``: the caller already stored the new balances (a typed-in balance in
    the customers grid or an import); only the ledger rows, tier changes and audit are written.
    Returns the entries as booked (partial reversals shrunk; empty ones dropped). Raises
    ``LoyaltyError`` when a balance would go below zero.
    """
    if not entries:
        return []
    stored = _balances(connection, [entry.customer_id for entry in entries])
    missing = sorted({entry.customer_id for entry in entries} - set(stored))
    if missing:
        raise LoyaltyError(f"customer {missing[0]} does not exist.")
    running = dict(stored)
    if balances_written:
        for entry in entries:
            running[entry.customer_id] -= entry.points
    before = dict(running)
    booked: list[Entry] = []
    for entry in entries:
        balance = running[entry.customer_id]
        points = entry.points
        if entry.partial_ok and points < 0 and balance + points < 0:
            points = -balance
            entry = replace(
                entry,
                points=points,
                reason=f"{entry.reason} ({-entry.points - balance:,} already spent, not taken back)"[:REASON_LIMIT],
            )
        if points == 0:
            continue
        if balance + points < 0:
            raise LoyaltyError(
                f"customer {entry.customer_id} has {balance:,} points; {-points:,} cannot be taken "
                "(a balance never goes below zero)."
            )
        running[entry.customer_id] = balance + points
        booked.append(entry)
    if not booked:
        return []
    now = utc_now()
    connection.execute(
        loyalty_ledger.insert(),
        [
            {
                "customer_id": entry.customer_id,
                "order_id": entry.order_id,
                "points": entry.points,
                "kind": entry.kind,
                "reason": entry.reason[:REASON_LIMIT],
                "created_by": actor.user_id,
                "created_at": now,
            }
            for entry in booked
        ],
    )
    moved = sorted({entry.customer_id for entry in booked})
    if not balances_written:
        connection.execute(
            customers.update()
            .where(customers.c.id == bindparam("target_id"))
            .values(
                loyalty_points=bindparam("new_balance"),
                version=customers.c.version + 1,
                updated_at=now,
            ),
            [{"target_id": customer_id, "new_balance": running[customer_id]} for customer_id in moved],
        )
    record_tier_changes(
        connection,
        [(customer_id, before[customer_id], running[customer_id]) for customer_id in moved],
        read_tiers(connection),
        at=now,
    )
    if audit:
        by_customer: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for entry in booked:
            by_customer[entry.customer_id].append(
                {"points": entry.points, "kind": entry.kind, "order_id": entry.order_id, "reason": entry.reason}
            )
        connection.execute(
            audit_log.insert(),
            [
                {
                    "at": now,
                    "user_id": actor.user_id,
                    "username": actor.username,
                    "action": "update",
                    "entity": "customers",
                    "entity_id": str(customer_id),
                    "before_json": to_json({"loyalty_points": before[customer_id]}),
                    "after_json": to_json({"loyalty_points": running[customer_id], "ledger": by_customer[customer_id]}),
                }
                for customer_id in moved
            ],
        )
    return booked


def _order_nets(connection: Connection, order_ids: Sequence[int]) -> dict[int, int]:
    """Points each order holds now: the sum of its earn and reversal rows."""
    nets: dict[int, int] = {}
    for chunk in _chunks(order_ids):
        rows = connection.execute(
            select(loyalty_ledger.c.order_id, func.sum(loyalty_ledger.c.points))
            .where(loyalty_ledger.c.order_id.in_(chunk), loyalty_ledger.c.kind.in_(ORDER_KINDS))
            .group_by(loyalty_ledger.c.order_id)
        ).all()
        nets.update({int(order_id): int(total or 0) for order_id, total in rows})
    return nets


def apply_order_status_changes(
    connection: Connection, changes: Sequence[OrderStatusChange], actor: Actor
) -> list[Entry]:
    """Earn for orders that became delivered, reverse for orders that became cancelled or refunded.

    Call it in the transaction that changed the statuses, after the order totals are final.
    """
    earning = {change.order_id for change in changes if change.after == COUNTED_STATUS != change.before}
    reversing = {
        change.order_id
        for change in changes
        if change.after in REVERSING_STATUSES and change.before not in REVERSING_STATUSES
    }
    if not earning and not reversing:
        return []
    wanted = sorted(earning | reversing)
    order_rows: dict[int, Any] = {}
    for chunk in _chunks(wanted):
        statement = select(orders.c.id, orders.c.order_number, orders.c.customer_id, orders.c.total).where(
            orders.c.id.in_(chunk)
        )
        order_rows.update({row.id: row for row in connection.execute(statement)})
    nets = _order_nets(connection, wanted)
    rule = read_rule(connection)
    entries: list[Entry] = []
    for change in changes:
        order = order_rows.get(change.order_id)
        if order is None:
            continue
        held = nets.get(order.id, 0)
        if change.order_id in earning and change.after == COUNTED_STATUS and held <= 0:
            points = points_for_total(order.total, rule)
            if points > 0:
                entries.append(
                    Entry(
                        order.customer_id,
                        points,
                        "earn",
                        f"Order {order.order_number} delivered: total {Decimal(order.total):.2f}",
                        order.id,
                    )
                )
                nets[order.id] = held + points
        elif change.after in REVERSING_STATUSES and change.order_id in reversing and held > 0:
            entries.append(
                Entry(
                    order.customer_id,
                    -held,
                    "reversal",
                    f"Order {order.order_number} {change.after}: {held:,} earned points reversed",
                    order.id,
                    partial_ok=True,
                )
            )
            nets[order.id] = 0
    return book(connection, entries, actor)


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise LoyaltyError("give a reason.")
    if len(text) > REASON_LIMIT:
        raise LoyaltyError(f"the reason is {len(text)} characters long; at most {REASON_LIMIT} fit.")
    return text


def _whole_points(points: int) -> int:
    if isinstance(points, bool) or int(points) != points:
        raise LoyaltyError(f"{points!r} is not a whole number of points.")
    return int(points)


def find_customer(connection: Connection, email_or_id: str) -> int:
    """The customer with that id or (case-insensitive) email; raises ``LoyaltyError`` if none or several."""
    text = str(email_or_id).strip()
    if text.isdigit():
        found = connection.execute(select(customers.c.id).where(customers.c.id == int(text))).scalar()
        if found is None:
            raise LoyaltyError(f"no customer has id {text}.")
        return int(found)
    ids = list(connection.execute(select(customers.c.id).where(customers.c.email_normalized == text.lower())).scalars())
    if not ids:
        raise LoyaltyError(f"no customer has the email {text}.")
    if len(ids) > 1:
        raise LoyaltyError(f"{len(ids)} customers have the email {text} (ids {', '.join(map(str, ids))}): give an id.")
    return int(ids[0])


def redeem_points(engine: Engine, actor: Actor, customer_id: int, points: int, reason: str) -> Entry:
    """Take ``points`` (> 0) from a customer's balance for a reward; never below zero. Raises ``LoyaltyError``."""
    require(actor, Permission.EDIT_RECORDS)
    points = _whole_points(points)
    if points <= 0:
        raise LoyaltyError("redeem at least 1 point.")
    text = _reason(reason)
    with engine.begin() as connection:
        balance = _balances(connection, [customer_id]).get(customer_id)
        if balance is None:
            raise LoyaltyError(f"customer {customer_id} does not exist.")
        if points > balance:
            raise LoyaltyError(f"customer {customer_id} has {balance:,} points; {points:,} cannot be redeemed.")
        return book(connection, [Entry(customer_id, -points, "redeem", text)], actor)[0]


def adjust_points(engine: Engine, actor: Actor, customer_id: int, points: int, reason: str) -> Entry:
    """Add (or with a negative number, remove) points by hand with a reason (managers); never below zero."""
    require(actor, Permission.MANAGE_LOYALTY)
    points = _whole_points(points)
    if points == 0:
        raise LoyaltyError("an adjustment needs a number of points other than 0.")
    text = _reason(reason)
    with engine.begin() as connection:
        return book(connection, [Entry(customer_id, points, "adjustment", text)], actor)[0]


def redeem_for_order(engine: Engine, actor: Actor, order_id: int, points: int) -> Decimal:
    """Turn ``points`` of the order's customer into a discount on that open order; returns the discount.

    The order's discount grows and its total shrinks by points ÷ points per 1.00 (to the cent);
    the total cannot go below zero, the balance cannot either. Audited as an order update and a
    ``redeem`` ledger row linked to the order.
    """
    require(actor, Permission.EDIT_RECORDS)
    points = _whole_points(points)
    if points <= 0:
        raise LoyaltyError("redeem at least 1 point.")
    with engine.begin() as connection:
        order = connection.execute(select(orders).where(orders.c.id == order_id).with_for_update()).first()
        if order is None:
            raise LoyaltyError(f"order {order_id} does not exist.")
        if order.status not in REDEEMABLE_ORDER_STATUSES:
            raise LoyaltyError(f"order {order.order_number} is {order.status}: points only go on open orders.")
        rule = read_rule(connection)
        amount = discount_for_points(points, rule)
        if amount <= 0:
            raise LoyaltyError(f"{points:,} points are worth less than 0.01 ({rule.points_per_discount_unit} = 1.00).")
        total = Decimal(order.total)
        if amount > total:
            raise LoyaltyError(f"a discount of {amount:.2f} is more than the order's total ({total:.2f}).")
        balance = _balances(connection, [order.customer_id])[order.customer_id]
        if points > balance:
            raise LoyaltyError(f"customer {order.customer_id} has {balance:,} points; {points:,} cannot be redeemed.")
        after = {"discount": Decimal(order.discount) + amount, "total": total - amount}
        connection.execute(
            orders.update()
            .where(orders.c.id == order_id)
            .values(**after, version=orders.c.version + 1, updated_at=utc_now())
        )
        record_audit(
            connection,
            actor,
            "update",
            "orders",
            order_id,
            before={"discount": Decimal(order.discount), "total": total},
            after=after | {"points_redeemed": points},
        )
        reason = f"Discount of {amount:.2f} on order {order.order_number}"
        book(connection, [Entry(order.customer_id, -points, "redeem", reason, order_id)], actor)
        return amount


@dataclass(frozen=True)
class BalanceProblem:
    customer_id: int
    email: str | None
    stored: int
    ledger: int


def _ledger_sums() -> Any:
    return (
        select(loyalty_ledger.c.customer_id, func.sum(loyalty_ledger.c.points).label("points"))
        .group_by(loyalty_ledger.c.customer_id)
        .subquery()
    )


def balance_problems(engine: Engine) -> list[BalanceProblem]:
    """Customers whose balance is not the sum of their ledger rows, or either is below zero."""
    sums = _ledger_sums()
    ledger = func.coalesce(sums.c.points, 0)
    statement = (
        select(customers.c.id, customers.c.email, customers.c.loyalty_points, ledger.label("ledger"))
        .select_from(customers.outerjoin(sums, sums.c.customer_id == customers.c.id))
        .where((customers.c.loyalty_points != ledger) | (customers.c.loyalty_points < 0) | (ledger < 0))
        .order_by(customers.c.id)
    )
    with engine.connect() as connection:
        return [
            BalanceProblem(row.id, row.email, int(row.loyalty_points), int(row.ledger))
            for row in connection.execute(statement)
        ]


def rebuild_balances(engine: Engine, actor: Actor) -> list[BalanceProblem]:
    """Set every broken balance to its ledger sum (managers); audited per customer. Returns what was fixed.

    A ledger that sums below zero gets an ``adjustment`` row bringing it back to zero first.
    """
    require(actor, Permission.MANAGE_LOYALTY)
    fixed = balance_problems(engine)
    if not fixed:
        return []
    with engine.begin() as connection:
        tiers = read_tiers(connection)
        now = utc_now()
        moves = []
        for problem in fixed:
            target = max(problem.ledger, 0)
            if problem.ledger < 0:
                connection.execute(
                    loyalty_ledger.insert().values(
                        customer_id=problem.customer_id,
                        points=-problem.ledger,
                        kind="adjustment",
                        reason=f"Rebuild: the ledger summed to {problem.ledger:,}; brought back to 0",
                        created_by=actor.user_id,
                        created_at=now,
                    )
                )
            connection.execute(
                customers.update()
                .where(customers.c.id == problem.customer_id)
                .values(loyalty_points=target, version=customers.c.version + 1, updated_at=now)
            )
            record_audit(
                connection,
                actor,
                "update",
                "customers",
                problem.customer_id,
                before={"loyalty_points": problem.stored},
                after={"loyalty_points": target, "rebuilt_from_ledger": problem.ledger},
            )
            moves.append((problem.customer_id, max(problem.stored, 0), target))
        record_tier_changes(connection, moves, tiers, at=now)
    return fixed


LEDGER_COLUMNS = ["created_at", "kind", "points", "balance", "reason", "order_number", "created_by"]


def customer_ledger(engine: Engine, customer_id: int) -> pd.DataFrame:
    """One customer's ledger, newest first, with the running balance after each row.

    Columns: created_at, kind, points, balance (the running sum up to and including the row),
    reason, order_number, created_by (username, blank for the system and demo data).
    """
    statement = (
        select(
            loyalty_ledger.c.id,
            loyalty_ledger.c.created_at,
            loyalty_ledger.c.kind,
            loyalty_ledger.c.points,
            loyalty_ledger.c.reason,
            orders.c.order_number,
            users.c.username.label("created_by"),
        )
        .select_from(
            loyalty_ledger.outerjoin(orders, orders.c.id == loyalty_ledger.c.order_id).outerjoin(
                users, users.c.id == loyalty_ledger.c.created_by
            )
        )
        .where(loyalty_ledger.c.customer_id == customer_id)
        .order_by(loyalty_ledger.c.created_at, loyalty_ledger.c.id)
    )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    frame = pd.DataFrame(rows, columns=["id", *LEDGER_COLUMNS[:3], *LEDGER_COLUMNS[4:]])
    frame["balance"] = frame["points"].astype("int64").cumsum()
    return frame[LEDGER_COLUMNS].iloc[::-1].reset_index(drop=True)


def redeemable_orders(engine: Engine, customer_id: int) -> pd.DataFrame:
    """The customer's open orders that points can discount, newest first: columns id, order_number, status, total."""
    statement = (
        select(orders.c.id, orders.c.order_number, orders.c.status, orders.c.total)
        .where(orders.c.customer_id == customer_id, orders.c.status.in_(REDEEMABLE_ORDER_STATUSES))
        .order_by(orders.c.order_date.desc(), orders.c.id.desc())
        .limit(50)
    )
    with engine.connect() as connection:
        return pd.DataFrame(connection.execute(statement).all(), columns=["id", "order_number", "status", "total"])
