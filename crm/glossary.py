"""One glossary: every KPI name the pages show, with the one definition it stands for.

A name means one number everywhere: the same label on two pages is computed the same way,
and where two pages measure different things their labels differ and say how ("Counted
orders" vs "Orders placed", "First-time buyers" vs "New customers", "… whole history" on
the Lifetime value page). KPI cards take their help text from here (``definition``) and
the Definitions page lists it (``GLOSSARY``); a test checks that every KPI label on the
pages is a term of this glossary.

Labels that carry a number of months ("Expected spend, next 12 months") are one term with
"N" in place of the number (``term_of``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crm.analytics.overview import DEFINITIONS

__all__ = ["GLOSSARY", "TOPICS", "Term", "definition", "term_of"]


@dataclass(frozen=True)
class Term:
    name: str
    definition: str
    topic: str


_ORDERS, _CUSTOMERS, _MONEY, _LOYALTY, _VALUE, _STOCK, _POINTS = (
    "Orders",
    "Customers",
    "Money",
    "Repeat buying and retention",
    "Lifetime value",
    "Stock",
    "Loyalty points",
)
# Topics in the order the Definitions page shows them.
TOPICS = (_MONEY, _ORDERS, _CUSTOMERS, _LOYALTY, _POINTS, _VALUE, _STOCK)

_TERMS = (
    # Money
    Term("Revenue", DEFINITIONS["revenue"], _MONEY),
    Term("Average order value", DEFINITIONS["average_order_value"], _MONEY),
    Term("Revenue per buyer", DEFINITIONS["average_customer_value"], _MONEY),
    Term("Net cash", DEFINITIONS["net_cash"], _MONEY),
    Term("Transactions", f"Completed transactions. {DEFINITIONS['completed_transactions']}", _MONEY),
    Term(
        "Refunded orders",
        "Totals of orders with status refunded, by order date (not part of revenue).",
        _MONEY,
    ),
    Term(
        "Top source by revenue",
        f"The customer source whose customers brought the most revenue. {DEFINITIONS['revenue']}",
        _MONEY,
    ),
    Term("Visit takings", DEFINITIONS["visit_takings"], _MONEY),
    Term("Total takings", DEFINITIONS["total_takings"], _MONEY),
    Term("Spent so far", "What a customer has spent: totals of their orders not cancelled/refunded.", _MONEY),
    # Orders
    Term("Orders placed", f"{DEFINITIONS['orders']} Counted orders are those not cancelled/refunded.", _ORDERS),
    Term("Counted orders", DEFINITIONS["counted_orders"], _ORDERS),
    Term("Pending orders", DEFINITIONS["pending_orders"], _ORDERS),
    Term("Purchase frequency", DEFINITIONS["purchase_frequency"] + " Over the chosen period.", _ORDERS),
    # Customers
    Term("Customers", "Customers matching the filters, created by the end of the period (also before it).", _CUSTOMERS),
    Term("New customers", DEFINITIONS["new_customers"], _CUSTOMERS),
    Term(
        "First-time buyers",
        "Customers whose first counted order falls in the period (they may have been created earlier).",
        _CUSTOMERS,
    ),
    Term("Buying customers", DEFINITIONS["buying_customers"], _CUSTOMERS),
    Term("Conversion rate", DEFINITIONS["conversion_rate"], _CUSTOMERS),
    Term("Top age group by revenue", "The age group whose customers brought the most revenue.", _CUSTOMERS),
    Term(
        "Scored customers (RFM)",
        "Customers with a counted order in the period, scored 1–5 on recency, frequency and revenue (quintiles).",
        _CUSTOMERS,
    ),
    Term(
        "Loyalty points",
        "Points on the customer's loyalty account: bronze < 1000 ≤ silver < 5000 ≤ gold < 10000 ≤ platinum.",
        _CUSTOMERS,
    ),
    Term("First purchase", "The day of the customer's first counted order.", _CUSTOMERS),
    Term("Last purchase", "The day of the customer's last counted order.", _CUSTOMERS),
    # Loyalty points (the ledger: crm/loyalty)
    Term(
        "Points issued",
        "Points earned by counted orders, opening balances and manual additions in the period.",
        _POINTS,
    ),
    Term("Points redeemed", "Points spent on rewards and order discounts in the period.", _POINTS),
    Term(
        "Points outstanding",
        "Points not yet spent or reversed at the end of the period (the ledger's balance).",
        _POINTS,
    ),
    Term(
        "Points liability",
        "Points outstanding valued as the discount they can still buy, at the redemption rate in force.",
        _POINTS,
    ),
    # Repeat buying and retention
    Term("Repeat rate", "Customers with at least two counted orders ÷ customers with at least one.", _LOYALTY),
    Term("Repeat customers", "Customers with at least two counted orders.", _LOYALTY),
    Term("Days between orders", "Mean days between two consecutive counted orders of a customer.", _LOYALTY),
    Term("Cohorts", "Months in the period in which at least one customer made their first counted order.", _LOYALTY),
    Term(
        "Month-1 retention",
        "Customers who ordered again in the month after their first ÷ customers of those cohorts; cohorts "
        "whose next month is still running (or cut by the period's end) are left out.",
        _LOYALTY,
    ),
    # Lifetime value (whole histories up to the as-of date, not the period)
    Term(
        "Expected spend per customer, next N months",
        "What an average customer will likely spend in the next N months (model prediction, discounted).",
        _VALUE,
    ),
    Term(
        "Spent so far per customer",
        "What an average customer has spent up to the as-of date: revenue ÷ customers with a counted order, "
        "over their whole history.",
        _VALUE,
    ),
    Term(
        "Expected spend, all customers, next N months",
        "What all customers together will likely spend in the next N months (model prediction, discounted).",
        _VALUE,
    ),
    Term(
        "Expected spend, next N months",
        "What this customer will likely spend in the next N months (model prediction, discounted).",
        _VALUE,
    ),
    Term(
        "Expected orders, next N months", "Repeat orders this customer will likely place in the next N months.", _VALUE
    ),
    Term(
        "Slipping away",
        "Customers the model says have likely stopped buying: a repeat buyer with less than a 50 % chance of "
        "still being active, or a one-time buyer silent for much longer than repeat buyers usually wait.",
        _VALUE,
    ),
    Term(
        "Chance still active", "The model's probability that the customer still buys from the shop (P(alive)).", _VALUE
    ),
    Term(
        "Average order value, whole history",
        "Revenue ÷ counted orders over each customer's whole history up to the as-of date (not only the period).",
        _VALUE,
    ),
    Term(
        "Orders per buyer, whole history",
        "Counted orders ÷ buying customers over each customer's whole history up to the as-of date "
        "(Purchase frequency counts the chosen period only).",
        _VALUE,
    ),
    Term("Average lifespan", "Mean days from first to last purchase of customers who bought more than once.", _VALUE),
    # Stock
    Term("Stock items", "Inventory rows: one per product (variant) and warehouse.", _STOCK),
    Term("Low stock", "Stock items with 0 < available ≤ reorder level; available = on hand − reserved.", _STOCK),
    Term("Out of stock", "Stock items with available (on hand − reserved) ≤ 0.", _STOCK),
)

GLOSSARY: dict[str, Term] = {term.name: term for term in _TERMS}

_MONTHS = re.compile(r"\bnext \d+ months?\b")


def term_of(label: str) -> str:
    """The glossary name of a KPI label: 'Expected spend, next 12 months' → 'Expected spend, next N months'."""
    return _MONTHS.sub("next N months", label)


def definition(label: str, months: int | None = None) -> str:
    """The definition of ``label`` (KeyError when it is not a glossary term: every KPI name must be one).

    ``months`` fills in the N of a horizon term.
    """
    text = GLOSSARY[term_of(label)].definition
    return text.replace("next N months", f"next {months} months") if months is not None else text
