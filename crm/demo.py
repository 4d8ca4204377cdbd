"""Deterministic, realistic demo data for every table, at any scale.

The same ``seed``, ``size`` and ``end_date`` always give the same rows. Nothing is dated after
the moment of generation (the end is the end of ``end_date``, or now if that is earlier). The shop:
* customers sign up over the whole three years, more and more of them; sources differ in value
  (referral and email customers buy more often, social-media customers less), ages 18–80 with a
  25–45 bulge, a female/male/other mix, 8 % businesses, ~20 % never buy (prospects);
* repeat purchases follow the BG/NBD story (Poisson purchasing at a gamma-distributed
  rate, dropping out with a beta-distributed probability after each purchase), so a
  BG/NBD model fitted on the orders recovers sensible parameters;
* order dates carry seasonality (November/December peak, summer bump), weekday and
  time-of-day patterns; baskets of 1–6 items favour each customer's preferred category;
  recent orders are still pending, processing or shipped;
* products live in a two-level category tree with brands, suppliers, apparel in colour/size
  variants (order lines and stock name them), stock in three warehouses (some low or out of
  stock) and a price history that order lines follow (the price in force on the order date);
* card sales at checkout (a few declined once, then retried), transfers and cheques as
  payments days later, refunds and chargebacks; loyalty points earned per order and
  reversed on refunds;
* tickets whose status follows their response and resolution times (recent ones open or in
  progress), several assignees, numbered CS + local day + sequence in time order;
  interactions, visits and their payments, a knowledge base, FAQs, saved segments, and
  campaigns sent to the segment's members of the day, with a status that fits their dates.

Sign-in accounts are created only on request (``with_demo_accounts``), since their passwords are
public. Arrays are generated with numpy; the big tables become frames one chunk at a time while
``crm.bulk.bulk_insert`` loads them (COPY on PostgreSQL), so a million orders take under a minute
and well under a gigabyte.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import bcrypt
import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Table, select

from crm.bulk import bulk_insert, checks_deferred, indexes_deferred, money, truncate_all
from crm.data_version import mark_data_changed
from crm.db import advance_sequences, holds_business_data
from crm.loyalty.history import tier_changes_frame
from crm.reference import ensure_reference_data
from crm.schema import (
    LOYALTY_TIERS,
    ORDER_STATUSES,
    REVENUE_ORDER_STATUSES,
    ROLES,
    TICKET_STATUSES,
    TRANSACTION_STATUSES,
    TRANSACTION_TYPES,
    audit_log,
    brands,
    campaign_recipients,
    campaigns,
    categories,
    customers,
    faqs,
    interactions,
    inventory,
    kb_article_votes,
    kb_articles,
    kb_categories,
    loyalty_ledger,
    loyalty_settings,
    loyalty_tier_changes,
    order_items,
    orders,
    price_history,
    product_variants,
    products,
    segments,
    stock_movements,
    suppliers,
    ticket_notes,
    tickets,
    transactions,
    users,
    visit_payments,
    visits,
    warehouses,
)
from crm.schema import PAYMENT_METHODS as ALL_PAYMENT_METHODS
from crm.settings import get_settings

__all__ = ["DEMO_ACCOUNTS", "DEMO_COLLEAGUES", "DemoDataExistsError", "DemoSize", "DemoSummary", "generate_demo"]

# Demo sign-ins (shown on the login page only in demo mode): username -> (role, password).
DEMO_ACCOUNTS: dict[str, tuple[str, str]] = {
    "admin": ("admin", "demo-admin"),
    "manager": ("manager", "demo-manager"),
    "analyst": ("analyst", "demo-analyst"),
    "agent": ("agent", "demo-agent"),
}
# The demo agent's support colleagues, so tickets have several assignees: username -> (role, full name).
# They are created with the demo accounts, with a random password nobody knows (an admin can reset it).
DEMO_COLLEAGUES: dict[str, tuple[str, str]] = {
    "jiwoo.kim": ("agent", "Ji-woo Kim"),
    "mei.tanaka": ("agent", "Mei Tanaka"),
    "lucas.garcia": ("agent", "Lucas Garcia"),
}
HISTORY_DAYS = 3 * 365  # three years of history make cohorts, CLV and year-over-year meaningful
TAX_RATE = 0.10
FREE_SHIPPING_FROM_CENTS = 5_000
SHIPPING_CENTS = 599

FIRST_NAMES_F = [
    "Emma",
    "Olivia",
    "Ava",
    "Sophia",
    "Mia",
    "Isabella",
    "Chloe",
    "Grace",
    "Hana",
    "Yuna",
    "Seo-yeon",
    "Mei",
    "Aiko",
    "Lucia",
    "Nora",
    "Lily",
    "Zoe",
    "Ella",
    "Sara",
    "Leah",
]
FIRST_NAMES_M = [
    "Liam",
    "Noah",
    "Oliver",
    "James",
    "Lucas",
    "Ethan",
    "Mason",
    "Leo",
    "Min-jun",
    "Ji-ho",
    "Wei",
    "Haruto",
    "Mateo",
    "Daniel",
    "Henry",
    "Jack",
    "Owen",
    "Ryan",
    "Adam",
    "Samuel",
]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Kim",
    "Lee",
    "Park",
    "Chen",
    "Wang",
    "Garcia",
    "Martin",
    "Brown",
    "Tanaka",
    "Sato",
    "Nguyen",
    "Rossi",
    "Muller",
    "Wilson",
    "Taylor",
    "Moore",
    "Clark",
    "Lopez",
]
CITIES = [
    ("Seoul", "KR"),
    ("Busan", "KR"),
    ("Tokyo", "JP"),
    ("Osaka", "JP"),
    ("Taipei", "TW"),
    ("New York", "US"),
    ("Chicago", "US"),
    ("San Francisco", "US"),
    ("London", "GB"),
    ("Manchester", "GB"),
    ("Berlin", "DE"),
    ("Paris", "FR"),
    ("Toronto", "CA"),
    ("Sydney", "AU"),
]
CITY_WEIGHTS = [14, 6, 10, 5, 6, 10, 6, 6, 9, 4, 6, 7, 6, 5]
# Source: (share of customers, purchase-rate multiplier, basket-size multiplier)
SOURCES = {
    "website": (0.30, 1.00, 1.00),
    "search": (0.18, 0.90, 0.95),
    "social_media": (0.20, 0.70, 0.85),
    "referral": (0.10, 1.50, 1.15),
    "email": (0.08, 1.30, 1.05),
    "store": (0.09, 1.10, 1.20),
    "partner": (0.05, 0.80, 1.30),
}
CATEGORY_TREE = {
    "Apparel": ["Tops", "Outerwear", "Shoes"],
    "Home": ["Kitchen", "Decor"],
    "Beauty": ["Skincare", "Makeup"],
    "Electronics": ["Audio", "Accessories"],
}
# Typical price (cents) per leaf category; prices are drawn log-normally around it.
LEAF_PRICE_CENTS = {
    "Tops": 2500,
    "Outerwear": 9000,
    "Shoes": 7000,
    "Kitchen": 2000,
    "Decor": 3500,
    "Skincare": 2800,
    "Makeup": 1800,
    "Audio": 8000,
    "Accessories": 1500,
}
BRAND_NAMES = ["Aurora", "Boreal", "Cascade", "Dune"]
# Relative order volume by month (Jan..Dec): November/December peak, summer bump.
MONTH_WEIGHTS = np.array([0.80, 0.75, 0.90, 0.95, 1.00, 1.05, 1.10, 1.05, 0.95, 1.00, 1.40, 1.60])
WEEKDAY_WEIGHTS = np.array([0.90, 0.90, 0.95, 1.00, 1.10, 1.25, 1.15])  # Monday..Sunday
HOUR_WEIGHTS = np.array([2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 10, 12, 11, 9, 8, 8, 9, 11, 13, 14, 12, 8, 4], float)
# How customers pay: individuals mostly by card, businesses mostly on invoice (bank transfer, cheque).
INDIVIDUAL_PAYMENT_WEIGHTS = {
    "credit_card": 0.52,
    "paypal": 0.20,
    "stripe": 0.15,
    "bank_transfer": 0.05,
    "cash": 0.05,
    "other": 0.03,
}
BUSINESS_PAYMENT_WEIGHTS = {"bank_transfer": 0.50, "credit_card": 0.30, "check": 0.10, "paypal": 0.05, "other": 0.05}
# Paid outside a card gateway: recorded as a `payment` when the money arrives, not as a checkout `sale`.
OFFLINE_METHODS = ("bank_transfer", "cash", "check")
# Order status by age: recent orders are still on their way, older ones delivered (or cancelled/refunded).
# (upper age in days, {status: probability}); the last bucket has no upper bound.
STATUS_BY_AGE: list[tuple[float, dict[str, float]]] = [
    (1, {"pending": 0.55, "processing": 0.40, "cancelled": 0.05}),
    (3, {"pending": 0.15, "processing": 0.45, "shipped": 0.35, "cancelled": 0.05}),
    (7, {"processing": 0.15, "shipped": 0.50, "delivered": 0.30, "cancelled": 0.05}),
    (14, {"processing": 0.02, "shipped": 0.15, "delivered": 0.76, "cancelled": 0.05, "refunded": 0.02}),
    (float("inf"), {"delivered": 0.91, "cancelled": 0.05, "refunded": 0.04}),
]
# Share of customers who ever buy (the rest stay prospects), as in most shops' CRM.
BUYER_SHARE = 0.8
# Ages 18–80: a beta curve puts most customers at 25–45 (median ~36); a tenth spread evenly over the
# range keeps a believable share of young adults (~11 % under 25) and of over-65s (~4 %).
AGE_RANGE = (18, 80)
AGE_BETA = (1.9, 4.0)
AGE_EVEN_SHARE = 0.1
# Sign-ups grow over the history: their density rises linearly from this share of its final level,
# so the first weeks already have customers (a new shop) and the last months the most.
ARRIVAL_START_SHARE = 0.25
# Nobody buys more than about once a week (the BG/NBD heavy tail stays believable). Over three years of
# growing sign-ups that leaves room for about 50 orders per customer; 40 keeps every seed well inside it.
MAX_ORDERS_PER_CUSTOMER = 40
MIN_CUSTOMERS = 10
# When a size asks for more repeats than drop-outs allow, customers are made more loyal until their lives
# could hold this many times the repeats wanted, so purchase rates, not lifetimes, do the fitting.
LIFE_HEADROOM = 1.5
# Apparel variants: colours and sizes, with how often each is bought.
VARIANT_COLOURS = {"Black": 0.45, "Navy": 0.30, "Sand": 0.25}
VARIANT_SIZES = {"S": 0.30, "M": 0.45, "L": 0.25}
APPAREL_LEAVES = ("Tops", "Outerwear", "Shoes")
PRODUCTS_PER_LEAF = 24
# Repricing: share of products repriced at least once, share of those repriced twice, and the steps.
REPRICED_SHARE = 0.45
TWICE_REPRICED_SHARE = 0.35
PRICE_STEPS = (0.85, 0.90, 0.95, 1.05, 1.08, 1.12)
# Rows per generated chunk of the big tables: bounds memory (frames exist one chunk at a time).
CHUNK_ROWS = 100_000


class DemoDataExistsError(RuntimeError):
    """The database already holds customers; pass replace=True to start over."""


@dataclass(frozen=True)
class DemoSize:
    customers: int = 2_000
    orders: int = 20_000


@dataclass(frozen=True)
class DemoSummary:
    rows: dict[str, int]
    seconds: float
    # Usernames of the demo sign-ins this load created; accounts that already existed are never touched.
    accounts_created: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Chunks:
    """A big table made ``CHUNK_ROWS`` rows at a time while it loads, so its whole frame never exists."""

    rows: int
    make: Callable[[int, int], pd.DataFrame]

    def frames(self) -> Iterator[pd.DataFrame]:
        for start in range(0, self.rows, CHUNK_ROWS):
            yield self.make(start, min(start + CHUNK_ROWS, self.rows))


@dataclass(frozen=True)
class _Staff:
    """Active users (ids) who appear in the demo data: ticket assignees, interaction owners, segment authors."""

    support: tuple[int, ...]
    sales: tuple[int, ...]
    owners: tuple[int, ...]


def _bcrypt(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()


def _stamp(now: datetime) -> dict[str, datetime]:
    return {"created_at": now, "updated_at": now}


def _numbered(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """'PREFIX000123'-style labels built by Arrow string kernels (no Python string per row: less memory)."""
    digits = pd.Series(numbers, dtype="int64").astype("string[pyarrow]").str.zfill(width)
    return prefix + digits


def _seconds(moment: datetime) -> int:
    """A naive UTC datetime as epoch seconds: every generated time is an int64 array of those."""
    return int(np.datetime64(moment, "s").astype(np.int64))


def _datetimes(seconds: np.ndarray) -> np.ndarray:
    return np.asarray(seconds, dtype=np.int64).astype("datetime64[s]").astype("datetime64[us]")


def _optional_datetimes(seconds: np.ndarray, present: np.ndarray) -> pd.Series:
    return pd.Series(_datetimes(seconds)).where(present)


def _optional_ids(values: np.ndarray, present: np.ndarray) -> pd.arrays.IntegerArray:
    return pd.arrays.IntegerArray(np.where(present, values, 0).astype(np.int64), ~np.asarray(present, dtype=bool))


def _codes(rng: np.random.Generator, weights: Sequence[float], size: int) -> np.ndarray:
    """Category codes 0..len(weights)-1 drawn with ``weights``; int8 keeps a million rows in a megabyte."""
    cumulative = np.cumsum(np.asarray(weights, dtype=float))
    cumulative /= cumulative[-1]
    codes = np.searchsorted(cumulative, rng.uniform(size=size), side="right")
    return np.minimum(codes, len(cumulative) - 1).astype(np.int8)


def _labels(options: Sequence[str], codes: np.ndarray) -> np.ndarray:
    return np.asarray(options, dtype=object)[codes]


def _choose(rng: np.random.Generator, options: Sequence[str], weights: Sequence[float], size: int) -> np.ndarray:
    return _labels(options, _codes(rng, weights, size))


def _shelf_price(cents: np.ndarray) -> np.ndarray:
    """A shop price in cents ending in .99, at least 2.99."""
    return np.maximum(np.round(np.asarray(cents, dtype=float) / 100) * 100 - 1, 299).astype(np.int64)


def _pick(draws: np.ndarray, ids: tuple[int, ...]) -> pd.arrays.IntegerArray:
    """Uniform draws in [0, 1) as one of ``ids`` (NaN, or nobody to pick: missing)."""
    missing = np.isnan(draws) | (len(ids) == 0)
    choices = np.asarray(ids or (0,), dtype=np.int64)
    index = np.minimum(np.floor(np.nan_to_num(draws) * choices.size).astype(np.int64), choices.size - 1)
    return pd.arrays.IntegerArray(np.where(missing, 0, choices[index]), missing)


def _lives(draw: np.ndarray, dropout: np.ndarray, ceiling: np.ndarray, wanted: int) -> np.ndarray:
    """Purchases after the first before each customer drops out: geometric, as in BG/NBD (inverse CDF of ``draw``).

    When a size asks for more repeat purchases than those lives can hold, every drop-out probability is
    shrunk by one factor (a more loyal clientele, found by bisection) until they can hold
    ``LIFE_HEADROOM`` times the repeats wanted, or as many as the weekly ceiling allows.
    """

    def lives(factor: float) -> np.ndarray:
        probability = np.clip(dropout * factor, 1e-12, 1 - 1e-12)
        with np.errstate(divide="ignore"):
            return np.minimum(np.floor(np.log(draw) / np.log1p(-probability)), ceiling)

    needed = wanted * LIFE_HEADROOM
    factor = 1.0
    if lives(1.0).sum() < needed:
        low, high = 0.0, 1.0  # capacity falls as the factor grows
        for _ in range(40):
            middle = (low + high) / 2
            low, high = (middle, high) if lives(middle).sum() >= needed else (low, middle)
        factor = low
    return lives(factor).astype(np.int64)


def _rate_scale(raw: np.ndarray, life: np.ndarray, ceiling: np.ndarray, wanted: int) -> float:
    """One factor on every purchase rate so that expected repeats ≈ ``wanted`` (bisection on a log scale, bounded)."""
    if wanted <= 0:
        return 0.0
    low, high = 1e-6, 1e6
    for _ in range(80):
        middle = np.sqrt(low * high)
        expected = np.minimum(life, np.minimum(raw * middle, ceiling)).sum()
        low, high = (middle, high) if expected < wanted else (low, middle)
        if high / low < 1.0001:
            break
    return float(high)


def _next_after(sorted_keys: np.ndarray, customer: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Offset of each customer's first order at or after ``offset`` (-1 when none); keys are customer<<32 | offset."""
    query = (customer.astype(np.int64) << 32) | np.maximum(offset, 0).astype(np.int64)
    position = np.minimum(np.searchsorted(sorted_keys, query), max(sorted_keys.size - 1, 0))
    if sorted_keys.size == 0:
        return np.full(customer.size, -1, dtype=np.int64)
    found = sorted_keys[position]
    same = ((found >> 32) == customer) & (found >= query)
    return np.where(same, found & 0xFFFFFFFF, -1)


