"""Deterministic, realistic demo data for every table, at any scale.

The same ``seed``, ``size`` and ``end_date`` always give the same rows. The shop:
* customers arrive over three years with growth; sources differ in value (referral and
  email customers buy more often, social-media customers less), ages 18–80 with a
  25–45 bulge, a female/male/other mix, 8 % businesses, ~20 % never buy (prospects);
* repeat purchases follow the BG/NBD story (Poisson purchasing at a gamma-distributed
  rate, dropping out with a beta-distributed probability after each purchase), so a
  BG/NBD model fitted on the orders recovers sensible parameters;
* order dates carry seasonality (November/December peak, summer bump), weekday and
  time-of-day patterns; baskets of 1–6 items favour each customer's preferred category;
* products live in a two-level category tree with brands, suppliers, variants, stock in
  three warehouses (some low or out of stock), price history;
* tickets with response and resolution times by priority, interactions, visits and their
  payments, a knowledge base, FAQs, loyalty ledger, saved segments and campaigns.

All arrays are generated with numpy and loaded with ``crm.bulk.bulk_insert`` (COPY on
PostgreSQL), so a million orders take well under a minute.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import bcrypt
import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, select

from crm.bulk import bulk_insert, indexes_deferred, money, truncate_all
from crm.db import holds_business_data, reset_sequences
from crm.reference import ensure_reference_data
from crm.schema import (
    audit_log,
    brands,
    campaign_recipients,
    campaigns,
    categories,
    customers,
    faqs,
    interactions,
    inventory,
    kb_articles,
    kb_categories,
    loyalty_ledger,
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

__all__ = ["DEMO_ACCOUNTS", "DemoDataExistsError", "DemoSize", "DemoSummary", "generate_demo"]

# Demo sign-ins (shown on the login page only in demo mode): username -> (role, password).
DEMO_ACCOUNTS: dict[str, tuple[str, str]] = {
    "admin": ("admin", "demo-admin"),
    "manager": ("manager", "demo-manager"),
    "analyst": ("analyst", "demo-analyst"),
    "agent": ("agent", "demo-agent"),
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
PAYMENT_METHODS = ["credit_card", "paypal", "stripe", "bank_transfer", "cash", "other"]
PAYMENT_WEIGHTS = [0.50, 0.20, 0.15, 0.07, 0.05, 0.03]


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


def _bcrypt(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()


def _stamp(now: datetime) -> dict[str, datetime]:
    return {"created_at": now, "updated_at": now}


def _numbered(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """'PREFIX000123'-style labels built by Arrow string kernels (no Python string per row: less memory)."""
    digits = pd.Series(numbers, dtype="int64").astype("string[pyarrow]").str.zfill(width)
    return prefix + digits


def _choose(rng: np.random.Generator, options: list[str], weights: list[float], size: int) -> np.ndarray:
    probabilities = np.asarray(weights, dtype=float)
    return rng.choice(np.asarray(options, dtype=object), size=size, p=probabilities / probabilities.sum())


class _Builder:
    """Generates the frames table by table; every step draws from one seeded generator."""

    def __init__(self, size: DemoSize, seed: int, end_date: date) -> None:
        self.size = size
        self.rng = np.random.default_rng(seed)
        self.end = datetime.combine(end_date, datetime.min.time()) + timedelta(hours=23, minutes=59)
        self.start = self.end - timedelta(days=HISTORY_DAYS)
        self.now = datetime.now(UTC).replace(tzinfo=None)
        self.frames: dict[str, pd.DataFrame] = {}

    # --- reference data --------------------------------------------------------------
    def reference(self) -> None:
        stamp = _stamp(self.start)
        self.frames["users"] = pd.DataFrame(
            [
                {
                    "id": index + 1,
                    "username": username,
                    "full_name": f"Demo {role.title()}",
                    "email": f"{username}@demo.pulse-crm.test",
                    "password_hash": _bcrypt(password),
                    "role": role,
                    "is_active": True,
                    **stamp,
                }
                for index, (username, (role, password)) in enumerate(DEMO_ACCOUNTS.items())
            ]
        )
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
        per_leaf = 24
        count = per_leaf * len(leaves)
        leaf_of = np.repeat(np.arange(len(leaves)), per_leaf)
        base = np.array([LEAF_PRICE_CENTS[leaves[i]] for i in leaf_of])
        price_cents = (np.round(base * rng.lognormal(0, 0.35, count) / 100) * 100 - 1).astype(np.int64)
        price_cents = np.maximum(price_cents, 299)
        cost_cents = (price_cents * rng.uniform(0.35, 0.6, count)).astype(np.int64)
        adjectives = ["Classic", "Essential", "Premium", "Everyday", "Studio", "Urban", "Nordic", "Soft"]
        singular = [leaf[:-1] if leaf.endswith("s") else leaf for leaf in leaves]
        names = [
            f"{adjectives[i % len(adjectives)]} {singular[leaf_of[i]]} {i // len(adjectives) % per_leaf + 1}"
            for i in range(count)
        ]
        self.product_leaf = leaf_of
        self.product_price_cents = price_cents
        # Popularity within a category follows a Zipf-like curve: a few best sellers.
        self.product_popularity = 1.0 / (1 + (np.arange(count) % per_leaf)) ** 0.8
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
        # Apparel products come in sizes and colours.
        apparel = [i for i in range(count) if leaves[leaf_of[i]] in ("Tops", "Outerwear", "Shoes")]
        variant_rows = []
        for product_index in apparel:
            for color in ("Black", "Navy", "Sand"):
                for size in ("S", "M", "L"):
                    variant_rows.append(
                        {
                            "id": len(variant_rows) + 1,
                            "product_id": product_index + 1,
                            "sku": f"SKU-{product_index + 1:05d}-{color[:3].upper()}-{size}",
                            "color": color,
                            "size": size,
                            "price": None,
                            "created_at": created,
                            "updated_at": created,
                        }
                    )
        self.frames["product_variants"] = pd.DataFrame(variant_rows).astype({"price": "float64"})
        # Price history: the launch price, and a price change for every fifth product.
        changed = np.arange(0, count, 5)
        old_cents = np.round(price_cents[changed] * 0.9).astype(np.int64)
        self.frames["price_history"] = pd.DataFrame(
            {
                "product_id": np.concatenate([np.arange(1, count + 1), changed + 1]),
                "old_price": np.concatenate([np.full(count, np.nan), money(old_cents)]),
                "new_price": np.concatenate([money(price_cents), money(price_cents[changed])]),
                "changed_at": [created] * count + [self.start + timedelta(days=400)] * len(changed),
            }
        )

    # --- customers -------------------------------------------------------------------
    def customer_rows(self) -> None:
        rng, n = self.rng, self.size.customers
        # Arrivals grow over time: density rises linearly, so sample with sqrt of a uniform.
        offsets = np.sqrt(rng.uniform(0.02, 1.0, n)) * HISTORY_DAYS * 86400
        created = np.sort(np.datetime64(self.start) + offsets.astype("timedelta64[s]"))
        gender = _choose(rng, ["female", "male", "other"], [0.55, 0.42, 0.03], n)
        age = np.clip(np.round(rng.gamma(9.0, 4.2, n) + 12), 18, 80).astype(int)
        birth_offset = age * 365 + rng.integers(0, 365, n)
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
        self.customer_created = created
        self.customer_source = source
        self.customer_gender = gender
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
                "tags": _choose(
                    rng, ["", "vip", "newsletter", "wholesale", "newsletter,vip"], [0.6, 0.08, 0.25, 0.04, 0.03], n
                ),
                "preferred_season": _choose(rng, ["spring", "summer", "autumn", "winter"], [1, 1, 1, 1], n),
                "preferred_category_id": [self.leaf_ids[list(self.leaf_ids)[i]] for i in preferred_leaf],
                "notes": None,
                "brand_id": rng.integers(1, len(BRAND_NAMES) + 1, n),
                "loyalty_points": 0,
                "last_contact_at": pd.NaT,
                "created_at": created,
                "updated_at": created,
            }
        )

    # --- orders (BG/NBD purchasing) -------------------------------------------------
    def _purchase_times(self) -> tuple[np.ndarray, np.ndarray]:
        """(customer index, order time) pairs following BG/NBD with ~size.orders rows."""
        rng, n, target = self.rng, self.size.customers, self.size.orders
        buyer = rng.uniform(size=n) < 0.8
        buyers = np.flatnonzero(buyer)
        created = self.customer_created[buyers].astype("datetime64[s]").astype(np.int64)
        end_s = np.datetime64(self.end, "s").astype(np.int64)
        first = created + (rng.exponential(7, buyers.size) * 86400).astype(np.int64)
        # Customers whose first order would fall after the end date have not bought yet.
        before_end = first < end_s
        buyers, created, first = buyers[before_end], created[before_end], first[before_end]
        horizon_days = (end_s - first) / 86400.0
        value = np.array([SOURCES[s][1] for s in self.customer_source[buyers]])
        # Heterogeneous purchase rates (per day) and drop-out probabilities, as in BG/NBD.
        rate = rng.gamma(0.9, 1.0, buyers.size) * value
        dropout = rng.beta(1.0, 3.5, buyers.size)
        repeats_wanted = max(target - buyers.size, 0)
        # Expected repeats of a customer ≈ min(geometric life, Poisson count); scale rates to hit the target.
        life = rng.geometric(dropout) - 1  # purchases after the first before dropping out
        raw = rate * horizon_days
        # Nobody buys more than about once a week, however keen: keeps the heavy tail believable.
        # (customers whose first order is under a week old have made no repeat purchase yet).
        ceiling = np.floor(horizon_days / 7.0)
        scale = 1.0
        for _ in range(30):
            expected = np.minimum(np.minimum(life, raw * scale), ceiling).sum()
            if expected == 0:
                break
            scale *= (repeats_wanted / expected) if expected else 1.0
            if abs(expected - repeats_wanted) / max(repeats_wanted, 1) < 0.01:
                break
        # Purchases the customer would make if they never dropped out.
        arrivals = np.minimum(rng.poisson(raw * scale), ceiling.astype(np.int64))
        counts = np.minimum(life, arrivals).astype(np.int64)
        surplus = int(counts.sum()) - repeats_wanted
        if surplus > 0:  # drop the latest repeats of random customers (as if they left a little earlier)
            owner = np.repeat(np.arange(buyers.size), counts)
            drop = np.bincount(rng.choice(owner, surplus, replace=False), minlength=buyers.size)
            counts = counts - drop
        elif surplus < 0:  # one more purchase for random customers, preferring those still alive
            weights = raw * np.where(counts < arrivals, 1.0, 0.05) * (counts + 1 <= ceiling)
            extra = np.bincount(rng.choice(buyers.size, -surplus, p=weights / weights.sum()), minlength=buyers.size)
            counts = counts + extra
        arrivals = np.maximum(arrivals, counts)
        owners = np.repeat(np.arange(buyers.size), counts)
        # Given N Poisson arrivals in the window, arrival times are uniform order statistics; the first k
        # of them are cumsum(E_1..E_k) / (E_1 + … + E_{N+1}) with E exponential. The customer's last
        # purchase is the k-th, so customers who dropped out early stop buying early (visible churn).
        gaps = rng.exponential(1.0, owners.size)
        cumulative = np.cumsum(gaps)
        group_start = np.r_[0, np.cumsum(counts)[:-1]]
        offset = np.where(counts > 0, cumulative[np.maximum(group_start - 1, 0)] * (group_start > 0), 0.0)
        within = cumulative - np.repeat(offset, counts)
        rest = rng.gamma(np.maximum(arrivals - counts + 1, 1).astype(float))
        totals = np.zeros(buyers.size)
        has = counts > 0
        totals[has] = within[np.cumsum(counts)[has] - 1] + rest[has]
        fraction = within / np.repeat(np.where(has, totals, 1.0), counts)
        span = (end_s - first)[owners]
        repeat_times = first[owners] + (fraction * span).astype(np.int64)
        repeat_times = self._seasonal(repeat_times, first[owners], end_s)
        customer_index = np.concatenate([buyers, buyers[owners]])
        times = np.concatenate([first, repeat_times])
        # Exactly ``target`` orders: trim when there are fewer repeats than buyers allow.
        if times.size > target:
            chosen = np.sort(rng.choice(times.size, target, replace=False))
            customer_index, times = customer_index[chosen], times[chosen]
        return customer_index, times

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
            shifted = original[redo] + rng.integers(-30 * 86400, 30 * 86400, redo.size)
            # A shift past either end keeps the original time (clipping would pile orders onto the last day).
            inside = (shifted >= lower[redo]) & (shifted <= upper)
            times[redo] = np.where(inside, shifted, original[redo])
        day_start = times - times % 86400
        hours = rng.choice(24, size=times.size, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
        seconds = day_start + hours * 3600 + rng.integers(0, 3600, times.size)
        return np.where((seconds >= lower) & (seconds <= upper), seconds, times)

    def order_rows(self) -> None:
        rng = self.rng
        customer_index, times = self._purchase_times()
        order_by_time = np.argsort(times, kind="stable")
        customer_index, times = customer_index[order_by_time], times[order_by_time]
        m = times.size
        order_ids = np.arange(1, m + 1)
        source_basket = np.array([SOURCES[s][2] for s in self.customer_source[customer_index]])
        items_per_order = np.clip(1 + rng.poisson(1.5 * source_basket), 1, 6)
        item_order = np.repeat(np.arange(m), items_per_order)
        item_count = item_order.size
        # Products: half from the customer's preferred category, half from overall popularity.
        product_count = self.product_leaf.size
        popularity = self.product_popularity / self.product_popularity.sum()
        any_product = rng.choice(product_count, size=item_count, p=popularity)
        per_leaf = product_count // len(self.leaf_ids)
        preferred_leaf = self.customer_preferred_leaf[customer_index][item_order]
        within = np.minimum(rng.zipf(1.6, item_count) - 1, per_leaf - 1)
        preferred_product = preferred_leaf * per_leaf + within
        product = np.where(rng.uniform(size=item_count) < 0.5, preferred_product, any_product)
        quantity = np.where(rng.uniform(size=item_count) < 0.85, 1, rng.integers(2, 4, item_count))
        unit_cents = self.product_price_cents[product]
        line_cents = unit_cents * quantity
        subtotal = np.bincount(item_order, weights=line_cents, minlength=m).astype(np.int64)
        tax = np.round(subtotal * TAX_RATE).astype(np.int64)
        shipping = np.where(subtotal >= FREE_SHIPPING_FROM_CENTS, 0, SHIPPING_CENTS)
        discount = np.where(rng.uniform(size=m) < 0.15, np.round(subtotal * 0.10), 0).astype(np.int64)
        total = subtotal + tax + shipping - discount
        end_s = np.datetime64(self.end, "s").astype(np.int64)
        age_days = (end_s - times) / 86400.0
        status = _choose(rng, ["delivered", "cancelled", "refunded"], [0.91, 0.05, 0.04], m)
        recent = age_days < 14
        recent_status = _choose(
            rng, ["pending", "processing", "shipped", "delivered", "cancelled"], [0.2, 0.25, 0.3, 0.2, 0.05], m
        )
        status = np.where(recent, recent_status, status)
        method = _choose(rng, PAYMENT_METHODS, PAYMENT_WEIGHTS, m)
        first_product = product[np.r_[0, np.cumsum(items_per_order)[:-1]]]
        order_dates = times.astype("datetime64[s]").astype("datetime64[us]")
        self.order_customer = customer_index
        self.order_total_cents = total
        self.order_status = status
        self.order_times = times
        self.order_method = method
        self.items = (item_order, product, quantity)
        self.frames["orders"] = pd.DataFrame(
            {
                "id": order_ids,
                "order_number": _numbered("ORD-", order_ids, 8),
                "customer_id": customer_index + 1,
                "brand_id": self.product_brand[first_product],
                "status": status,
                "order_date": order_dates,
                "subtotal": money(subtotal),
                "tax": money(tax),
                "shipping": money(shipping),
                "discount": money(discount),
                "total": money(total),
                "payment_method": method,
                "warehouse_id": rng.integers(1, 4, m),
                "created_at": order_dates,
                "updated_at": order_dates,
            }
        )
        self.frames["order_items"] = pd.DataFrame(
            {
                "id": np.arange(1, item_count + 1),
                "order_id": item_order + 1,
                "product_id": product + 1,
                "quantity": quantity,
                "unit_price": money(unit_cents),
                "created_at": order_dates[item_order],
                "updated_at": order_dates[item_order],
            }
        )

    def transaction_rows(self) -> None:
        rng = self.rng
        m = self.order_times.size
        status_map = {
            "delivered": "completed",
            "shipped": "completed",
            "processing": "completed",
            "pending": "pending",
            "cancelled": "cancelled",
            "refunded": "completed",
        }
        sale_status = np.vectorize(status_map.get, otypes=[object])(self.order_status)
        failed = rng.uniform(size=m) < 0.01
        sale_status = np.where(failed & (sale_status == "completed"), "failed", sale_status)
        processed = self.order_times + rng.integers(30, 600, m)
        refunded = np.flatnonzero(self.order_status == "refunded")
        chargeback = refunded[rng.uniform(size=refunded.size) < 0.1]
        refund_only = np.setdiff1d(refunded, chargeback)
        order_index = np.concatenate([np.arange(m), refund_only, chargeback])
        kinds = np.concatenate(
            [
                np.full(m, "sale", object),
                np.full(refund_only.size, "refund", object),
                np.full(chargeback.size, "chargeback", object),
            ]
        )
        statuses = np.concatenate([sale_status, np.full(refunded.size, "completed", object)])
        when = np.concatenate(
            [
                processed,
                processed[refund_only] + 86400 * rng.integers(2, 20, refund_only.size),
                processed[chargeback] + 86400 * rng.integers(10, 40, chargeback.size),
            ]
        )
        when = np.minimum(when, np.datetime64(self.end, "s").astype(np.int64))
        count = order_index.size
        ids = np.arange(1, count + 1)
        method = self.order_method[order_index]
        self.frames["transactions"] = pd.DataFrame(
            {
                "id": ids,
                "transaction_number": _numbered("TX-", ids, 9),
                "customer_id": self.order_customer[order_index] + 1,
                "order_id": order_index + 1,
                "transaction_type": kinds,
                "status": statuses,
                "method": np.where(method == "other", "other", method),
                "amount": money(self.order_total_cents[order_index]),
                "currency": "USD",
                "gateway_ref": _numbered("gw_", ids * 7919, 12),
                "gateway_response": np.where(statuses == "failed", "card_declined", "approved"),
                "processed_at": when.astype("datetime64[s]").astype("datetime64[us]"),
                "created_at": when.astype("datetime64[s]").astype("datetime64[us]"),
                "updated_at": when.astype("datetime64[s]").astype("datetime64[us]"),
            }
        )

    def loyalty_rows(self) -> None:
        counted = np.isin(self.order_status, ["pending", "processing", "shipped", "delivered"])
        spent = np.bincount(
            self.order_customer[counted], weights=self.order_total_cents[counted], minlength=self.size.customers
        )
        points = (spent // 100).astype(np.int64)  # one point per whole currency unit spent
        customers_frame = self.frames["customers"]
        customers_frame["loyalty_points"] = points
        customers_frame.loc[
            customers_frame["id"].isin(np.flatnonzero(points == 0) + 1)
            & ~customers_frame["id"].isin(self.order_customer + 1),
            "status",
        ] = "prospect"
        inactive = (self.rng.uniform(size=self.size.customers) < 0.08) & (points > 0)
        customers_frame.loc[inactive, "status"] = "inactive"
        earners = np.flatnonzero(points > 0)
        self.frames["loyalty_ledger"] = pd.DataFrame(
            {
                "customer_id": earners + 1,
                "order_id": pd.array([None] * earners.size, dtype="Int64"),
                "points": points[earners],
                "reason": "Points earned on orders (1 point per 1.00 spent)",
                "created_at": self.end,
            }
        )

    def stock_rows(self) -> None:
        rng = self.rng
        item_order, product, quantity = self.items
        warehouse = self.frames["orders"]["warehouse_id"].to_numpy()[item_order]
        status = self.order_status[item_order]
        products_n = self.product_leaf.size
        key = product * 3 + (warehouse - 1)
        shipped = np.isin(status, ["shipped", "delivered", "refunded"])
        reserved_flag = np.isin(status, ["pending", "processing"])
        out_qty = np.bincount(key[shipped], weights=quantity[shipped], minlength=products_n * 3).astype(np.int64)
        reserved = np.bincount(key[reserved_flag], weights=quantity[reserved_flag], minlength=products_n * 3)
        reserved = reserved.astype(np.int64)
        buffer = rng.integers(0, 120, products_n * 3)
        buffer[rng.uniform(size=buffer.size) < 0.06] = 0  # some items sold out
        received = out_qty + reserved + buffer
        product_ids = np.repeat(np.arange(1, products_n + 1), 3)
        warehouse_ids = np.tile([1, 2, 3], products_n)
        self.frames["inventory"] = pd.DataFrame(
            {
                "id": np.arange(1, products_n * 3 + 1),
                "product_id": product_ids,
                "variant_id": pd.array([None] * (products_n * 3), dtype="Int64"),
                "warehouse_id": warehouse_ids,
                "on_hand": received - out_qty,
                "reserved": reserved,
                "reorder_level": rng.integers(5, 25, products_n * 3),
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
        rng = self.rng
        m = self.order_times.size
        with_ticket = np.flatnonzero(rng.uniform(size=m) < 0.03)
        t = with_ticket.size
        created = self.order_times[with_ticket] + rng.integers(86400, 86400 * 10, t)
        end_s = np.datetime64(self.end, "s").astype(np.int64)
        created = np.minimum(created, end_s - 7200)
        priority = _choose(rng, ["low", "medium", "high", "urgent"], [0.3, 0.45, 0.2, 0.05], t)
        response_hours = {"low": 20.0, "medium": 8.0, "high": 3.0, "urgent": 1.0}
        mean_hours = np.vectorize(response_hours.get, otypes=[float])(priority)
        first_response = created + (rng.exponential(mean_hours) * 3600).astype(np.int64) + 300
        resolution = first_response + (rng.exponential(mean_hours * 3) * 3600).astype(np.int64)
        age_days = (end_s - created) / 86400
        resolved = (age_days > 3) | (rng.uniform(size=t) < 0.3)
        answered = resolved | (rng.uniform(size=t) < 0.7)
        status = np.where(
            resolved,
            _choose(rng, ["resolved", "closed"], [0.4, 0.6], t),
            np.where(answered, _choose(rng, ["in_progress", "waiting"], [0.6, 0.4], t), "open"),
        )
        slow = (first_response - created) / 3600 > mean_hours * 1.5
        satisfaction = np.clip(np.round(rng.normal(np.where(slow, 3.0, 4.4), 0.8)), 1, 5)
        created_dt = created.astype("datetime64[s]")
        day_key = created_dt.astype("datetime64[D]")
        order_in_day = pd.Series(created).groupby(day_key).cumcount().to_numpy() + 1
        numbers = [f"CS{str(d).replace('-', '')}{s:04d}" for d, s in zip(day_key, order_in_day, strict=True)]
        sort = np.argsort(created, kind="stable")
        category = _choose(
            rng, ["order", "product", "shipping", "billing", "account", "other"], [0.25, 0.2, 0.3, 0.1, 0.05, 0.1], t
        )
        subjects = {
            "order": "Change to my order",
            "product": "Question about a product",
            "shipping": "Where is my parcel?",
            "billing": "Charged twice",
            "account": "Cannot sign in",
            "other": "General question",
        }
        frame = (
            pd.DataFrame(
                {
                    "ticket_number": numbers,
                    "customer_id": self.order_customer[with_ticket] + 1,
                    "order_id": with_ticket + 1,
                    "subject": [subjects[c] for c in category],
                    "description": "Customer message received through the help centre.",
                    "category": category,
                    "priority": priority,
                    "status": status,
                    "assignee_id": 4,
                    "first_response_at": pd.Series(
                        first_response.astype("datetime64[s]").astype("datetime64[us]")
                    ).where(answered),
                    "resolved_at": pd.Series(resolution.astype("datetime64[s]").astype("datetime64[us]")).where(
                        resolved
                    ),
                    "satisfaction": pd.Series(satisfaction).where(resolved).astype("Int64"),
                    "created_at": created_dt.astype("datetime64[us]"),
                    "updated_at": created_dt.astype("datetime64[us]"),
                }
            )
            .iloc[sort]
            .reset_index(drop=True)
        )
        frame.insert(0, "id", np.arange(1, t + 1))
        self.frames["tickets"] = frame
        notes_first = pd.DataFrame(
            {
                "ticket_id": frame["id"],
                "author_id": 4,
                "note_type": "customer_reply",
                "body": "Thanks for reaching out — we are looking into it.",
                "created_at": frame["first_response_at"].fillna(frame["created_at"]),
            }
        )
        solved = frame[frame["resolved_at"].notna()]
        notes_resolution = pd.DataFrame(
            {
                "ticket_id": solved["id"],
                "author_id": 4,
                "note_type": "resolution",
                "body": "Resolved; customer confirmed.",
                "created_at": solved["resolved_at"],
            }
        )
        self.frames["ticket_notes"] = pd.concat([notes_first, notes_resolution], ignore_index=True)

    def relationship_rows(self) -> None:
        rng, n = self.rng, self.size.customers
        created = self.customer_created.astype("datetime64[s]").astype(np.int64)
        end_s = np.datetime64(self.end, "s").astype(np.int64)
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
        occurred_dt = occurred.astype("datetime64[s]").astype("datetime64[us]")
        self.frames["interactions"] = pd.DataFrame(
            {
                "customer_id": who + 1,
                "user_id": rng.integers(2, 5, k),
                "interaction_type": kind,
                "subject": [f"{k_.replace('_', ' ').title()} with customer" for k_ in kind],
                "notes": None,
                "priority": _choose(rng, ["low", "medium", "high", "urgent"], [0.4, 0.4, 0.15, 0.05], k),
                "status": np.where(occurred > end_s - 86400 * 3, "planned", "completed"),
                "duration_minutes": rng.integers(2, 60, k),
                "occurred_at": occurred_dt,
                "follow_up_at": pd.Series(occurred_dt + np.timedelta64(7, "D")).where(follow),
                "created_at": occurred_dt,
                "updated_at": occurred_dt,
            }
        )
        last_contact = pd.Series(occurred_dt).groupby(who + 1).max()
        customers_frame = self.frames["customers"]
        customers_frame["last_contact_at"] = customers_frame["id"].map(last_contact)
        v = n // 3
        visitor = rng.integers(0, n, v)
        visited = created[visitor] + (rng.uniform(size=v) * (end_s - created[visitor])).astype(np.int64)
        visited_dt = visited.astype("datetime64[s]").astype("datetime64[us]")
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
                    "match": "all",
                    "rules": [
                        {"field": "source", "op": "=", "value": "referral"},
                        {"field": "loyalty_points", "op": ">=", "value": 1000},
                    ],
                },
            ),
            ("Social newcomers", {"match": "any", "rules": [{"field": "source", "op": "=", "value": "social_media"}]}),
        ]
        self.frames["segments"] = pd.DataFrame(
            [
                {
                    "id": i + 1,
                    "name": name,
                    "description": None,
                    "rules_json": json.dumps(rule),
                    "created_by": 1,
                    **stamp,
                }
                for i, (name, rule) in enumerate(rules)
            ]
        )
        starts = [self.end - timedelta(days=d) for d in (300, 120, 20)]
        self.frames["campaigns"] = pd.DataFrame(
            [
                {
                    "id": i + 1,
                    "name": name,
                    "channel": channel,
                    "status": status,
                    "segment_id": segment,
                    "starts_at": start,
                    "ends_at": start + timedelta(days=14),
                    "budget": budget,
                    **stamp,
                }
                for i, (name, channel, status, segment, budget, start) in enumerate(
                    [
                        ("Spring refresh", "email", "finished", 1, 1500.0, starts[0]),
                        ("Summer social push", "social", "finished", 2, 4000.0, starts[1]),
                        ("Holiday preview", "email", "running", 1, 2500.0, starts[2]),
                    ]
                )
            ]
        ).astype({"segment_id": "Int64"})
        rng = self.rng
        rows = []
        for campaign_id, start in zip((1, 2, 3), starts, strict=True):
            recipients = np.unique(rng.integers(1, self.size.customers + 1, min(2000, self.size.customers)))
            sent = np.datetime64(start, "us")
            opened = rng.uniform(size=recipients.size) < 0.35
            clicked = opened & (rng.uniform(size=recipients.size) < 0.3)
            converted = clicked & (rng.uniform(size=recipients.size) < 0.2)
            rows.append(
                pd.DataFrame(
                    {
                        "campaign_id": campaign_id,
                        "customer_id": recipients,
                        "sent_at": sent,
                        "opened_at": pd.Series(np.full(recipients.size, sent + np.timedelta64(2, "h"))).where(opened),
                        "clicked_at": pd.Series(np.full(recipients.size, sent + np.timedelta64(3, "h"))).where(clicked),
                        "converted_at": pd.Series(np.full(recipients.size, sent + np.timedelta64(1, "D"))).where(
                            converted
                        ),
                    }
                )
            )
        self.frames["campaign_recipients"] = pd.concat(rows, ignore_index=True)
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

    def build(self) -> dict[str, pd.DataFrame]:
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


# Load order respects foreign keys.
LOAD_ORDER = [
    users,
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
    inventory,
    stock_movements,
    tickets,
    ticket_notes,
    interactions,
    visits,
    visit_payments,
    kb_categories,
    kb_articles,
    faqs,
    segments,
    campaigns,
    campaign_recipients,
    audit_log,
]


def _ensure_demo_accounts(connection: Connection, frame: pd.DataFrame) -> dict[int, int]:
    """Insert the demo accounts that don't exist yet; map their position (1..4) to real user ids.

    Existing accounts (e.g. the admin created with ``crm users add``) are kept untouched.
    """
    mapping: dict[int, int] = {}
    for position, row in enumerate(frame.drop(columns=["id"]).to_dict("records"), start=1):
        existing = connection.execute(select(users.c.id).where(users.c.username == row["username"])).scalar()
        if existing is None:
            existing = connection.execute(users.insert().values(**row).returning(users.c.id)).scalar_one()
        mapping[position] = int(existing)
    return mapping


def _remap_users(frames: dict[str, pd.DataFrame], account_ids: dict[int, int]) -> None:
    for table_name, column in (
        ("tickets", "assignee_id"),
        ("ticket_notes", "author_id"),
        ("interactions", "user_id"),
        ("segments", "created_by"),
    ):
        frames[table_name][column] = frames[table_name][column].map(account_ids)


def generate_demo(
    engine: Engine,
    size: DemoSize,
    *,
    seed: int = 7,
    end_date: date | None = None,
    replace: bool = False,
) -> DemoSummary:
    """Fill the database with a demo shop ending on ``end_date`` (default: today, UTC).

    Raises ``DemoDataExistsError`` when business data exists and ``replace`` is false.
    One transaction: a failure leaves the database as it was.
    """
    import time

    if size.customers < 10 or size.orders < size.customers // 10:
        raise ValueError("Use at least 10 customers and one order per ten customers.")
    started = time.perf_counter()
    frames = _Builder(size, seed, end_date or datetime.now(UTC).date()).build()
    rows: dict[str, int] = {}
    with engine.begin() as connection:
        has_data = holds_business_data(connection)  # the one "is it empty?" rule, shared with demo --if-empty
        if has_data and not replace:
            raise DemoDataExistsError("The database already holds data; use --replace to start over.")
        if has_data:
            truncate_all(connection, keep_accounts=True)
        account_ids = _ensure_demo_accounts(connection, frames.pop("users"))
        _remap_users(frames, account_ids)
        with indexes_deferred(connection, [customers, orders, order_items, transactions]):
            for table in LOAD_ORDER:
                if table is not users:
                    rows[table.name] = bulk_insert(connection, table, frames.pop(table.name))
        rows["users"] = len(account_ids)
    reset_sequences(engine)
    ensure_reference_data(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            # VACUUM sets the visibility map, so index-only scans work right after a bulk load.
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
    return DemoSummary(rows=rows, seconds=time.perf_counter() - started)
