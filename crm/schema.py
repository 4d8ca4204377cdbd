"""The one ``MetaData`` of Pulse CRM: every table, constraint and index.

Conventions (DESIGN.md):
* money is ``Numeric(12, 2)`` and never float;
* datetimes are naive and always mean UTC (``utc_now``), so SQLite and PostgreSQL agree;
* enumerations are VARCHAR + CHECK constraints (portable, readable in both engines);
* editable tables carry ``version`` for optimistic locking and ``created_at``/``updated_at``.

Migrations live in ``sql/migrations`` (alembic); ``crm.db.init_database`` applies them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)

__all__ = [
    "CUSTOMER_STATUSES",
    "CUSTOMER_TYPES",
    "DEFAULT_SLA_HOURS",
    "GENDERS",
    "LOYALTY_LEDGER_KINDS",
    "LOYALTY_TIERS",
    "ORDER_STATUSES",
    "PAYMENT_METHODS",
    "REVENUE_ORDER_STATUSES",
    "ROLES",
    "TRANSACTION_STATUSES",
    "TRANSACTION_TYPES",
    "metadata",
    "utc_now",
]

# Constraint names follow one pattern so alembic migrations and error messages are predictable.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def utc_now() -> datetime:
    """Current time as a naive UTC datetime, the storage convention of every table."""
    return datetime.now(UTC).replace(tzinfo=None)


# --- enumerations --------------------------------------------------------------------------
ORDER_STATUSES = ("pending", "processing", "shipped", "delivered", "cancelled", "refunded")
# Revenue counts every order that was not cancelled or refunded (DESIGN.md metric definitions).
REVENUE_ORDER_STATUSES = ("pending", "processing", "shipped", "delivered")
TRANSACTION_TYPES = ("sale", "refund", "payment", "chargeback")
TRANSACTION_STATUSES = ("pending", "completed", "failed", "cancelled", "refunded")
PAYMENT_METHODS = ("credit_card", "paypal", "stripe", "bank_transfer", "cash", "check", "other")
GENDERS = ("female", "male", "other")
CUSTOMER_TYPES = ("individual", "business")
CUSTOMER_STATUSES = ("active", "inactive", "prospect")
SEASONS = ("spring", "summer", "autumn", "winter")
ROLES = ("admin", "manager", "analyst", "agent")
INTERACTION_TYPES = ("call", "email", "meeting", "support", "sale", "follow_up", "other")
PRIORITIES = ("low", "medium", "high", "urgent")
INTERACTION_STATUSES = ("planned", "completed", "cancelled")
TICKET_STATUSES = ("open", "in_progress", "waiting", "resolved", "closed")
# Shown as words ("feature request"); 0006 mapped the former codes (order, product, account) onto these.
TICKET_CATEGORIES = (
    "general",
    "technical",
    "billing",
    "shipping",
    "returns",
    "complaint",
    "feature_request",
    "other",
)
# customer_reply: a customer-facing reply written by staff (the first one stamps first_response_at);
# customer_message: what the customer wrote (logged by staff); internal: staff only, never shown to the
# customer; system: written by the app for every status/priority/assignee/category change; resolution.
TICKET_NOTE_TYPES = ("internal", "customer_reply", "customer_message", "system", "resolution")
MOVEMENT_TYPES = ("in", "out", "adjust", "count", "reserve", "release")
# draft → launched (recipients frozen) → sending → sent: the app's campaigns; scheduled/running/finished are
# planned-only campaigns (demo) whose status follows their dates.
CAMPAIGN_STATUSES = ("draft", "scheduled", "running", "finished", "cancelled", "launched", "sending", "sent")
# "export" hands rendered messages to the user's own tool as a CSV; push/mail/social are planned-only (demo).
CAMPAIGN_CHANNELS = ("email", "sms", "push", "mail", "social", "export")
# pending: to send; sending: claimed by a send run (delivery unknown if the run died); holdout: the control
# group, never contacted; not_contactable: no consent or no address (reason says which). DESIGN.md.
RECIPIENT_STATUSES = ("pending", "sending", "sent", "failed", "exported", "holdout", "not_contactable")
AUDIT_ACTIONS = ("create", "update", "delete", "import", "merge", "export", "login", "logout")
# Loyalty tiers by lifetime points: bronze < 1000 <= silver < 5000 <= gold < 10000 <= platinum.
LOYALTY_TIERS = (("bronze", 0), ("silver", 1000), ("gold", 5000), ("platinum", 10000))
# Default SLA targets (priority, first response hours, resolution hours), seeded once; managers edit them.
DEFAULT_SLA_HOURS = (("urgent", 1, 24), ("high", 4, 48), ("medium", 8, 96), ("low", 24, 168))
# earn/reversal: an order's points (crm.loyalty.ledger); redeem: points spent; adjustment: by hand; opening: imported.
LOYALTY_LEDGER_KINDS = ("earn", "reversal", "redeem", "adjustment", "opening")


def _in(column: str, values: Sequence[str], *, nullable: bool = False) -> CheckConstraint:
    allowed = ", ".join(f"'{value}'" for value in values)
    condition = f"{column} IN ({allowed})"
    if nullable:
        condition = f"{column} IS NULL OR {condition}"
    return CheckConstraint(condition, name=f"{column}_allowed")


def _non_negative(*columns: str) -> list[CheckConstraint]:
    return [CheckConstraint(f"{column} >= 0", name=f"{column}_non_negative") for column in columns]


def _money(name: str, *, nullable: bool = False, default: str | None = "0") -> Column:
    return Column(name, Numeric(12, 2), nullable=nullable, server_default=default)


def _timestamps() -> list[Column]:
    return [
        Column("created_at", DateTime, nullable=False, default=utc_now),
        Column("updated_at", DateTime, nullable=False, default=utc_now, onupdate=utc_now),
    ]


def _version() -> Column:
    # Optimistic locking: every UPDATE sets version = version + 1 WHERE version = :seen.
    return Column("version", Integer, nullable=False, server_default="1")


# --- reference data ----------------------------------------------------------------------
brands = Table(
    "brands",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(120), nullable=False, unique=True),
    Column("description", Text),
    *_timestamps(),
    _version(),
)

suppliers = Table(
    "suppliers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(160), nullable=False, unique=True),
    Column("contact_name", String(160)),
    Column("email", String(254)),
    Column("phone", String(40)),
    Column("country", String(80)),
    *_timestamps(),
    _version(),
)

categories = Table(
    "categories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(120), nullable=False),
    Column("parent_id", Integer, ForeignKey("categories.id", ondelete="RESTRICT"), index=True),
    CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    *_timestamps(),
    _version(),
)
# Sibling names are unique. A plain UNIQUE (parent_id, name) lets root categories repeat, because
# NULL parents never compare equal; COALESCE makes every root share parent 0 (ids start at 1).
Index("uq_categories_parent_name", func.coalesce(categories.c.parent_id, 0), categories.c.name, unique=True)

warehouses = Table(
    "warehouses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(20), nullable=False, unique=True),
    Column("name", String(120), nullable=False),
    Column("city", String(80)),
    *_timestamps(),
    _version(),
)

# --- people ------------------------------------------------------------------------------
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(60), nullable=False, unique=True),
    Column("full_name", String(160), nullable=False),
    Column("email", String(254)),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("is_active", Boolean, nullable=False, server_default="1"),
    Column("last_login_at", DateTime),
    _in("role", ROLES),
    *_timestamps(),
    _version(),
)

user_sessions = Table(
    # Server-side record of issued login cookies, so logout can revoke a cookie for good.
    "user_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("token_hash", String(128), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False, default=utc_now),
    Column("expires_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
)

login_attempts = Table(
    # Time-windowed throttling per user and per client; old rows simply age out of the window.
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(60), nullable=False),
    Column("client_key", String(128), nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("attempted_at", DateTime, nullable=False, default=utc_now, index=True),
    Index("ix_login_attempts_username_time", "username", "attempted_at"),
    Index("ix_login_attempts_client_time", "client_key", "attempted_at"),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True),
    # Key of the customer in the system it was imported from (links re-imports to the same row).
    Column("external_id", String(80), unique=True),
    Column("first_name", String(120)),
    Column("last_name", String(120)),
    Column("email", String(254)),
    # Lower-cased, trimmed email and digits-only phone: the keys used to find duplicates.
    Column("email_normalized", String(254), index=True),
    Column("phone", String(40)),
    Column("phone_normalized", String(40), index=True),
    Column("company", String(160)),
    Column("address", String(250)),
    Column("city", String(80)),
    Column("country", String(80)),
    # Indexed for the age and gender filters of every analytics page.
    Column("birth_date", Date, index=True),
    Column("gender", String(10), index=True),
    Column("source", String(40), index=True),
    Column("customer_type", String(12), nullable=False, server_default="individual"),
    Column("status", String(12), nullable=False, server_default="active"),
    Column("tags", String(250)),
    Column("preferred_season", String(10)),
    Column("preferred_category_id", Integer, ForeignKey("categories.id", ondelete="SET NULL")),
    Column("notes", Text),
    Column("brand_id", Integer, ForeignKey("brands.id", ondelete="SET NULL"), index=True),
    Column("loyalty_points", Integer, nullable=False, server_default="0"),
    # The customer agreed to marketing messages (campaigns contact only these); off unless recorded.
    Column("marketing_consent", Boolean, nullable=False, server_default="0"),
    Column("last_contact_at", DateTime),
    *_timestamps(),
    _version(),
    _in("gender", GENDERS, nullable=True),
    _in("customer_type", CUSTOMER_TYPES),
    _in("status", CUSTOMER_STATUSES),
    _in("preferred_season", SEASONS, nullable=True),
    CheckConstraint("loyalty_points >= 0", name="loyalty_points_non_negative"),
    CheckConstraint(
        "first_name IS NOT NULL OR last_name IS NOT NULL OR company IS NOT NULL "
        "OR email IS NOT NULL OR phone IS NOT NULL",
        name="identifiable",
    ),
    Index("ix_customers_created_at", "created_at"),
)

# --- catalogue ---------------------------------------------------------------------------
products = Table(
    "products",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sku", String(60), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("description", Text),
    Column("category_id", Integer, ForeignKey("categories.id", ondelete="RESTRICT"), index=True),
    Column("brand_id", Integer, ForeignKey("brands.id", ondelete="RESTRICT"), index=True),
    Column("supplier_id", Integer, ForeignKey("suppliers.id", ondelete="RESTRICT")),
    _money("price"),
    _money("cost"),
    Column("weight_kg", Numeric(10, 3)),
    Column("length_cm", Numeric(10, 2)),
    Column("width_cm", Numeric(10, 2)),
    Column("height_cm", Numeric(10, 2)),
    Column("image_url", String(500)),
    Column("is_active", Boolean, nullable=False, server_default="1"),
    *_timestamps(),
    _version(),
    *_non_negative("price", "cost"),
    CheckConstraint("weight_kg IS NULL OR weight_kg >= 0", name="weight_non_negative"),
)

product_variants = Table(
    "product_variants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("product_id", Integer, ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("sku", String(80), nullable=False, unique=True),
    Column("color", String(40)),
    Column("size", String(20)),
    # NULL means "same price as the product".
    Column("price", Numeric(12, 2)),
    *_timestamps(),
    _version(),
    CheckConstraint("price IS NULL OR price >= 0", name="price_non_negative"),
)

inventory = Table(
    "inventory",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("product_id", Integer, ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("variant_id", Integer, ForeignKey("product_variants.id", ondelete="CASCADE")),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id", ondelete="RESTRICT"), nullable=False),
    Column("on_hand", Integer, nullable=False, server_default="0"),
    Column("reserved", Integer, nullable=False, server_default="0"),
    Column("reorder_level", Integer, nullable=False, server_default="0"),
    *_timestamps(),
    _version(),
    *_non_negative("on_hand", "reserved", "reorder_level"),
    # Only goods on hand can be promised to open orders (available = on_hand - reserved >= 0).
    CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
    Index("ix_inventory_warehouse", "warehouse_id"),
)
# One row per product, variant and warehouse; COALESCE so rows without a variant (NULL) collide too.
Index(
    "uq_inventory_item_place",
    inventory.c.product_id,
    func.coalesce(inventory.c.variant_id, 0),
    inventory.c.warehouse_id,
    unique=True,
)

stock_movements = Table(
    # Insert-only ledger: inventory.on_hand/reserved are the running sums of these rows.
    "stock_movements",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("product_id", Integer, ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("variant_id", Integer, ForeignKey("product_variants.id", ondelete="CASCADE")),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id", ondelete="RESTRICT"), nullable=False),
    Column("movement_type", String(10), nullable=False),
    # Signed: out/reserve rows carry negative on-hand/availability effects in the ledger.
    Column("quantity", Integer, nullable=False),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="SET NULL"), index=True),
    Column("note", String(250)),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", DateTime, nullable=False, default=utc_now),
    _in("movement_type", MOVEMENT_TYPES),
    CheckConstraint("quantity <> 0", name="quantity_not_zero"),
)

price_history = Table(
    # Written automatically whenever products.price changes; read-only in the app.
    "price_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("product_id", Integer, ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("old_price", Numeric(12, 2)),
    Column("new_price", Numeric(12, 2), nullable=False),
    Column("changed_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("changed_at", DateTime, nullable=False, default=utc_now),
    CheckConstraint("new_price >= 0", name="new_price_non_negative"),
    CheckConstraint("old_price IS NULL OR old_price >= 0", name="old_price_non_negative"),
)

# --- sales -------------------------------------------------------------------------------
orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_number", String(40), nullable=False, unique=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="RESTRICT"), nullable=False),
    Column("brand_id", Integer, ForeignKey("brands.id", ondelete="SET NULL")),
    Column("status", String(12), nullable=False, server_default="pending"),
    Column("order_date", DateTime, nullable=False),
    _money("subtotal"),
    _money("tax"),
    _money("shipping"),
    _money("discount"),
    _money("total"),
    Column("payment_method", String(20)),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id", ondelete="SET NULL")),
    Column("notes", Text),
    *_timestamps(),
    _version(),
    _in("status", ORDER_STATUSES),
    _in("payment_method", PAYMENT_METHODS, nullable=True),
    *_non_negative("subtotal", "tax", "shipping", "discount", "total"),
    # Analytics scan orders by date and by customer; status and brand are frequent filters.
    Index("ix_orders_order_date", "order_date"),
    Index("ix_orders_customer_date", "customer_id", "order_date"),
    Index("ix_orders_status_date", "status", "order_date"),
    Index("ix_orders_brand", "brand_id"),
    # Covering index of the per-customer order aggregate of segments (count, sum, first/last date).
    Index("ix_orders_customer_behaviour", "customer_id", "status", "order_date", "total"),
)

order_items = Table(
    "order_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("product_id", Integer, ForeignKey("products.id", ondelete="RESTRICT"), nullable=False, index=True),
    Column("variant_id", Integer, ForeignKey("product_variants.id", ondelete="SET NULL")),
    Column("quantity", Integer, nullable=False),
    _money("unit_price"),
    *_timestamps(),
    _version(),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    *_non_negative("unit_price"),
)

transactions = Table(
    "transactions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("transaction_number", String(40), nullable=False, unique=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="RESTRICT"), nullable=False, index=True),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="SET NULL"), index=True),
    Column("transaction_type", String(12), nullable=False),
    Column("status", String(12), nullable=False, server_default="pending"),
    Column("method", String(20), nullable=False),
    _money("amount", default=None),
    Column("currency", String(3), nullable=False, server_default="USD"),
    Column("gateway_ref", String(120)),
    Column("gateway_response", Text),
    Column("processed_at", DateTime, nullable=False),
    *_timestamps(),
    _version(),
    _in("transaction_type", TRANSACTION_TYPES),
    _in("status", TRANSACTION_STATUSES),
    _in("method", PAYMENT_METHODS),
    *_non_negative("amount"),
    Index("ix_transactions_processed_at", "processed_at"),
)

# --- relationship ------------------------------------------------------------------------
interactions = Table(
    "interactions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("interaction_type", String(12), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("notes", Text),
    Column("priority", String(8), nullable=False, server_default="medium"),
    Column("status", String(10), nullable=False, server_default="completed"),
    Column("duration_minutes", Integer),
    Column("occurred_at", DateTime, nullable=False),
    Column("follow_up_at", DateTime, index=True),
    # What came of it ("agreed to a trial", "no answer"); the owner is user_id, the signed-in user who logged it.
    Column("outcome", String(200)),
    *_timestamps(),
    _version(),
    _in("interaction_type", INTERACTION_TYPES),
    _in("priority", PRIORITIES),
    _in("status", INTERACTION_STATUSES),
    CheckConstraint("duration_minutes IS NULL OR duration_minutes >= 0", name="duration_non_negative"),
)

visits = Table(
    "visits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("visited_at", DateTime, nullable=False, index=True),
    Column("location", String(120)),
    Column("purpose", String(200)),
    Column("notes", Text),
    *_timestamps(),
    _version(),
)

visit_payments = Table(
    "visit_payments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("visit_id", Integer, ForeignKey("visits.id", ondelete="CASCADE"), nullable=False, index=True),
    _money("amount", default=None),
    Column("method", String(20), nullable=False),
    Column("paid_at", DateTime, nullable=False),
    # The order this payment settles, if any: such a payment is already in order revenue, so the
    # Overview's total takings leaves it out (one sale is never counted twice).
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="SET NULL"), index=True),
    *_timestamps(),
    _version(),
    _in("method", PAYMENT_METHODS),
    *_non_negative("amount"),
)

# --- service -----------------------------------------------------------------------------
tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    # CS + YYYYMMDD + 4-digit sequence of that day, e.g. CS202611220001.
    Column("ticket_number", String(20), nullable=False, unique=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="SET NULL")),
    Column("subject", String(200), nullable=False),
    Column("description", Text),
    Column("category", String(20), nullable=False, server_default="general"),
    Column("priority", String(8), nullable=False, server_default="medium"),
    Column("status", String(12), nullable=False, server_default="open"),
    Column("assignee_id", Integer, ForeignKey("users.id", ondelete="SET NULL"), index=True),
    Column("first_response_at", DateTime),
    Column("resolved_at", DateTime),
    Column("satisfaction", Integer),
    *_timestamps(),
    _version(),
    _in("category", TICKET_CATEGORIES),
    _in("priority", PRIORITIES),
    _in("status", TICKET_STATUSES),
    CheckConstraint("satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="satisfaction_range"),
    CheckConstraint("first_response_at IS NULL OR first_response_at >= created_at", name="response_after_creation"),
    CheckConstraint("resolved_at IS NULL OR resolved_at >= created_at", name="resolution_after_creation"),
    # CS + 8 date digits + 4 sequence digits; ltrim with a character set is portable (SQLite, PostgreSQL).
    CheckConstraint(
        "length(ticket_number) = 14 AND substr(ticket_number, 1, 2) = 'CS' "
        "AND ltrim(substr(ticket_number, 3), '0123456789') = ''",
        name="ticket_number_format",
    ),
    Index("ix_tickets_created_at", "created_at"),
    Index("ix_tickets_status", "status"),
)

# The last sequence handed out per local day (YYYYMMDD): creating a ticket updates its day's row first,
# so concurrent creators (several app servers) queue on that row lock and never share a number.
ticket_number_days = Table(
    "ticket_number_days",
    metadata,
    Column("day", String(8), primary_key=True),
    Column("last_sequence", Integer, nullable=False),
    CheckConstraint("last_sequence BETWEEN 0 AND 9999", name="last_sequence_range"),
)

# Service-level targets per priority, in whole hours from the ticket's creation (reference rows seeded by
# crm.reference.ensure_reference_data, edited by managers on the Service desk page).
sla_policies = Table(
    "sla_policies",
    metadata,
    Column("priority", String(8), primary_key=True),
    Column("first_response_hours", Integer, nullable=False),
    Column("resolution_hours", Integer, nullable=False),
    *_timestamps(),
    _version(),
    _in("priority", PRIORITIES),
    CheckConstraint("first_response_hours > 0", name="first_response_hours_positive"),
    CheckConstraint("resolution_hours >= first_response_hours", name="resolution_after_first_response"),
)

ticket_notes = Table(
    "ticket_notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("author_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("note_type", String(16), nullable=False, server_default="internal"),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime, nullable=False, default=utc_now),
    _in("note_type", TICKET_NOTE_TYPES),
)

kb_categories = Table(
    "kb_categories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(120), nullable=False),
    Column("parent_id", Integer, ForeignKey("kb_categories.id", ondelete="RESTRICT")),
    *_timestamps(),
    _version(),
)
# As for categories: root names must not repeat either (NULL parents would escape a plain UNIQUE).
Index("uq_kb_categories_parent_name", func.coalesce(kb_categories.c.parent_id, 0), kb_categories.c.name, unique=True)

kb_articles = Table(
    "kb_articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("category_id", Integer, ForeignKey("kb_categories.id", ondelete="RESTRICT"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("is_published", Boolean, nullable=False, server_default="0"),
    Column("view_count", Integer, nullable=False, server_default="0"),
    # Who wrote the article and when a manager published it (NULL while a draft).
    Column("author_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("published_at", DateTime),
    *_timestamps(),
    _version(),
    CheckConstraint("view_count >= 0", name="view_count_non_negative"),
)

kb_article_votes = Table(
    # "Was this helpful?": one vote per user and article (a second vote changes the first).
    "kb_article_votes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("helpful", Boolean, nullable=False),
    Column("voted_at", DateTime, nullable=False, default=utc_now),
    UniqueConstraint("article_id", "user_id", name="uq_kb_article_votes_article_user"),
)

faqs = Table(
    "faqs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("category_id", Integer, ForeignKey("kb_categories.id", ondelete="SET NULL")),
    Column("question", String(300), nullable=False),
    Column("answer", Text, nullable=False),
    Column("sort_order", Integer, nullable=False, server_default="0"),
    # Pinned entries come first, before the sort order.
    Column("is_pinned", Boolean, nullable=False, server_default="0"),
    *_timestamps(),
    _version(),
)

# --- loyalty & marketing -----------------------------------------------------------------
loyalty_tiers = Table(
    "loyalty_tiers",
    metadata,
    Column("name", String(20), primary_key=True),
    Column("min_points", Integer, nullable=False, unique=True),
    CheckConstraint("min_points >= 0", name="min_points_non_negative"),
)

loyalty_ledger = Table(
    # Signed point movements; customers.loyalty_points is their running sum (crm.loyalty.ledger).
    "loyalty_ledger",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="SET NULL"), index=True),
    Column("points", Integer, nullable=False),
    Column("reason", String(200), nullable=False),
    # earn/reversal rows are keyed by order (an order earns once until reversed); see crm.loyalty.ledger.
    Column("kind", String(12), nullable=False, server_default="adjustment"),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", DateTime, nullable=False, default=utc_now),
    CheckConstraint("points <> 0", name="points_not_zero"),
    _in("kind", LOYALTY_LEDGER_KINDS),
    Index("ix_loyalty_ledger_created_at", "created_at"),
)

loyalty_settings = Table(
    # One row (id 1): the earning rule and the value of a point when redeemed, editable by managers.
    "loyalty_settings",
    metadata,
    Column("id", Integer, primary_key=True),
    # Points per whole unit of currency of a counted order's total (floor of total x rate).
    Column("points_per_currency_unit", Numeric(10, 4), nullable=False, server_default="1"),
    # Points that buy 1.00 of discount on an order.
    Column("points_per_discount_unit", Integer, nullable=False, server_default="100"),
    Column("updated_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    *_timestamps(),
    _version(),
    CheckConstraint("points_per_currency_unit >= 0", name="points_per_currency_unit_non_negative"),
    CheckConstraint("points_per_discount_unit > 0", name="points_per_discount_unit_positive"),
)

loyalty_tier_changes = Table(
    # Written whenever a ledger row moves a balance across a tier threshold.
    "loyalty_tier_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("from_tier", String(20), nullable=False),
    Column("to_tier", String(20), nullable=False),
    Column("balance", Integer, nullable=False),
    Column("changed_at", DateTime, nullable=False, default=utc_now),
    CheckConstraint("from_tier <> to_tier", name="tier_changed"),
    Index("ix_loyalty_tier_changes_changed_at", "changed_at"),
)

segments = Table(
    "segments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(120), nullable=False, unique=True),
    Column("description", Text),
    # JSON rule tree: {"all"|"any": [...]}, {"not": {...}}, {"field", "op", "value"} (crm.marketing.rules)
    Column("rules_json", Text, nullable=False),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    *_timestamps(),
    _version(),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(160), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("status", String(10), nullable=False, server_default="draft"),
    Column("segment_id", Integer, ForeignKey("segments.id", ondelete="SET NULL")),
    Column("starts_at", DateTime),
    Column("ends_at", DateTime),
    _money("budget"),
    # Message template with {placeholders} (crm.marketing.templates); NULL on planned-only (demo) campaigns.
    Column("template_subject", String(200)),
    Column("template_body", Text),
    # Share of the contactable members drawn (with ``seed``) into the never-contacted control group.
    Column("holdout_percent", Integer, nullable=False, server_default="0"),
    Column("seed", Integer, nullable=False, server_default="0"),
    # A counted order within this many days of the send is a conversion (results default).
    Column("conversion_window_days", Integer, nullable=False, server_default="14"),
    Column("launched_at", DateTime),
    Column("sent_at", DateTime),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    *_timestamps(),
    _version(),
    _in("channel", CAMPAIGN_CHANNELS),
    CheckConstraint("holdout_percent BETWEEN 0 AND 90", name="holdout_percent_range"),
    CheckConstraint("conversion_window_days BETWEEN 1 AND 365", name="conversion_window_range"),
    _in("status", CAMPAIGN_STATUSES),
    *_non_negative("budget"),
    CheckConstraint("ends_at IS NULL OR starts_at IS NULL OR ends_at >= starts_at", name="ends_after_start"),
)

campaign_recipients = Table(
    "campaign_recipients",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("sent_at", DateTime),
    Column("opened_at", DateTime),
    Column("clicked_at", DateTime),
    Column("converted_at", DateTime),
    # Rows written before status existed (demo) were all sent.
    Column("status", String(16), nullable=False, server_default="sent"),
    # Why a member is not contactable ("no marketing consent", "no email address", "no phone number").
    Column("reason", String(60)),
    # The email address or phone number the message goes to, frozen at launch.
    Column("address", String(254)),
    # When a send run claimed the row (status sending) and the SMTP error of a failed delivery.
    Column("attempted_at", DateTime),
    Column("error", Text),
    _in("status", RECIPIENT_STATUSES),
    UniqueConstraint("campaign_id", "customer_id", name="uq_campaign_recipients_pair"),
    Index("ix_campaign_recipients_campaign_status", "campaign_id", "status"),
)

# --- operations --------------------------------------------------------------------------
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime, nullable=False, default=utc_now, index=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    # Kept as text as well, so the log still reads right after a user is deleted.
    Column("username", String(60), nullable=False),
    Column("action", String(10), nullable=False),
    Column("entity", String(40), nullable=False),
    Column("entity_id", String(40)),
    Column("before_json", Text),
    Column("after_json", Text),
    _in("action", AUDIT_ACTIONS),
    Index("ix_audit_log_entity", "entity", "entity_id"),
)

# --- digests and alerts ------------------------------------------------------------------
DIGEST_FREQUENCIES = ("daily", "weekly")
# The dashboard views a digest can carry (the Overview today).
DIGEST_VIEWS = ("overview",)
ALERT_KINDS = ("low_stock", "overdue_follow_ups", "sla_breaches", "revenue_drop")
NOTIFICATION_KINDS = ("digest", "alert")
DELIVERY_STATUSES = ("claimed", "sent", "failed")

digest_subscriptions = Table(
    # A user's daily or weekly mail of a dashboard view; times are in the app's time zone.
    "digest_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("frequency", String(8), nullable=False),
    Column("view", String(20), nullable=False, server_default="overview"),
    # Local time of day "HH:MM" and, for weekly digests, the weekday (0 = Monday).
    Column("send_at", String(5), nullable=False, server_default="08:00"),
    Column("weekday", Integer),
    # The sidebar filters of the view as page-address parameters (crm.filters_url), "" for none.
    Column("filters_query", Text, nullable=False, server_default=""),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    *_timestamps(),
    _version(),
    _in("frequency", DIGEST_FREQUENCIES),
    _in("view", DIGEST_VIEWS),
    CheckConstraint("weekday IS NULL OR (weekday >= 0 AND weekday <= 6)", name="weekday_range"),
    CheckConstraint("frequency = 'daily' OR weekday IS NOT NULL", name="weekly_has_weekday"),
    CheckConstraint("length(send_at) = 5 AND substr(send_at, 3, 1) = ':'", name="send_at_format"),
    UniqueConstraint("user_id", "view", "frequency", name="uq_digest_subscriptions_user_view_frequency"),
)
alert_rules = Table(
    # One rule per kind: its threshold (meaning per kind, crm/notifications/alerts.py) and whether it runs.
    "alert_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20), nullable=False, unique=True),
    Column("threshold", Numeric(12, 2), nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
    *_timestamps(),
    _version(),
    _in("kind", ALERT_KINDS),
    CheckConstraint("threshold >= 0", name="threshold_non_negative"),
)
alert_recipients = Table(
    "alert_recipients",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("alert_rule_id", Integer, ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    UniqueConstraint("alert_rule_id", "user_id", name="uq_alert_recipients_pair"),
)
alert_episodes = Table(
    # One condition of a rule from the run that found it until the run that found it gone. At most one
    # open episode per (rule, condition) — a partial unique index — so an alert fires once per condition,
    # and two schedulers can never both open (and mail) the same one.
    "alert_episodes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("alert_rule_id", Integer, ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False),
    Column("condition_key", String(120), nullable=False),
    Column("summary", Text, nullable=False),
    Column("opened_at", DateTime, nullable=False),
    Column("cleared_at", DateTime),
    Index(
        "uq_alert_episodes_open_condition",
        "alert_rule_id",
        "condition_key",
        unique=True,
        sqlite_where=text("cleared_at IS NULL"),
        postgresql_where=text("cleared_at IS NULL"),
    ),
)
notification_deliveries = Table(
    # A mail claimed before it is sent: the unique key makes a digest period or an alert episode go to a
    # user at most once, whatever runs at the same time or again after a crash.
    "notification_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(8), nullable=False),
    # The digest subscription or the alert episode.
    Column("reference_id", Integer, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # The digest's scheduled occurrence ("2026-12-07 08:00"); "" for alerts (an episode is mailed once).
    Column("period_key", String(40), nullable=False, server_default=""),
    Column("status", String(8), nullable=False, server_default="claimed"),
    Column("error", Text),
    Column("claimed_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    _in("kind", NOTIFICATION_KINDS),
    _in("status", DELIVERY_STATUSES),
    UniqueConstraint("kind", "reference_id", "user_id", "period_key", name="uq_notification_deliveries_once"),
)

# One row (id 1): a counter bumped in the commit of every transaction that changed data
# (crm/data_version.py), so every app server sees another's write on its next page run.
data_version = Table(
    "data_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False, server_default="0"),
)

# Stored CLV fits (crm/analytics/clv/stored.py): a cache shared by every server process, keyed by
# filters, as-of date, unit and model; a row only counts while its data_version is the current one.
clv_fits = Table(
    "clv_fits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("fit_key", String(64), nullable=False, unique=True),
    Column("description", Text, nullable=False),
    Column("data_version", BigInteger, nullable=False),
    Column("unit", String(1), nullable=False),
    Column("model", String(10), nullable=False),
    Column("as_of", Date),
    Column("fitted_at", DateTime, nullable=False, default=utc_now),
    Column("model_json", Text, nullable=False),
    Column("summary_parquet", LargeBinary, nullable=False),
)

import_mappings = Table(
    # Saved column mappings of the import wizard, reusable by name.
    "import_mappings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(120), nullable=False),
    Column("entity", String(20), nullable=False),
    Column("mapping_json", Text, nullable=False),
    *_timestamps(),
    _version(),
    UniqueConstraint("entity", "name", name="uq_import_mappings_entity_name"),
)

saved_views = Table(
    # A user's named sidebar filters on one page (``query``: the page-address parameters, as a
    # shared link carries them), reopened from the sidebar; each user sees only their own.
    "saved_views",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(80), nullable=False),
    Column("page", String(60), nullable=False),
    Column("query", String(2000), nullable=False, server_default=""),
    *_timestamps(),
    _version(),
    UniqueConstraint("user_id", "name", name="uq_saved_views_user_name"),
)
