"""The earning rule: how many points a counted order earns, and what a redeemed point is worth.

Stored in the one row of ``loyalty_settings`` (absent until a manager first saves it: the
defaults below apply). Points earned = floor(order total x points per currency unit), so the
default (1) gives 1 point per whole unit of currency of the order's total.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import Connection, Engine, select

from crm.audit import record_audit
from crm.permissions import Actor, Permission, require
from crm.schema import loyalty_settings, utc_now

__all__ = [
    "DEFAULT_RULE",
    "EarningRule",
    "LoyaltyError",
    "discount_for_points",
    "points_for_total",
    "read_rule",
    "update_rule",
]

SETTINGS_ID = 1


class LoyaltyError(ValueError):
    """A loyalty write was refused; the message is one line saying why."""


@dataclass(frozen=True)
class EarningRule:
    # Points per whole unit of currency of a counted (delivered) order's total.
    points_per_currency_unit: Decimal
    # Points that buy 1.00 of discount on an order.
    points_per_discount_unit: int
    version: int = 0


DEFAULT_RULE = EarningRule(points_per_currency_unit=Decimal("1"), points_per_discount_unit=100)


def read_rule(connection: Connection) -> EarningRule:
    """The stored rule, or ``DEFAULT_RULE`` when no manager has saved one yet."""
    row = connection.execute(select(loyalty_settings).where(loyalty_settings.c.id == SETTINGS_ID)).first()
    if row is None:
        return DEFAULT_RULE
    return EarningRule(
        points_per_currency_unit=Decimal(row.points_per_currency_unit),
        points_per_discount_unit=int(row.points_per_discount_unit),
        version=int(row.version),
    )


def points_for_total(total: Decimal | float | str, rule: EarningRule) -> int:
    """Points an order of ``total`` earns: floor(total x rate), never negative."""
    earned = (Decimal(str(total)) * rule.points_per_currency_unit).to_integral_value(rounding=ROUND_DOWN)
    return max(int(earned), 0)


def discount_for_points(points: int, rule: EarningRule) -> Decimal:
    """Discount (rounded down to the cent) that ``points`` buy."""
    return (Decimal(points) / Decimal(rule.points_per_discount_unit)).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def update_rule(
    engine: Engine,
    actor: Actor,
    *,
    points_per_currency_unit: Decimal | float | str,
    points_per_discount_unit: int,
    seen_version: int | None = None,
) -> EarningRule:
    """Save the earning rule (managers); audited. Raises ``LoyaltyError`` for a bad value or a stale version.

    The rule applies to orders that become delivered from now on; points already earned stay.
    """
    require(actor, Permission.MANAGE_LOYALTY)
    try:
        rate = Decimal(str(points_per_currency_unit))
    except ArithmeticError:
        raise LoyaltyError(f"{points_per_currency_unit!r} is not a number.") from None
    if not rate.is_finite() or rate < 0 or rate >= Decimal("1000000"):
        raise LoyaltyError("points per currency unit must be 0 or more (and below 1,000,000).")
    if rate != rate.quantize(Decimal("0.0001")):
        raise LoyaltyError("points per currency unit takes at most 4 decimals.")
    if int(points_per_discount_unit) <= 0:
        raise LoyaltyError("points per 1.00 of discount must be at least 1.")
    with engine.begin() as connection:
        before = read_rule(connection)
        if seen_version is not None and seen_version != before.version:
            raise LoyaltyError("the earning rule was changed by someone else meanwhile: reload and retry.")
        values = {
            "points_per_currency_unit": rate,
            "points_per_discount_unit": int(points_per_discount_unit),
            "updated_by": actor.user_id,
            "updated_at": utc_now(),
        }
        if before.version == 0:
            connection.execute(loyalty_settings.insert().values(id=SETTINGS_ID, created_at=utc_now(), **values))
        else:
            connection.execute(
                loyalty_settings.update()
                .where(loyalty_settings.c.id == SETTINGS_ID)
                .values(version=loyalty_settings.c.version + 1, **values)
            )
        record_audit(
            connection,
            actor,
            "update",
            "loyalty_settings",
            SETTINGS_ID,
            before={
                "points_per_currency_unit": before.points_per_currency_unit,
                "points_per_discount_unit": before.points_per_discount_unit,
            },
            after={"points_per_currency_unit": rate, "points_per_discount_unit": int(points_per_discount_unit)},
        )
        return read_rule(connection)