_ORDER = {name: code for code, name in enumerate(ORDER_STATUSES)}
_METHOD = {name: code for code, name in enumerate(ALL_PAYMENT_METHODS)}
_TX_TYPE = {name: code for code, name in enumerate(TRANSACTION_TYPES)}
_TX_STATUS = {name: code for code, name in enumerate(TRANSACTION_STATUSES)}
_TICKET = {name: code for code, name in enumerate(TICKET_STATUSES)}
# What the payment gateway answered, by transaction status code (TRANSACTION_STATUSES order).
GATEWAY_RESPONSES = ("awaiting payment", "approved", "card_declined", "voided", "refunded")
LEDGER_REASONS = ("Points earned on order (1 point per 1.00 spent)", "Points reversed: order refunded")
DAY = 86_400


class _Builder:
    """Generates the tables step by step; every step draws from one seeded generator.

    Big tables (orders, items, transactions, loyalty ledger) are kept as compact numpy arrays and
    turned into frames chunk by chunk while loading (``_Chunks``).
    """

    def __init__(self, size: DemoSize, seed: int, end: datetime, now: datetime) -> None:
        self.size = size
        self.rng = np.random.default_rng(seed)
        self.end = end
        self.end_s = _seconds(end)
        self.start = end - timedelta(days=HISTORY_DAYS)
        self.start_s = _seconds(self.start)
        self.now = now
        self.frames: dict[str, pd.DataFrame | _Chunks] = {}

    # --- reference data --------------------------------------------------------------
    def reference(self) -> None:
        stamp = _stamp(self.start)
        self.frames["brands"] = pd.DataFrame(
            [
                {"id": i + 1, "name": name, "description": f"{name} house brand", **stamp}
                for i, name in enumerate(BRAND_NAMES)
            ]
        )
        self.frames["suppliers"] = pd.DataFrame(
            [
                {
                    "id": i + 1,
                    "name": f"{name} Supply Co.",
                    "contact_name": f"{first} {last}",
                    "email": f"orders@{name.lower()}-supply.test",
                    "phone": f"+1-555-010{i}",
                    "country": country,
                    **stamp,
                }
                for i, (name, first, last, country) in enumerate(
                    [
                        ("Northwind", "Anna", "Berg", "US"),
                        ("Hanil", "Ji-woo", "Han", "KR"),
                        ("Sakura", "Ren", "Ito", "JP"),
                        ("Lumen", "Paul", "Roy", "FR"),
                        ("Vista", "Maya", "Cole", "GB"),
                        ("Formosa", "Lin", "Ho", "TW"),
                    ]
                )
            ]
        )
        category_rows = []
        leaf_ids: dict[str, int] = {}
        next_id = 1
        for parent, leaves in CATEGORY_TREE.items():
            parent_id = next_id
            category_rows.append({"id": parent_id, "name": parent, "parent_id": None, **stamp})
            next_id += 1
            for leaf in leaves:
                category_rows.append({"id": next_id, "name": leaf, "parent_id": parent_id, **stamp})
                leaf_ids[leaf] = next_id
                next_id += 1
        self.frames["categories"] = pd.DataFrame(category_rows).astype({"parent_id": "Int64"})
        self.leaf_ids = leaf_ids
        self.frames["warehouses"] = pd.DataFrame(
            [
                {"id": 1, "code": "SEL", "name": "Seoul hub", "city": "Seoul", **stamp},
                {"id": 2, "code": "NYC", "name": "New York hub", "city": "New York", **stamp},
                {"id": 3, "code": "LON", "name": "London hub", "city": "London", **stamp},
            ]
        )

    def catalogue(self) -> None:
        rng = self.rng
        leaves = list(self.leaf_ids)
        count = PRODUCTS_PER_LEAF * len(leaves)
        leaf_of = np.repeat(np.arange(len(leaves)), PRODUCTS_PER_LEAF)
        base = np.array([LEAF_PRICE_CENTS[leaves[i]] for i in leaf_of])
        launch_cents = _shelf_price(base * rng.lognormal(0, 0.35, count))
        cost_cents = (launch_cents * rng.uniform(0.35, 0.6, count)).astype(np.int64)
        adjectives = ["Classic", "Essential", "Premium", "Everyday", "Studio", "Urban", "Nordic", "Soft"]
        singular = [leaf[:-1] if leaf.endswith("s") else leaf for leaf in leaves]
        names = [
            f"{adjectives[i % len(adjectives)]} {singular[leaf_of[i]]} {i // len(adjectives) % PRODUCTS_PER_LEAF + 1}"
            for i in range(count)
        ]
        # Repricing: up to two price changes per product (markdowns and increases). The price in force at
        # an order's date is what its items cost, so price_history and order_items tell one story.
        repriced = rng.uniform(size=count) < REPRICED_SHARE
        twice = repriced & (rng.uniform(size=count) < TWICE_REPRICED_SHARE)
        first_day = rng.uniform(60, HISTORY_DAYS - 120, count)
        second_day = first_day + (HISTORY_DAYS - 30 - first_day) * rng.uniform(0.2, 1.0, count)
        steps = rng.choice(np.asarray(PRICE_STEPS), size=(count, 2))
        price_steps = np.empty((count, 3), dtype=np.int64)
        price_steps[:, 0] = launch_cents
        price_steps[:, 1] = np.where(repriced, _shelf_price(launch_cents * steps[:, 0]), launch_cents)
        price_steps[:, 2] = np.where(twice, _shelf_price(price_steps[:, 1] * steps[:, 1]), price_steps[:, 1])
        # Changes happen at 06:00 UTC, before the busy hours; "never" is the largest int64.
        change_at = np.full((count, 2), np.iinfo(np.int64).max, dtype=np.int64)
        change_at[repriced, 0] = (self.start_s + first_day.astype(np.int64) * DAY + 6 * 3600)[repriced]
        change_at[twice, 1] = (self.start_s + second_day.astype(np.int64) * DAY + 6 * 3600)[twice]
        price_cents = price_steps[:, 2]
        self.product_leaf = leaf_of
        self.price_steps = price_steps
        self.price_change_at = change_at
        # Popularity within a category follows a Zipf-like curve: a few best sellers.
        self.product_popularity = 1.0 / (1 + (np.arange(count) % PRODUCTS_PER_LEAF)) ** 0.8
        self.product_brand = rng.integers(1, len(BRAND_NAMES) + 1, count)
        created = self.start - timedelta(days=30)
        self.frames["products"] = pd.DataFrame(
            {
                "id": np.arange(1, count + 1),
                "sku": [f"SKU-{i + 1:05d}" for i in range(count)],
                "name": names,
                "description": [f"{name}: demo product." for name in names],
                "category_id": [self.leaf_ids[leaves[i]] for i in leaf_of],
                "brand_id": self.product_brand,
                "supplier_id": rng.integers(1, 7, count),
                "price": money(price_cents),
                "cost": money(cost_cents),
                "weight_kg": np.round(rng.uniform(0.1, 3.0, count), 2),
                "length_cm": np.round(rng.uniform(5, 60, count), 1),
                "width_cm": np.round(rng.uniform(5, 40, count), 1),
                "height_cm": np.round(rng.uniform(1, 30, count), 1),
                "image_url": None,
                "is_active": True,
                "created_at": created,
                "updated_at": created,
            }
        )
        # Apparel comes in colours and sizes; its order lines and stock name the variant.
        apparel = np.flatnonzero(np.isin(np.asarray(leaves)[leaf_of], APPAREL_LEAVES))
        per_product = len(VARIANT_COLOURS) * len(VARIANT_SIZES)
        self.variant_first = np.zeros(count, dtype=np.int64)  # id of a product's first variant; 0: none
        self.variant_first[apparel] = 1 + per_product * np.arange(apparel.size)
        variant_rows = []
        for product_index in apparel:
            for colour in VARIANT_COLOURS:
                for size in VARIANT_SIZES:
                    variant_rows.append(
                        {
                            "id": len(variant_rows) + 1,
                            "product_id": product_index + 1,
                            "sku": f"SKU-{product_index + 1:05d}-{colour[:3].upper()}-{size}",
                            "color": colour,
                            "size": size,
                            "price": None,  # NULL: the product's price
                            "created_at": created,
                            "updated_at": created,
                        }
                    )
        self.frames["product_variants"] = pd.DataFrame(variant_rows).astype({"price": "float64"})
        launch = pd.DataFrame(
            {
                "product_id": np.arange(1, count + 1),
                "old_price": np.nan,
                "new_price": money(launch_cents),
                "changed_at": created,
            }
        )
        changes = []
        for step in (0, 1):
            changed = np.flatnonzero(
                (change_at[:, step] < np.iinfo(np.int64).max) & (price_steps[:, step + 1] != price_steps[:, step])
            )
            changes.append(
                pd.DataFrame(
                    {
                        "product_id": changed + 1,
                        "old_price": money(price_steps[changed, step]),
                        "new_price": money(price_steps[changed, step + 1]),
                        "changed_at": _datetimes(change_at[changed, step]),
                    }
                )
            )
        history = pd.concat([launch, *changes], ignore_index=True)
        self.frames["price_history"] = history.sort_values(["changed_at", "product_id"], kind="stable").reset_index(
            drop=True
        )

    # --- customers -------------------------------------------------------------------
    def customer_rows(self) -> None:
        rng, n = self.rng, self.size.customers
        # Sign-ups over the whole history, growing: density ∝ intercept + x on [0, 1], sampled by inverse CDF.
        intercept = ARRIVAL_START_SHARE / (1 - ARRIVAL_START_SHARE)
        position = -intercept + np.sqrt(intercept**2 + rng.uniform(size=n) * (2 * intercept + 1))
        created_s = np.sort(self.start_s + (position * HISTORY_DAYS * DAY).astype(np.int64))
        created = _datetimes(created_s)
        gender = _choose(rng, ["female", "male", "other"], [0.55, 0.42, 0.03], n)
        youngest, oldest = AGE_RANGE
        position_in_range = np.where(rng.uniform(size=n) < AGE_EVEN_SHARE, rng.uniform(size=n), rng.beta(*AGE_BETA, n))
        age = youngest + np.floor(position_in_range * (oldest - youngest + 1)).astype(np.int64)
        birth_offset = np.floor((age + rng.uniform(0, 1, n)) * 365.25).astype(np.int64)  # age in years at the end
        birth = (np.datetime64(self.end.date()) - birth_offset.astype("timedelta64[D]")).astype("datetime64[D]")
        has_birth = rng.uniform(size=n) < 0.9  # some customers never tell their birthday
        source_names = list(SOURCES)
        source = _choose(rng, source_names, [SOURCES[s][0] for s in source_names], n)
        business = rng.uniform(size=n) < 0.08
        first_f = np.asarray(FIRST_NAMES_F, dtype=object)[rng.integers(0, len(FIRST_NAMES_F), n)]
        first_m = np.asarray(FIRST_NAMES_M, dtype=object)[rng.integers(0, len(FIRST_NAMES_M), n)]
        first = np.where(gender == "male", first_m, first_f)
        last = np.asarray(LAST_NAMES, dtype=object)[rng.integers(0, len(LAST_NAMES), n)]
        ids = np.arange(1, n + 1)
        emails = [
            f"{f.lower().replace('-', '')}.{lname.lower()}{i}@example.com"
            for f, lname, i in zip(first, last, ids, strict=True)
        ]
        phones = [f"+1-555-{i // 10000 % 10000:04d}-{i % 10000:04d}" for i in ids + 1_000_000]
        city_index = rng.choice(len(CITIES), size=n, p=np.array(CITY_WEIGHTS) / sum(CITY_WEIGHTS))
        preferred_leaf = rng.integers(0, len(self.leaf_ids), n)
        tags = _choose(rng, ["", "vip", "newsletter", "wholesale", "newsletter,vip"], [0.6, 0.08, 0.25, 0.04, 0.03], n)
        self.customer_created_s = created_s
        self.customer_source = source
        source_code = _codes_of(source, source_names)
        self.customer_rate = np.array([SOURCES[s][1] for s in source_names])[source_code]
        self.customer_basket = np.array([SOURCES[s][2] for s in source_names])[source_code]
        self.customer_business = business
        self.customer_newsletter = np.isin(tags, ["newsletter", "newsletter,vip"])
        self.customer_preferred_leaf = preferred_leaf
        self.frames["customers"] = pd.DataFrame(
            {
                "id": ids,
                "external_id": _numbered("DEMO-", ids, 7),
                "first_name": first,
                "last_name": last,
                "email": emails,
                "email_normalized": emails,
                "phone": phones,
                "phone_normalized": [p.replace("+", "").replace("-", "") for p in phones],
                "company": np.where(business, [f"{lname} Trading" for lname in last], None),
                "address": [f"{rng_num} Market Street" for rng_num in rng.integers(1, 999, n)],
                "city": [CITIES[i][0] for i in city_index],
                "country": [CITIES[i][1] for i in city_index],
                "birth_date": pd.Series(birth.astype(object)).where(has_birth, None),
                "gender": gender,
                "source": source,
                "customer_type": np.where(business, "business", "individual"),
                "status": "active",
                "tags": tags,
                "preferred_season": _choose(rng, ["spring", "summer", "autumn", "winter"], [1, 1, 1, 1], n),
                "preferred_category_id": [self.leaf_ids[list(self.leaf_ids)[i]] for i in preferred_leaf],
                "notes": None,
                "brand_id": rng.integers(1, len(BRAND_NAMES) + 1, n),
                "loyalty_points": 0,
                # Newsletter subscribers and 3 in 5 others agreed to marketing (no random draw: the rest is unchanged).
                "marketing_consent": self.customer_newsletter | (ids % 5 < 3),
                "last_contact_at": pd.NaT,
                "created_at": created,
                "updated_at": created,
            }
        )

    # --- orders (BG/NBD purchasing) -------------------------------------------------
    def _purchase_times(self) -> tuple[np.ndarray, np.ndarray]:
        """(customer index, order time) pairs following BG/NBD, exactly ``size.orders`` of them."""
        rng, n, target, end_s = self.rng, self.size.customers, self.size.orders, self.end_s
        buying = rng.uniform(size=n) < BUYER_SHARE
        first_all = self.customer_created_s + (rng.exponential(7, n) * DAY).astype(np.int64)
        # Customers whose first order would fall after the end have not bought yet.
        can_buy = first_all <= end_s
        weeks_left = np.floor((end_s - first_all) / (7 * DAY)).clip(0)
        if (can_buy & buying).sum() + weeks_left[can_buy & buying].sum() < target:
            buying = np.ones(n, dtype=bool)  # so many orders per customer that every customer buys
        buyers = np.flatnonzero(buying & can_buy)
        first = first_all[buyers]
        if buyers.size > target:  # fewer orders than would-be buyers: only some of them have bought so far
            chosen = np.sort(rng.choice(buyers.size, target, replace=False))
            buyers, first = buyers[chosen], first[chosen]
        if buyers.size == 0:
            raise ValueError(f"None of the {n:,} demo customers could buy before the end date: use more customers.")
        horizon_days = (end_s - first) / DAY
        # Heterogeneous purchase rates (per day) and drop-out probabilities, as in BG/NBD.
        rate = rng.gamma(0.9, 1.0, buyers.size) * self.customer_rate[buyers]
        dropout = rng.beta(1.0, 3.5, buyers.size)
        life_draw = rng.uniform(size=buyers.size)
        repeats_wanted = target - buyers.size
        # Nobody buys more than about once a week, however keen: keeps the heavy tail believable
        # (customers whose first order is under a week old have made no repeat purchase yet).
        ceiling = np.floor(horizon_days / 7.0).astype(np.int64)
        if repeats_wanted > ceiling.sum():
            possible = buyers.size + int(ceiling.sum())
            raise ValueError(
                f"{n:,} customers cannot place {target:,} orders: buying at most weekly, these customers have "
                f"room for about {possible:,}. Use more customers or fewer orders."
            )
        life = _lives(life_draw, dropout, ceiling, repeats_wanted)
        raw = rate * horizon_days
        scale = _rate_scale(raw, life, ceiling, repeats_wanted)
        # Purchases the customer would make if they never dropped out (rate capped: finite for Poisson).
        arrivals = np.minimum(rng.poisson(np.minimum(raw * scale, ceiling)), ceiling)
        counts = self._exactly(np.minimum(life, arrivals), arrivals, raw, ceiling, repeats_wanted)
        arrivals = np.maximum(arrivals, counts)
        owners = np.repeat(np.arange(buyers.size), counts)
        # Given N Poisson arrivals in the window, arrival times are uniform order statistics; the first k
        # of them are cumsum(E_1..E_k) / (E_1 + … + E_{N+1}) with E exponential. The customer's last
        # purchase is the k-th, so customers who dropped out early stop buying early (visible churn).
        cumulative = np.cumsum(rng.exponential(1.0, owners.size))
        group_end = np.cumsum(counts)
        before = np.r_[0.0, cumulative][group_end - counts]  # running sum before each customer's first gap
        within = cumulative - np.repeat(before, counts)
        rest = rng.gamma(np.maximum(arrivals - counts + 1, 1).astype(float))
        has = counts > 0
        totals = np.ones(buyers.size)
        totals[has] = within[group_end[has] - 1] + rest[has]
        fraction = within / np.repeat(totals, counts)
        span = (end_s - first)[owners]
        repeat_times = first[owners] + (fraction * span).astype(np.int64)
        repeat_times = self._seasonal(repeat_times, first[owners], end_s)
        return np.concatenate([buyers, buyers[owners]]), np.concatenate([first, repeat_times])

    def _exactly(
        self, counts: np.ndarray, arrivals: np.ndarray, raw: np.ndarray, ceiling: np.ndarray, wanted: int
    ) -> np.ndarray:
        """Adjust repeat counts to sum to ``wanted`` without passing anyone's weekly ceiling."""
        rng = self.rng
        surplus = int(counts.sum()) - wanted
        if surplus > 0:  # drop the latest repeats of random customers (as if they left a little earlier)
            owner = np.repeat(np.arange(counts.size), counts)
            counts = counts - np.bincount(rng.choice(owner, surplus, replace=False), minlength=counts.size)
        for _ in range(50):  # one more purchase for random customers with room, preferring those cut short
            missing = wanted - int(counts.sum())
            if missing <= 0:
                break
            room = ceiling - counts
            weights = raw * np.where(counts < arrivals, 1.0, 0.05) * (room > 0)
            if weights.sum() <= 0:
                weights = (room > 0).astype(float)
            extra = np.bincount(rng.choice(counts.size, missing, p=weights / weights.sum()), minlength=counts.size)
            counts = counts + np.minimum(extra, room)
        missing = wanted - int(counts.sum())
        if missing > 0:  # right at capacity: fill the remaining room in customer order
            room = ceiling - counts
            counts = counts + np.bincount(np.repeat(np.arange(counts.size), room)[:missing], minlength=counts.size)
        return counts

    def _seasonal(self, times: np.ndarray, lower: np.ndarray, upper: int) -> np.ndarray:
        """Redraw times rejected by month/weekday weights, then set a realistic time of day."""
        rng = self.rng
        peak = MONTH_WEIGHTS.max() * WEEKDAY_WEIGHTS.max()
        original = times.copy()
        for _ in range(6):
            stamps = times.astype("datetime64[s]")
            months = stamps.astype("datetime64[M]").astype(int) % 12
            weekdays = (stamps.astype("datetime64[D]").astype(int) + 3) % 7  # 1970-01-01 was a Thursday
            accept = rng.uniform(size=times.size) < MONTH_WEIGHTS[months] * WEEKDAY_WEIGHTS[weekdays] / peak
            redo = np.flatnonzero(~accept)
            if redo.size == 0:
                break
            # Redraw within a month of the original time: seasons shift, each customer's active span stays.
            shifted = original[redo] + rng.integers(-30 * DAY, 30 * DAY, redo.size)
            # A shift past either end keeps the original time (clipping would pile orders onto the last day).
            inside = (shifted >= lower[redo]) & (shifted <= upper)
            times[redo] = np.where(inside, shifted, original[redo])
        day_start = times - times % DAY
        hours = rng.choice(24, size=times.size, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
        seconds = day_start + hours * 3600 + rng.integers(0, 3600, times.size)
        return np.where((seconds >= lower) & (seconds <= upper), seconds, times)

    def _order_status(self, age_days: np.ndarray) -> np.ndarray:
        """Status codes by age: recent orders still on their way, older ones delivered, cancelled or refunded."""
        bucket = np.searchsorted([upper for upper, _mix in STATUS_BY_AGE[:-1]], age_days, side="right")
        draw = self.rng.uniform(size=age_days.size)
        status = np.empty(age_days.size, dtype=np.int8)
        for index, (_upper, mix) in enumerate(STATUS_BY_AGE):
            inside = bucket == index
            cumulative = np.cumsum(list(mix.values()))
            picked = np.minimum(np.searchsorted(cumulative / cumulative[-1], draw[inside], side="right"), len(mix) - 1)
            status[inside] = np.asarray([_ORDER[name] for name in mix], dtype=np.int8)[picked]
        return status

    def _payment_methods(self, business: np.ndarray) -> np.ndarray:
        codes = np.empty(business.size, dtype=np.int8)
        for is_business, mix in ((False, INDIVIDUAL_PAYMENT_WEIGHTS), (True, BUSINESS_PAYMENT_WEIGHTS)):
            inside = business == is_business
            picked = _codes(self.rng, list(mix.values()), int(inside.sum()))
            codes[inside] = np.asarray([_METHOD[name] for name in mix], dtype=np.int8)[picked]
        return codes

    def order_rows(self) -> None:
        rng = self.rng
        customer_index, times = self._purchase_times()
        by_time = np.argsort(times, kind="stable")
        customer_index, times = customer_index[by_time].astype(np.int32), times[by_time]
        del by_time
        m = times.size
        items_per_order = np.clip(1 + rng.poisson(1.5 * self.customer_basket[customer_index]), 1, 6)
        item_order = np.repeat(np.arange(m, dtype=np.int32), items_per_order)
        item_count = item_order.size
        # Products: half from the customer's preferred category, half from overall popularity.
        product_count = self.product_leaf.size
        popularity = self.product_popularity / self.product_popularity.sum()
        any_product = rng.choice(product_count, size=item_count, p=popularity)
        preferred_leaf = self.customer_preferred_leaf[customer_index][item_order]
        within = np.minimum(rng.zipf(1.6, item_count) - 1, PRODUCTS_PER_LEAF - 1)
        preferred_product = preferred_leaf * PRODUCTS_PER_LEAF + within
        del preferred_leaf, within
        product = np.where(rng.uniform(size=item_count) < 0.5, preferred_product, any_product)
        del any_product, preferred_product
        quantity = np.where(rng.uniform(size=item_count) < 0.85, 1, rng.integers(2, 4, item_count)).astype(np.int8)
        # Apparel lines name a colour and size; most buy black, medium.
        colour = _codes(rng, list(VARIANT_COLOURS.values()), item_count)
        size = _codes(rng, list(VARIANT_SIZES.values()), item_count)
        first_variant = self.variant_first[product]
        variant = np.where(first_variant > 0, first_variant + colour * len(VARIANT_SIZES) + size, 0).astype(np.int32)
        del colour, size, first_variant
        # Each line costs the price in force on the order date (price_history).
        item_times = times[item_order]
        step = (item_times >= self.price_change_at[product, 0]).astype(np.int64)
        step += item_times >= self.price_change_at[product, 1]
        del item_times
        unit_cents = self.price_steps[product, step].astype(np.int32)
        del step
        subtotal = np.bincount(item_order, weights=unit_cents * quantity.astype(np.int64), minlength=m).astype(np.int64)
        tax = np.round(subtotal * TAX_RATE).astype(np.int64)
        shipping = np.where(subtotal >= FREE_SHIPPING_FROM_CENTS, 0, SHIPPING_CENTS)
        discount = np.where(rng.uniform(size=m) < 0.15, np.round(subtotal * 0.10), 0).astype(np.int64)
        self.order_customer = customer_index
        self.order_times = times
        self.order_status = self._order_status((self.end_s - times) / DAY)
        self.order_method = self._payment_methods(self.customer_business[customer_index])
        self.order_subtotal_cents = subtotal
        self.order_tax_cents = tax
        self.order_shipping_cents = shipping.astype(np.int64)
        self.order_discount_cents = discount
        self.order_total_cents = subtotal + tax + shipping - discount
        self.order_warehouse = rng.integers(1, 4, m).astype(np.int8)
        self.order_brand = self.product_brand[product[np.cumsum(items_per_order) - items_per_order]].astype(np.int8)
        self.item_order = item_order
        self.item_product = product.astype(np.int32)
        self.item_variant = variant
        self.item_quantity = quantity
        self.item_unit_cents = unit_cents
        self.frames["orders"] = _Chunks(m, self._order_chunk)
        self.frames["order_items"] = _Chunks(item_count, self._item_chunk)

    def _order_chunk(self, start: int, stop: int) -> pd.DataFrame:
        ids = np.arange(start + 1, stop + 1)
        dates = _datetimes(self.order_times[start:stop])
        return pd.DataFrame(
            {
                "id": ids,
                "order_number": _numbered("ORD-", ids, 8),
                "customer_id": self.order_customer[start:stop] + 1,
                "brand_id": self.order_brand[start:stop],
                "status": _labels(ORDER_STATUSES, self.order_status[start:stop]),
                "order_date": dates,
                "subtotal": money(self.order_subtotal_cents[start:stop]),
                "tax": money(self.order_tax_cents[start:stop]),
                "shipping": money(self.order_shipping_cents[start:stop]),
                "discount": money(self.order_discount_cents[start:stop]),
                "total": money(self.order_total_cents[start:stop]),
                "payment_method": _labels(ALL_PAYMENT_METHODS, self.order_method[start:stop]),
                "warehouse_id": self.order_warehouse[start:stop],
                "created_at": dates,
                "updated_at": dates,
            }
        )

    def _item_chunk(self, start: int, stop: int) -> pd.DataFrame:
        dates = _datetimes(self.order_times[self.item_order[start:stop]])
        variant = self.item_variant[start:stop]
        return pd.DataFrame(
            {
                "id": np.arange(start + 1, stop + 1),
                "order_id": self.item_order[start:stop] + 1,
                "product_id": self.item_product[start:stop] + 1,
                "variant_id": _optional_ids(variant, variant > 0),
                "quantity": self.item_quantity[start:stop],
                "unit_price": money(self.item_unit_cents[start:stop]),
                "created_at": dates,
                "updated_at": dates,
            }
        )

    def transaction_rows(self) -> None:
        rng, end_s = self.rng, self.end_s
        m = self.order_times.size
        status, method, placed = self.order_status, self.order_method, self.order_times
        offline = np.isin(method, [_METHOD[name] for name in OFFLINE_METHODS])
        # Cards are charged at checkout (a `sale`); transfers and cheques arrive one to seven days later
        # and cash at once (a `payment`).
        arrives = rng.uniform(1, 7, m) * DAY * (method != _METHOD["cash"])
        processed = placed + np.where(offline, arrives, rng.uniform(5, 120, m)).astype(np.int64)
        tx_status = np.full(m, _TX_STATUS["completed"], dtype=np.int8)
        cancelled = status == _ORDER["cancelled"]
        tx_status[cancelled] = _TX_STATUS["cancelled"]
        # A declined card is why many orders are cancelled.
        tx_status[cancelled & ~offline & (rng.uniform(size=m) < 0.4)] = _TX_STATUS["failed"]
        # Pending orders, and money not in by the end (a transfer on its way), wait since the order was placed.
        waiting = (status == _ORDER["pending"]) | ((processed > end_s) & (tx_status == _TX_STATUS["completed"]))
        tx_status[waiting] = _TX_STATUS["pending"]
        processed = np.where(waiting | (processed > end_s), placed, processed)
        # Some cards are declined once and go through on a second try minutes later.
        retry_after = rng.uniform(60, 1800, m).astype(np.int64)
        retried = np.flatnonzero(
            ~offline
            & (tx_status == _TX_STATUS["completed"])
            & (rng.uniform(size=m) < 0.02)
            & (processed + retry_after <= end_s)
        )
        declined_at = processed[retried]
        processed[retried] += retry_after[retried]
        # Refunds (and a tenth as chargebacks) come days or weeks after the payment, never after the end.
        refunded = np.flatnonzero(status == _ORDER["refunded"])
        disputed = rng.uniform(size=refunded.size) < 0.1
        paid = processed[refunded]
        wanted = np.where(disputed, rng.uniform(20, 60, refunded.size), rng.uniform(3, 21, refunded.size)) * DAY
        returned = paid + np.minimum(wanted, (end_s - paid) * rng.uniform(0.3, 1.0, refunded.size)).astype(np.int64)
        self.refunded_orders, self.refund_times = refunded, returned
        order_index = np.concatenate([np.arange(m), retried, refunded]).astype(np.int32)
        kind = np.concatenate(
            [
                np.where(offline, _TX_TYPE["payment"], _TX_TYPE["sale"]).astype(np.int8),
                np.full(retried.size, _TX_TYPE["sale"], dtype=np.int8),
                np.where(disputed, _TX_TYPE["chargeback"], _TX_TYPE["refund"]).astype(np.int8),
            ]
        )
        statuses = np.concatenate(
            [
                tx_status,
                np.full(retried.size, _TX_STATUS["failed"], dtype=np.int8),
                np.full(refunded.size, _TX_STATUS["completed"], dtype=np.int8),
            ]
        )
        when = np.concatenate([processed, declined_at, returned])
        # Transaction numbers follow processing time.
        by_time = np.argsort(when, kind="stable")
        self.tx_order, self.tx_type, self.tx_status, self.tx_time = (
            order_index[by_time],
            kind[by_time],
            statuses[by_time],
            when[by_time],
        )
        self.frames["transactions"] = _Chunks(by_time.size, self._transaction_chunk)

    def _transaction_chunk(self, start: int, stop: int) -> pd.DataFrame:
        ids = np.arange(start + 1, stop + 1)
        order_index = self.tx_order[start:stop]
        status = self.tx_status[start:stop]
        when = _datetimes(self.tx_time[start:stop])
        return pd.DataFrame(
            {
                "id": ids,
                "transaction_number": _numbered("TX-", ids, 9),
                "customer_id": self.order_customer[order_index] + 1,
                "order_id": order_index + 1,
                "transaction_type": _labels(TRANSACTION_TYPES, self.tx_type[start:stop]),
                "status": _labels(TRANSACTION_STATUSES, status),
                "method": _labels(ALL_PAYMENT_METHODS, self.order_method[order_index]),
                "amount": money(self.order_total_cents[order_index]),
                "currency": "USD",
                "gateway_ref": _numbered("gw_", ids * 7919, 12),
                "gateway_response": _labels(GATEWAY_RESPONSES, status),
                "processed_at": when,
                "created_at": when,
                "updated_at": when,
            }
        )

    def loyalty_rows(self) -> None:
        """One ledger entry per order that earns points (1 per whole 1.00), and a reversal per refund."""
        n = self.size.customers
        points = (self.order_total_cents // 100).astype(np.int64)
        earning = np.isin(self.order_status, [_ORDER[s] for s in (*REVENUE_ORDER_STATUSES, "refunded")])
        earned = np.flatnonzero(earning & (points > 0))
        reversed_mask = points[self.refunded_orders] > 0
        reversed_orders = self.refunded_orders[reversed_mask]
        ledger_order = np.concatenate([earned, reversed_orders]).astype(np.int32)
        ledger_points = np.concatenate([points[earned], -points[reversed_orders]]).astype(np.int32)
        ledger_time = np.concatenate([self.order_times[earned], self.refund_times[reversed_mask]])
        reason = np.concatenate([np.zeros(earned.size, np.int8), np.ones(reversed_orders.size, np.int8)])
        by_time = np.argsort(ledger_time, kind="stable")
        self.ledger_order, self.ledger_points = ledger_order[by_time], ledger_points[by_time]
        self.ledger_time, self.ledger_reason = ledger_time[by_time], reason[by_time]
        self.ledger_customer = self.order_customer[self.ledger_order]
        balance = np.bincount(self.ledger_customer, weights=self.ledger_points, minlength=n).astype(np.int64)
        customers_frame = self.frames["customers"]
        assert isinstance(customers_frame, pd.DataFrame)
        customers_frame["loyalty_points"] = balance
        ordered = np.bincount(self.order_customer, minlength=n) > 0
        last_order = np.full(n, self.start_s, dtype=np.int64)
        np.maximum.at(last_order, self.order_customer, self.order_times)
        # Prospects never ordered; half the customers silent for 18 months are marked inactive.
        quiet = ordered & (self.end_s - last_order > 548 * DAY) & (self.rng.uniform(size=n) < 0.5)
        customers_frame["status"] = np.where(~ordered, "prospect", np.where(quiet, "inactive", "active"))
        self.frames["loyalty_ledger"] = _Chunks(self.ledger_order.size, self._ledger_chunk)
        times = _datetimes(self.ledger_time)  # the tier history these rows imply (default thresholds)
        self.frames["loyalty_tier_changes"] = tier_changes_frame(
            self.ledger_customer + 1, self.ledger_points, times, LOYALTY_TIERS
        )
        self.frames["loyalty_settings"] = pd.DataFrame([{"id": 1, "created_at": self.now, "updated_at": self.now}])

    def _ledger_chunk(self, start: int, stop: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "customer_id": self.ledger_customer[start:stop] + 1,
                "order_id": self.ledger_order[start:stop] + 1,
                "points": self.ledger_points[start:stop],
                "reason": _labels(LEDGER_REASONS, self.ledger_reason[start:stop]),
                "kind": _labels(("earn", "reversal"), self.ledger_reason[start:stop]),
                "created_at": _datetimes(self.ledger_time[start:stop]),
            }
        )

    def stock_rows(self) -> None:
        """Stock per product and warehouse, per variant for apparel; the ledger sums to the levels."""
        rng = self.rng
        product, variant = self.item_product, self.item_variant
        products_n = self.variant_first.size
        per_product = len(VARIANT_COLOURS) * len(VARIANT_SIZES)
        slots = np.where(self.variant_first > 0, per_product, 1)
        slot_start = np.cumsum(slots) - slots
        items_n = int(slots.sum())
        stock_product = np.repeat(np.arange(products_n), slots)
        slot_within = np.arange(items_n) - slot_start[stock_product]
        stock_variant = np.where(
            self.variant_first[stock_product] > 0, self.variant_first[stock_product] + slot_within, 0
        )
        item_slot = slot_start[product] + np.where(variant > 0, variant - self.variant_first[product], 0)
        key = item_slot * 3 + (self.order_warehouse[self.item_order].astype(np.int64) - 1)
        del item_slot
        status = self.order_status[self.item_order]
        shipped = np.isin(status, [_ORDER[s] for s in ("shipped", "delivered", "refunded")])
        reserving = np.isin(status, [_ORDER[s] for s in ("pending", "processing")])
        quantity = self.item_quantity
        out_qty = np.bincount(key[shipped], weights=quantity[shipped], minlength=items_n * 3).astype(np.int64)
        reserved = np.bincount(key[reserving], weights=quantity[reserving], minlength=items_n * 3).astype(np.int64)
        del key, status, shipped, reserving
        product_ids = np.repeat(stock_product + 1, 3)
        variant_ids = np.repeat(stock_variant, 3)
        warehouse_ids = np.tile([1, 2, 3], items_n)
        is_variant = variant_ids > 0
        # A variant holds a smaller buffer than a whole product; some items sold out.
        buffer = np.where(is_variant, rng.integers(0, 40, items_n * 3), rng.integers(0, 120, items_n * 3))
        buffer[rng.uniform(size=buffer.size) < 0.06] = 0
        received = out_qty + reserved + buffer
        self.frames["inventory"] = pd.DataFrame(
            {
                "id": np.arange(1, items_n * 3 + 1),
                "product_id": product_ids,
                "variant_id": _optional_ids(variant_ids, is_variant),
                "warehouse_id": warehouse_ids,
                "on_hand": received - out_qty,
                "reserved": reserved,
                "reorder_level": np.where(
                    is_variant, rng.integers(2, 8, items_n * 3), rng.integers(5, 25, items_n * 3)
                ),
                "created_at": self.start,
                "updated_at": self.end,
            }
        )
        movements = []
        for movement_type, quantities in (("in", received), ("out", -out_qty), ("reserve", reserved)):
            nonzero = np.flatnonzero(quantities)
            movements.append(
                pd.DataFrame(
                    {
                        "product_id": product_ids[nonzero],
                        "variant_id": _optional_ids(variant_ids[nonzero], is_variant[nonzero]),
                        "warehouse_id": warehouse_ids[nonzero],
                        "movement_type": movement_type,
                        "quantity": quantities[nonzero],
                        "note": {
                            "in": "Stock received (demo total)",
                            "out": "Shipped orders (demo total)",
                            "reserve": "Reserved for open orders",
                        }[movement_type],
                        "created_at": self.start if movement_type == "in" else self.end,
                    }
                )
            )
        self.frames["stock_movements"] = pd.concat(movements, ignore_index=True)

    def service_rows(self) -> None:
        """Tickets about 3 % of orders, numbered CS+local day+sequence in time order; status follows the clock."""
        rng, end_s = self.rng, self.end_s
        m = self.order_times.size
        about = np.flatnonzero(rng.uniform(size=m) < 0.03)
        created = self.order_times[about] + rng.integers(3600, DAY * 10, about.size)
        # A ticket that would be written after the end has not been written yet.
        written = created <= end_s
        about, created = about[written], created[written]
        by_time = np.argsort(created, kind="stable")
        about, created = about[by_time], created[by_time]
        t = about.size
        priority = _choose(rng, ["low", "medium", "high", "urgent"], [0.3, 0.45, 0.2, 0.05], t)
        # Typical hours to the first answer and from it to the solution, by priority.
        response_hours = {"low": 20.0, "medium": 8.0, "high": 3.0, "urgent": 1.0}
        work_hours = {"low": 96.0, "medium": 60.0, "high": 30.0, "urgent": 10.0}
        mean_hours = np.array([response_hours[p] for p in priority], dtype=float)
        first_response = created + (rng.exponential(mean_hours) * 3600).astype(np.int64) + 300
        # Solving takes days, with a long tail; some tickets wait weeks on the customer.
        stalled = rng.uniform(size=t) < 0.06
        solving_hours = np.array([work_hours[p] for p in priority], dtype=float) * rng.lognormal(0, 0.8, t)
        solving_hours += stalled * rng.uniform(7, 45, t) * 24
        resolution = first_response + (solving_hours * 3600).astype(np.int64)
        answered = first_response <= end_s
        resolved = resolution <= end_s
        # Resolved tickets are closed once the customer confirms or a week passes.
        closed = resolved & (end_s - resolution > 7 * DAY) & (rng.uniform(size=t) < 0.9)
        working = np.where(stalled | (rng.uniform(size=t) < 0.3), _TICKET["waiting"], _TICKET["in_progress"])
        status = np.where(
            closed,
            _TICKET["closed"],
            np.where(resolved, _TICKET["resolved"], np.where(answered, working, _TICKET["open"])),
        )
        slow = (first_response - created) / 3600 > mean_hours * 1.5
        rated = resolved & (rng.uniform(size=t) < 0.65)  # not every customer answers the survey
        satisfaction = np.clip(np.round(rng.normal(np.where(slow, 3.0, 4.4), 0.8)), 1, 5).astype(np.int64)
        # Answered tickets have an owner; half of the unanswered ones are still in the shared queue.
        self.ticket_assignee_draw = np.where(answered | (rng.uniform(size=t) < 0.5), rng.uniform(size=t), np.nan)
        local_day = pd.to_datetime(created, unit="s", utc=True).tz_convert(get_settings().timezone).strftime("%Y%m%d")
        sequence = pd.Series(np.asarray(local_day)).groupby(np.asarray(local_day), sort=False).cumcount() + 1
        numbers = "CS" + pd.Series(np.asarray(local_day), dtype="string") + sequence.astype("string").str.zfill(4)
        codes = ["general", "technical", "billing", "shipping", "returns", "complaint", "feature_request", "other"]
        category = _choose(rng, codes, [0.2, 0.15, 0.1, 0.25, 0.12, 0.08, 0.03, 0.07], t)
        subjects = dict(
            zip(
                codes,
                [
                    "Change to my order",
                    "Product stopped working",
                    "Charged twice",
                    "Where is my parcel?",
                    "How do I return this?",
                    "Unhappy with the service",
                    "Please add gift wrapping",
                    "General question",
                ],
                strict=True,
            )
        )
        about_order = ~np.isin(category, ["feature_request", "other"])
        updated = np.maximum(created, np.where(resolved, resolution, np.where(answered, first_response, created)))
        frame = pd.DataFrame(
            {
                "id": np.arange(1, t + 1),
                "ticket_number": numbers.to_numpy(dtype=object),
                "customer_id": self.order_customer[about] + 1,
                "order_id": _optional_ids(about + 1, about_order),
                "subject": [subjects[c] for c in category],
                "description": "Customer message received through the help centre.",
                "category": category,
                "priority": priority,
                "status": _labels(TICKET_STATUSES, status),
                "assignee_id": pd.array([None] * t, dtype="Int64"),
                "first_response_at": _optional_datetimes(first_response, answered),
                "resolved_at": _optional_datetimes(resolution, resolved),
                "satisfaction": pd.Series(satisfaction).where(rated).astype("Int64"),
                "created_at": _datetimes(created),
                "updated_at": _datetimes(updated),
            }
        )
        self.frames["tickets"] = frame
        notes_first = pd.DataFrame(
            {
                "ticket_id": frame["id"][answered],
                "author_id": pd.array([None] * int(answered.sum()), dtype="Int64"),
                "note_type": "customer_reply",
                "body": "Thanks for reaching out — we are looking into it.",
                "created_at": frame["first_response_at"][answered],
            }
        )
        notes_resolution = pd.DataFrame(
            {
                "ticket_id": frame["id"][resolved],
                "author_id": pd.array([None] * int(resolved.sum()), dtype="Int64"),
                "note_type": "resolution",
                "body": "Resolved; customer confirmed.",
                "created_at": frame["resolved_at"][resolved],
            }
        )
        self.frames["ticket_notes"] = pd.concat([notes_first, notes_resolution], ignore_index=True)

    def relationship_rows(self) -> None:
        rng, n, end_s = self.rng, self.size.customers, self.end_s
        created = self.customer_created_s
        k = n // 2
        who = rng.integers(0, n, k)
        occurred = created[who] + (rng.uniform(size=k) * (end_s - created[who])).astype(np.int64)
        kind = _choose(
            rng,
            ["call", "email", "meeting", "support", "sale", "follow_up", "other"],
            [0.25, 0.35, 0.08, 0.12, 0.08, 0.1, 0.02],
            k,
        )
        follow = rng.uniform(size=k) < 0.2
        occurred_dt = _datetimes(occurred)
        self.interaction_user_draw = rng.uniform(size=k)
        self.frames["interactions"] = pd.DataFrame(
            {
                "customer_id": who + 1,
                "user_id": pd.array([None] * k, dtype="Int64"),
                "interaction_type": kind,
                "subject": [f"{k_.replace('_', ' ').title()} with customer" for k_ in kind],
                "notes": None,
                "priority": _choose(rng, ["low", "medium", "high", "urgent"], [0.4, 0.4, 0.15, 0.05], k),
                # Everything here has happened (nothing is dated after the end); a few calls and meetings fell
                # through. What is planned shows as follow_up_at, a week later.
                "status": np.where(
                    np.isin(kind, ["call", "meeting"]) & (rng.uniform(size=k) < 0.05), "cancelled", "completed"
                ),
                "duration_minutes": rng.integers(2, 60, k),
                "occurred_at": occurred_dt,
                "follow_up_at": pd.Series(occurred_dt + np.timedelta64(7, "D")).where(follow),
                "created_at": occurred_dt,
                "updated_at": occurred_dt,
            }
        )
        last_contact = pd.Series(occurred_dt).groupby(who + 1).max()
        customers_frame = self.frames["customers"]
        assert isinstance(customers_frame, pd.DataFrame)
        customers_frame["last_contact_at"] = customers_frame["id"].map(last_contact)
        v = n // 3
        visitor = rng.integers(0, n, v)
        # Visits end an hour before the end at the latest, so their payments are not later than it either.
        room = np.maximum(end_s - 3600 - created[visitor], 0)
        visited_dt = _datetimes(created[visitor] + (rng.uniform(size=v) * room).astype(np.int64))
        self.frames["visits"] = pd.DataFrame(
            {
                "id": np.arange(1, v + 1),
                "customer_id": visitor + 1,
                "visited_at": visited_dt,
                "location": _choose(
                    rng, ["Seoul store", "Tokyo store", "New York store", "London store"], [0.35, 0.25, 0.25, 0.15], v
                ),
                "purpose": _choose(rng, ["Browsing", "Fitting", "Pick-up", "Return"], [0.4, 0.3, 0.2, 0.1], v),
                "notes": None,
                "created_at": visited_dt,
                "updated_at": visited_dt,
            }
        )
        paid = np.flatnonzero(rng.uniform(size=v) < 0.6)
        self.frames["visit_payments"] = pd.DataFrame(
            {
                "visit_id": paid + 1,
                "amount": money(rng.integers(1000, 20000, paid.size)),
                "method": _choose(rng, ["credit_card", "cash", "paypal"], [0.7, 0.25, 0.05], paid.size),
                "paid_at": visited_dt[paid] + np.timedelta64(20, "m"),
                "created_at": visited_dt[paid],
                "updated_at": visited_dt[paid],
            }
        )

    def knowledge_and_marketing(self) -> None:
        stamp = _stamp(self.start)
        self.frames["kb_categories"] = pd.DataFrame(
            [
                {"id": 1, "name": "Orders & shipping", "parent_id": None, **stamp},
                {"id": 2, "name": "Returns", "parent_id": None, **stamp},
                {"id": 3, "name": "Account", "parent_id": None, **stamp},
            ]
        ).astype({"parent_id": "Int64"})
        articles = [
            (1, "How long does shipping take?", "Orders ship within 1–2 business days; delivery takes 2–5 days."),
            (1, "Tracking your parcel", "Use the tracking link in your shipping confirmation email."),
            (2, "Returning an item", "Items can be returned within 30 days in their original condition."),
            (2, "When will I get my refund?", "Refunds reach your account 5–10 days after we receive the item."),
            (3, "Resetting your password", "Use 'Forgot password' on the sign-in page."),
            (3, "Loyalty points", "You earn one point per 1.00 spent; tiers start at 1,000, 5,000 and 10,000 points."),
        ]
        self.frames["kb_articles"] = pd.DataFrame(
            [
                {
                    "id": i + 1,
                    "category_id": c,
                    "title": t,
                    "body": b,
                    "is_published": True,
                    "published_at": self.start,
                    "view_count": 50 * (i + 1),
                    **stamp,
                }
                for i, (c, t, b) in enumerate(articles)
            ]
        )
        self.frames["faqs"] = pd.DataFrame(
            [
                {"id": i + 1, "category_id": c, "question": t, "answer": b, "sort_order": i, **stamp}
                for i, (c, t, b) in enumerate(articles)
            ]
        )
        rules = [
            (
                "VIP referrals",
                {
                    "all": [
                        {"field": "source", "op": "=", "value": "referral"},
                        {"field": "loyalty_points", "op": ">=", "value": 1000},
                    ],
                },
            ),
            ("Social newcomers", {"any": [{"field": "source", "op": "=", "value": "social_media"}]}),
        ]
        self.frames["segments"] = pd.DataFrame(
            [
                {
                    "id": i + 1,
                    "name": name,
                    "description": None,
                    "rules_json": json.dumps(rule),
                    "created_by": pd.NA,
                    **stamp,
                }
                for i, (name, rule) in enumerate(rules)
            ]
        ).astype({"created_by": "Int64"})
        self._campaigns()
        self.frames["audit_log"] = pd.DataFrame(
            [
                {
                    "at": self.now,
                    "user_id": None,
                    "username": "system",
                    "action": "import",
                    "entity": "demo",
                    "entity_id": None,
                    "before_json": None,
                    "after_json": json.dumps({"customers": self.size.customers, "orders": self.size.orders}),
                }
            ]
        ).astype({"user_id": "Int64"})

    def _campaigns(self) -> None:
        """Campaigns whose status fits their dates; recipients are the segment's members on the send date."""
        rng, end_s = self.rng, self.end_s
        plans = [
            # name, channel, segment id (None: newsletter subscribers), budget, days before the end it starts, days
            ("Spring refresh", "email", 1, 1500.0, 300, 14),
            ("Summer social push", "social", 2, 4000.0, 120, 21),
            ("Weekend flash sale", "email", None, 2500.0, 9, 14),
            ("New arrivals preview", "push", None, 1200.0, -10, 14),
        ]
        order_keys = np.sort((self.order_customer.astype(np.int64) << 32) | (self.order_times - self.start_s))
        campaign_rows = []
        recipient_frames = []
        for campaign_id, (name, channel, segment, budget, days_before, length) in enumerate(plans, start=1):
            starts_s = end_s - days_before * DAY
            ends_s = starts_s + length * DAY
            status = "scheduled" if starts_s > end_s else ("running" if ends_s >= end_s else "finished")
            campaign_rows.append(
                {
                    "id": campaign_id,
                    "name": name,
                    "channel": channel,
                    "status": status,
                    "segment_id": segment,
                    "starts_at": _datetimes(np.array([starts_s]))[0],
                    "ends_at": _datetimes(np.array([ends_s]))[0],
                    "budget": budget,
                    # Planned a month before it starts (never before the shop's history, never after the end).
                    **_stamp(_datetimes(np.array([min(max(starts_s - 30 * DAY, self.start_s), end_s)]))[0]),
                }
            )
            if status == "scheduled":
                continue  # nothing sent yet
            joined = self.customer_created_s < starts_s
            if segment == 1:
                earned = self.ledger_time < starts_s
                points = np.bincount(
                    self.ledger_customer[earned], weights=self.ledger_points[earned], minlength=self.size.customers
                )
                members = joined & (self.customer_source == "referral") & (points >= 1000)
            elif segment == 2:
                members = joined & (self.customer_source == "social_media")
            else:
                members = joined & self.customer_newsletter
            recipients = np.flatnonzero(members)
            k = recipients.size
            sent = starts_s + rng.integers(0, 2 * 3600, k)  # sent in batches over the first two hours
            opened_at = sent + (rng.exponential(6 * 3600, k)).astype(np.int64)
            clicked_at = opened_at + (rng.exponential(15 * 60, k)).astype(np.int64)
            opened = (rng.uniform(size=k) < {"email": 0.35, "social": 0.5, "push": 0.6}[channel]) & (opened_at <= end_s)
            clicked = opened & (rng.uniform(size=k) < 0.3) & (clicked_at <= end_s)
            # Converted: the recipient ordered within a week of clicking.
            next_order = _next_after(order_keys, recipients, clicked_at - self.start_s) + self.start_s
            converted = clicked & (next_order >= clicked_at) & (next_order - clicked_at <= 7 * DAY)
            recipient_frames.append(
                pd.DataFrame(
                    {
                        "campaign_id": campaign_id,
                        "customer_id": recipients + 1,
                        "sent_at": _datetimes(sent),
                        "opened_at": _optional_datetimes(opened_at, opened),
                        "clicked_at": _optional_datetimes(clicked_at, clicked),
                        "converted_at": _optional_datetimes(next_order, converted),
                    }
                )
            )
        self.frames["campaigns"] = pd.DataFrame(campaign_rows).astype({"segment_id": "Int64"})
        self.frames["campaign_recipients"] = pd.concat(recipient_frames, ignore_index=True)

    def assign_staff(self, staff: _Staff) -> None:
        """Put real user ids on tickets, notes, interactions and segments (none: left empty)."""
        tickets_frame, notes, interactions_frame, segments_frame = (
            self.frames["tickets"],
            self.frames["ticket_notes"],
            self.frames["interactions"],
            self.frames["segments"],
        )
        assert isinstance(tickets_frame, pd.DataFrame) and isinstance(notes, pd.DataFrame)
        assert isinstance(interactions_frame, pd.DataFrame) and isinstance(segments_frame, pd.DataFrame)
        assignees = _pick(self.ticket_assignee_draw, staff.support)
        tickets_frame["assignee_id"] = assignees
        notes["author_id"] = assignees[(notes["ticket_id"] - 1).to_numpy()]
        interactions_frame["user_id"] = _pick(self.interaction_user_draw, staff.sales)
        segments_frame["created_by"] = _pick(np.zeros(len(segments_frame)), staff.owners)
        # Every support colleague answered "was this helpful?" on every article; one in four said no.
        votes = [(a, u, (a + u) % 4 != 0) for a in self.frames["kb_articles"]["id"] for u in staff.support]  # type: ignore[index]
        self.frames["kb_article_votes"] = pd.DataFrame(votes, columns=["article_id", "user_id", "helpful"]).assign(
            voted_at=self.start
        )

    def build(self) -> dict[str, pd.DataFrame | _Chunks]:
        self.reference()
        self.catalogue()
        self.customer_rows()
        self.order_rows()
        self.transaction_rows()
        self.loyalty_rows()
        self.stock_rows()
        self.service_rows()
        self.relationship_rows()
        self.knowledge_and_marketing()
        return self.frames


def _codes_of(values: np.ndarray, options: Sequence[str]) -> np.ndarray:
    """Position of each value in ``options``."""
    lookup = {option: index for index, option in enumerate(options)}
    return np.fromiter((lookup[value] for value in values), dtype=np.int64, count=len(values))


# Load order respects foreign keys.
LOAD_ORDER = [
    brands,
    suppliers,
    categories,
    warehouses,
    products,
    product_variants,
    price_history,
    customers,
    orders,
    order_items,
    transactions,
    loyalty_ledger,
    loyalty_tier_changes,
    loyalty_settings,
    inventory,
    stock_movements,
    tickets,
    ticket_notes,
    interactions,
    visits,
    visit_payments,
    kb_categories,
    kb_articles,
    kb_article_votes,
    faqs,
    segments,
    campaigns,
    campaign_recipients,
    audit_log,
]
# Secondary indexes rebuilt once after the load instead of maintained row by row (millions of rows).
DEFERRED_INDEX_TABLES = [customers, orders, order_items, transactions, loyalty_ledger]


def _ensure_demo_accounts(connection: Connection) -> tuple[str, ...]:
    """Create the demo sign-ins and their support colleagues that don't exist yet; return the new usernames.

    An existing username (e.g. an admin created with ``crm users add``) is never created again or changed.
    The colleagues get a random password nobody knows: an admin resets it to let someone use one.
    """
    existing = set(connection.execute(select(users.c.username)).scalars())
    rows = [
        {
            "username": username,
            "full_name": f"Demo {role.title()}",
            "email": f"{username}@demo.pulse-crm.test",
            "password_hash": _bcrypt(password),
            "role": role,
            "is_active": True,
        }
        for username, (role, password) in DEMO_ACCOUNTS.items()
        if username not in existing
    ]
    rows += [
        {
            "username": username,
            "full_name": full_name,
            "email": f"{username}@demo.pulse-crm.test",
            "password_hash": _bcrypt(secrets.token_urlsafe(24)),
            "role": role,
            "is_active": True,
        }
        for username, (role, full_name) in DEMO_COLLEAGUES.items()
        if username not in existing
    ]
    if rows:
        connection.execute(users.insert(), rows)
    return tuple(row["username"] for row in rows)


def _staff(connection: Connection) -> _Staff:
    """Who works in the demo shop: the active users of the database, by role."""
    rows = connection.execute(
        select(users.c.id, users.c.role).where(users.c.is_active.is_(True)).order_by(users.c.id)
    ).all()
    by_role = {role: tuple(int(row.id) for row in rows if row.role == role) for role in ROLES}
    return _Staff(
        support=by_role["agent"] or by_role["manager"] or by_role["admin"],
        sales=(by_role["agent"] + by_role["manager"]) or by_role["admin"],
        owners=(by_role["manager"] + by_role["admin"]),
    )


def _end_moment(end_date: date | None, now: datetime) -> datetime:
    """The last moment of the data: the end of ``end_date`` (default today), but never later than now.

    Rows after the generation time would count in "today" KPIs as if they had already happened.
    """
    if end_date is None:
        return now
    return min(datetime.combine(end_date, datetime.max.time()).replace(microsecond=0), now)


def _check_size(size: DemoSize) -> None:
    if size.customers < MIN_CUSTOMERS:
        raise ValueError(f"Use at least {MIN_CUSTOMERS} customers (asked for {size.customers:,}).")
    if size.orders < 1:
        raise ValueError(f"Use at least one order (asked for {size.orders:,}).")
    if size.orders > size.customers * MAX_ORDERS_PER_CUSTOMER:
        raise ValueError(
            f"{size.orders:,} orders for {size.customers:,} customers is more than {MAX_ORDERS_PER_CUSTOMER} per "
            f"customer, more than three years of at most weekly buying can hold: use at least "
            f"{-(-size.orders // MAX_ORDERS_PER_CUSTOMER):,} customers or at most "
            f"{size.customers * MAX_ORDERS_PER_CUSTOMER:,} orders."
        )


def _load(connection: Connection, table: Table, source: pd.DataFrame | _Chunks) -> int:
    return bulk_insert(connection, table, source.frames() if isinstance(source, _Chunks) else source)


def generate_demo(
    engine: Engine,
    size: DemoSize,
    *,
    seed: int = 7,
    end_date: date | None = None,
    replace: bool = False,
    with_demo_accounts: bool = False,
) -> DemoSummary:
    """Fill the database with a demo shop whose data ends on ``end_date`` (default: now, UTC), never later than now.

    ``with_demo_accounts`` also creates the sign-ins of ``DEMO_ACCOUNTS``, whose passwords are public
    (pass it in demo mode only), and their support colleagues; usernames that exist are left untouched.
    Without it no account is created, and the data is assigned to the database's existing active users.

    Raises ``ValueError`` for a size it cannot build (too few customers, too many orders per customer)
    and ``DemoDataExistsError`` when business data exists and ``replace`` is false.
    One transaction: a failure leaves the database as it was.
    """
    import time

    _check_size(size)
    started = time.perf_counter()
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    builder = _Builder(size, seed, _end_moment(end_date, now), now)
    frames = builder.build()
    rows: dict[str, int] = {}
    with engine.begin() as connection:
        has_data = holds_business_data(connection)  # the one "is it empty?" rule, shared with demo --if-empty
        if has_data and not replace:
            raise DemoDataExistsError("The database already holds data; use --replace to start over.")
        if has_data:
            truncate_all(connection, keep_accounts=True)
        accounts_created = _ensure_demo_accounts(connection) if with_demo_accounts else ()
        builder.assign_staff(_staff(connection))
        with indexes_deferred(connection, DEFERRED_INDEX_TABLES), checks_deferred(connection, LOAD_ORDER):
            for table in LOAD_ORDER:
                rows[table.name] = _load(connection, table, frames.pop(table.name))
        rows["users"] = len(accounts_created)
        mark_data_changed(connection)  # not audited, so it bumps the data version itself
        advance_sequences(connection)  # in the load's transaction: rows never commit with sequences at 1
    ensure_reference_data(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            # VACUUM sets the visibility map, so index-only scans work right after a bulk load.
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
    return DemoSummary(rows=rows, seconds=time.perf_counter() - started, accounts_created=accounts_created)
