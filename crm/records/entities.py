"""The table-driven description of every entity the records workspace edits.

One ``EntitySpec`` per entity says which columns the grid shows, how each is typed and
validated, which read-only columns come from joined tables (the customer's name on an
order), what the search box and filters look at, and what may be added, edited or deleted.
``crm.records.listing`` and ``crm.records.edits`` are generic over these specs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import ColumnElement, FromClause, Table, and_, func, literal

from crm.schema import (
    CUSTOMER_STATUSES,
    CUSTOMER_TYPES,
    GENDERS,
    INTERACTION_STATUSES,
    INTERACTION_TYPES,
    MOVEMENT_TYPES,
    ORDER_STATUSES,
    PAYMENT_METHODS,
    PRIORITIES,
    SEASONS,
    TICKET_CATEGORIES,
    TICKET_STATUSES,
    TRANSACTION_STATUSES,
    TRANSACTION_TYPES,
    brands,
    categories,
    customers,
    interactions,
    inventory,
    order_items,
    orders,
    price_history,
    product_variants,
    products,
    stock_movements,
    suppliers,
    tickets,
    transactions,
    users,
    utc_now,
    visit_payments,
    visits,
    warehouses,
)

__all__ = ["ENTITIES", "Derived", "EntitySpec", "Field", "FieldKind", "Join", "entity_spec"]

FieldKind = Literal["text", "email", "int", "money", "decimal", "date", "datetime", "enum", "bool", "ref", "lookup"]
# The sources an expression may use: "self" is the entity's table, other keys are join names.
Sources = Mapping[str, FromClause]
Expression = Callable[[Sources], ColumnElement[Any]]


@dataclass(frozen=True)
class Join:
    """A LEFT JOIN from the entity's table to ``table`` on ``local_column`` = ``table.id``."""

    name: str
    table: Table
    local_column: str


@dataclass(frozen=True)
class Field:
    """One editable (or shown) column of the entity's own table."""

    name: str
    label: str
    kind: FieldKind = "text"
    required: bool = False
    editable: bool = True
    choices: tuple[str, ...] = ()
    # Money, quantities and counts that may not go below zero.
    non_negative: bool = False
    # "ref": the id of a row of ``target`` (checked to exist). "lookup": shown and edited by
    # ``target``'s ``label_column`` (small tables: brands, categories…), stored as its id.
    target: Table | None = None
    label_column: str = "name"
    # Value for new rows that leave the cell empty.
    default: Any = None
    help: str | None = None
    # Free-text code of an open vocabulary (crm/vocabulary.py): stored lower_snake, shown as its label.
    coded: bool = False

    @property
    def column(self) -> str:
        """Database column: lookups are shown by name but stored as ``<name>_id``."""
        return f"{self.name}_id" if self.kind == "lookup" else self.name


@dataclass(frozen=True)
class Derived:
    """A read-only column computed in SQL, usually from a joined table."""

    name: str
    label: str
    expression: Expression
    joins: tuple[str, ...] = ()
    kind: FieldKind = "text"


@dataclass(frozen=True)
class EntitySpec:
    name: str
    title: str
    # How one row is named in messages: "Customer", "Order".
    singular: str
    table: Table
    fields: tuple[Field, ...]
    derived: tuple[Derived, ...] = ()
    joins: tuple[Join, ...] = ()
    # Searched for "contains", ignoring case in every alphabet (crm.dialect.folded_like; bound, %/_ escaped).
    search: tuple[Derived, ...] = ()
    default_sort: str = "id"
    default_descending: bool = True
    can_add: bool = True
    can_edit: bool = True
    can_delete: bool = True
    # Tables referencing this one whose rows belong to it (deleted with it) or are history kept
    # with the link cleared; every other referencing row blocks a delete.
    delete_ignores: tuple[str, ...] = ()
    # Filters: enum columns offered as multi-selects, the date column of the date range, etc.
    status_column: str | None = None
    type_column: str | None = None
    source_column: str | None = None
    date_column: str | None = None
    birthday_column: str | None = None
    # Named boolean filters (low stock…), each a WHERE clause.
    flags: Mapping[str, Expression] = field(default_factory=dict)
    # How a row is described in messages (column of the table), e.g. order_number.
    describe_column: str | None = None
    note: str = ""

    def field(self, name: str) -> Field:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(f"{self.name} has no field {name!r}")

    @property
    def display_order(self) -> tuple[str, ...]:
        """Grid column order: a joined column (the customer's name) right after its id column."""
        local_of = {join.name: join.local_column for join in self.joins}
        placed: set[str] = set()
        order: list[str] = ["id"]
        for field_ in self.fields:
            order.append(field_.name)
            for derived in self.derived:
                if derived.joins and local_of.get(derived.joins[0]) == field_.column and derived.name not in placed:
                    order.append(derived.name)
                    placed.add(derived.name)
        order += [derived.name for derived in self.derived if derived.name not in placed]
        return tuple(order)

    @property
    def column_names(self) -> tuple[str, ...]:
        """The columns of a listing frame: id, version (if any), fields, derived columns."""
        version = ("version",) if "version" in self.table.c else ()
        return ("id", *version, *(f.name for f in self.fields), *(d.name for d in self.derived))


def _self(column: str) -> Expression:
    return lambda sources: sources["self"].c[column]


def _person_name(source: str) -> Expression:
    def expression(sources: Sources) -> ColumnElement[Any]:
        table = sources[source]
        return func.trim(func.coalesce(table.c.first_name, "") + literal(" ") + func.coalesce(table.c.last_name, ""))

    return expression


def _joined(source: str, column: str) -> Expression:
    return lambda sources: sources[source].c[column]


def _customer_join() -> Join:
    return Join("customer", customers, "customer_id")


def _customer_columns() -> tuple[Derived, ...]:
    return (Derived("customer", "Customer", _person_name("customer"), ("customer",)),)


def _customer_search() -> tuple[Derived, ...]:
    return (
        Derived("customer_name", "Customer", _person_name("customer"), ("customer",)),
        Derived("customer_email", "Customer email", _joined("customer", "email"), ("customer",)),
        Derived("customer_phone", "Customer phone", _joined("customer", "phone"), ("customer",)),
    )


def _available(sources: Sources) -> ColumnElement[Any]:
    return sources["self"].c.on_hand - sources["self"].c.reserved


def _low_stock(sources: Sources) -> ColumnElement[Any]:
    available = _available(sources)
    return and_(available > 0, available <= sources["self"].c.reorder_level)


def _out_of_stock(sources: Sources) -> ColumnElement[Any]:
    return _available(sources) <= 0


def _follow_up_due(sources: Sources) -> ColumnElement[Any]:
    table = sources["self"]
    # Evaluated when the query is built: a cached page is at most RECORD_CACHE_SECONDS (crm.ui.cache) behind.
    return and_(table.c.follow_up_at.is_not(None), table.c.follow_up_at <= utc_now(), table.c.status != "cancelled")


def _follow_up_planned(sources: Sources) -> ColumnElement[Any]:
    table = sources["self"]
    return and_(table.c.follow_up_at.is_not(None), table.c.follow_up_at > utc_now(), table.c.status != "cancelled")


def _stamp(name: str = "created_at", label: str = "Created") -> Derived:
    return Derived(name, label, _self(name), kind="datetime")


CUSTOMERS = EntitySpec(
    name="customers",
    title="Customers",
    singular="Customer",
    table=customers,
    fields=(
        Field("first_name", "First name"),
        Field("last_name", "Last name"),
        Field("email", "Email", "email"),
        Field("phone", "Phone"),
        Field("company", "Company"),
        Field("city", "City"),
        Field("country", "Country"),
        Field("address", "Address"),
        Field("birth_date", "Birth date", "date"),
        Field("gender", "Gender", "enum", choices=GENDERS),
        Field(
            "source",
            "Source",
            coded=True,
            help="Where the customer came from; any spelling of a known source is saved as that source.",
        ),
        Field("customer_type", "Type", "enum", required=True, choices=CUSTOMER_TYPES, default="individual"),
        Field("status", "Status", "enum", required=True, choices=CUSTOMER_STATUSES, default="active"),
        Field("brand", "Brand", "lookup", target=brands),
        Field("tags", "Tags"),
        Field("preferred_season", "Preferred season", "enum", choices=SEASONS),
        Field("loyalty_points", "Loyalty points", "int", required=True, non_negative=True, default=0),
        # Campaigns contact only customers who agreed; changes are audited like every edit.
        Field("marketing_consent", "Marketing consent", "bool", required=True, default=False),
        Field("notes", "Notes"),
    ),
    derived=(_stamp(), _stamp("last_contact_at", "Last contact")),
    search=(
        Derived("name", "Name", _person_name("self")),
        Derived("email", "Email", _self("email")),
        Derived("phone", "Phone", _self("phone")),
        Derived("company", "Company", _self("company")),
    ),
    default_sort="id",
    status_column="status",
    type_column="customer_type",
    source_column="source",
    date_column="created_at",
    birthday_column="birth_date",
    delete_ignores=("campaign_recipients",),
    note="Customers with orders, transactions, visits, interactions or tickets cannot be deleted: set them inactive.",
)

ORDERS = EntitySpec(
    name="orders",
    title="Orders",
    singular="Order",
    table=orders,
    fields=(
        Field("order_number", "Number", editable=False),
        Field("customer_id", "Customer id", "ref", required=True, target=customers),
        Field("order_date", "Order date", "datetime", required=True),
        Field("status", "Status", "enum", required=True, choices=ORDER_STATUSES, default="pending"),
        Field("brand", "Brand", "lookup", target=brands),
        Field("warehouse", "Warehouse", "lookup", target=warehouses, label_column="code"),
        Field("payment_method", "Payment", "enum", choices=PAYMENT_METHODS),
        Field("subtotal", "Subtotal", "money", editable=False, help="Sum of the items (quantity × unit price)."),
        Field("tax", "Tax", "money", required=True, non_negative=True, default=0),
        Field("shipping", "Shipping", "money", required=True, non_negative=True, default=0),
        Field("discount", "Discount", "money", required=True, non_negative=True, default=0),
        Field("total", "Total", "money", editable=False, help="Subtotal + tax + shipping − discount."),
        Field("notes", "Notes"),
    ),
    derived=(*_customer_columns(),),
    joins=(_customer_join(),),
    search=(Derived("order_number", "Number", _self("order_number")), *_customer_search()),
    default_sort="order_date",
    # New orders need items and stock: they are created with the "New order" form.
    can_add=False,
    delete_ignores=("order_items", "stock_movements", "loyalty_ledger"),
    status_column="status",
    date_column="order_date",
    describe_column="order_number",
    note="Create orders with the New order form. Only cancelled orders without payments can be deleted.",
)

ORDER_ITEMS = EntitySpec(
    name="order_items",
    title="Order items",
    singular="Order item",
    table=order_items,
    fields=(
        Field("order_id", "Order id", "ref", required=True, target=orders),
        Field("product_id", "Product id", "ref", required=True, target=products),
        Field("variant_id", "Variant id", "ref", target=product_variants),
        Field("quantity", "Quantity", "int", required=True, non_negative=True),
        Field("unit_price", "Unit price", "money", non_negative=True, help="Empty: the product's current price."),
    ),
    derived=(
        Derived("order_number", "Order", _joined("order", "order_number"), ("order",)),
        Derived("product", "Product", _joined("product", "name"), ("product",)),
        Derived("line_total", "Line total", lambda s: s["self"].c.quantity * s["self"].c.unit_price, kind="money"),
    ),
    joins=(Join("order", orders, "order_id"), Join("product", products, "product_id")),
    search=(
        Derived("order_number", "Order", _joined("order", "order_number"), ("order",)),
        Derived("product", "Product", _joined("product", "name"), ("product",)),
    ),
    default_sort="id",
)

TRANSACTIONS = EntitySpec(
    name="transactions",
    title="Transactions",
    singular="Transaction",
    table=transactions,
    fields=(
        Field("transaction_number", "Number", required=True),
        Field("customer_id", "Customer id", "ref", required=True, target=customers),
        Field("order_id", "Order id", "ref", target=orders),
        Field("transaction_type", "Type", "enum", required=True, choices=TRANSACTION_TYPES, default="sale"),
        Field("status", "Status", "enum", required=True, choices=TRANSACTION_STATUSES, default="pending"),
        Field("method", "Method", "enum", required=True, choices=PAYMENT_METHODS),
        Field("amount", "Amount", "money", required=True, non_negative=True),
        Field("currency", "Currency", required=True, default="USD"),
        Field("processed_at", "Processed at", "datetime", required=True),
        Field("gateway_ref", "Gateway ref"),
        Field("gateway_response", "Gateway response"),
    ),
    derived=(*_customer_columns(),),
    joins=(_customer_join(),),
    search=(Derived("transaction_number", "Number", _self("transaction_number")), *_customer_search()),
    default_sort="processed_at",
    status_column="status",
    type_column="transaction_type",
    date_column="processed_at",
    describe_column="transaction_number",
)

PRODUCTS = EntitySpec(
    name="products",
    title="Products",
    singular="Product",
    table=products,
    fields=(
        Field("sku", "SKU", required=True),
        Field("name", "Name", required=True),
        Field("category", "Category", "lookup", target=categories),
        Field("brand", "Brand", "lookup", target=brands),
        Field("supplier", "Supplier", "lookup", target=suppliers),
        Field("price", "Price", "money", required=True, non_negative=True, help="Changes are kept in price history."),
        Field("cost", "Cost", "money", required=True, non_negative=True, default=0),
        Field("weight_kg", "Weight (kg)", "decimal", non_negative=True),
        Field("length_cm", "Length (cm)", "decimal", non_negative=True),
        Field("width_cm", "Width (cm)", "decimal", non_negative=True),
        Field("height_cm", "Height (cm)", "decimal", non_negative=True),
        Field("image_url", "Image URL"),
        Field("is_active", "Active", "bool", required=True, default=True),
        Field("description", "Description"),
    ),
    search=(Derived("sku", "SKU", _self("sku")), Derived("name", "Name", _self("name"))),
    default_sort="id",
    default_descending=False,
    delete_ignores=("price_history",),
    describe_column="sku",
    note="Products that were ordered or hold stock cannot be deleted: set them inactive.",
)

CATEGORIES = EntitySpec(
    name="categories",
    title="Categories",
    singular="Category",
    table=categories,
    fields=(Field("name", "Name", required=True), Field("parent", "Parent", "lookup", target=categories)),
    search=(Derived("name", "Name", _self("name")),),
    default_descending=False,
    describe_column="name",
)

BRANDS = EntitySpec(
    name="brands",
    title="Brands",
    singular="Brand",
    table=brands,
    fields=(Field("name", "Name", required=True), Field("description", "Description")),
    search=(Derived("name", "Name", _self("name")),),
    default_descending=False,
    describe_column="name",
)

SUPPLIERS = EntitySpec(
    name="suppliers",
    title="Suppliers",
    singular="Supplier",
    table=suppliers,
    fields=(
        Field("name", "Name", required=True),
        Field("contact_name", "Contact"),
        Field("email", "Email", "email"),
        Field("phone", "Phone"),
        Field("country", "Country"),
    ),
    search=(Derived("name", "Name", _self("name")), Derived("contact_name", "Contact", _self("contact_name"))),
    default_descending=False,
    describe_column="name",
)

WAREHOUSES = EntitySpec(
    name="warehouses",
    title="Warehouses",
    singular="Warehouse",
    table=warehouses,
    fields=(Field("code", "Code", required=True), Field("name", "Name", required=True), Field("city", "City")),
    search=(Derived("code", "Code", _self("code")), Derived("name", "Name", _self("name"))),
    default_descending=False,
    describe_column="code",
)

VARIANTS = EntitySpec(
    name="variants",
    title="Variants",
    singular="Variant",
    table=product_variants,
    fields=(
        Field("product_id", "Product id", "ref", required=True, target=products),
        Field("sku", "SKU", required=True),
        Field("color", "Color"),
        Field("size", "Size"),
        Field("price", "Price", "money", non_negative=True, help="Empty: same price as the product."),
    ),
    derived=(Derived("product", "Product", _joined("product", "name"), ("product",)),),
    joins=(Join("product", products, "product_id"),),
    search=(
        Derived("sku", "SKU", _self("sku")),
        Derived("product", "Product", _joined("product", "name"), ("product",)),
    ),
    default_descending=False,
    describe_column="sku",
)

INVENTORY = EntitySpec(
    name="inventory",
    title="Inventory",
    singular="Inventory row",
    table=inventory,
    fields=(
        Field("product_id", "Product id", "ref", required=True, target=products),
        Field("variant_id", "Variant id", "ref", target=product_variants),
        Field("warehouse", "Warehouse", "lookup", required=True, target=warehouses, label_column="code"),
        Field(
            "on_hand",
            "On hand",
            "int",
            required=True,
            non_negative=True,
            default=0,
            help="Editing it records a stock count movement for the difference.",
        ),
        Field("reserved", "Reserved", "int", editable=False, help="Held for open orders; follows order status."),
        Field("reorder_level", "Reorder level", "int", required=True, non_negative=True, default=0),
    ),
    derived=(
        Derived("sku", "SKU", _joined("product", "sku"), ("product",)),
        Derived("product", "Product", _joined("product", "name"), ("product",)),
        Derived("available", "Available", _available, kind="int"),
    ),
    joins=(Join("product", products, "product_id"),),
    search=(
        Derived("sku", "SKU", _joined("product", "sku"), ("product",)),
        Derived("product", "Product", _joined("product", "name"), ("product",)),
    ),
    default_descending=False,
    flags={"low_stock": _low_stock, "out_of_stock": _out_of_stock},
)

STOCK_MOVEMENTS = EntitySpec(
    name="stock_movements",
    title="Stock movements",
    singular="Stock movement",
    table=stock_movements,
    fields=(
        Field("product_id", "Product id", "ref", required=True, target=products),
        Field("variant_id", "Variant id", "ref", target=product_variants),
        Field("warehouse", "Warehouse", "lookup", required=True, target=warehouses, label_column="code"),
        Field(
            "movement_type",
            "Type",
            "enum",
            required=True,
            choices=MOVEMENT_TYPES,
            help="in/out/adjust/count change on hand; reserve/release change reserved.",
        ),
        Field(
            "quantity",
            "Quantity",
            "int",
            required=True,
            help="out and release are stored negative; adjust and count keep their sign.",
        ),
        Field("order_id", "Order id", "ref", target=orders),
        Field("note", "Note"),
    ),
    derived=(Derived("product", "Product", _joined("product", "name"), ("product",)), _stamp()),
    joins=(Join("product", products, "product_id"),),
    search=(
        Derived("product", "Product", _joined("product", "name"), ("product",)),
        Derived("note", "Note", _self("note")),
    ),
    default_sort="id",
    # Insert-only, through crm.records.inventory.add_stock_movement (the "Add a movement" form).
    can_add=False,
    can_edit=False,
    can_delete=False,
    type_column="movement_type",
    date_column="created_at",
    note="The stock ledger is insert-only: add movements with the form above; correct a mistake with a correction.",
)

PRICE_HISTORY = EntitySpec(
    name="price_history",
    title="Price history",
    singular="Price change",
    table=price_history,
    fields=(
        Field("product_id", "Product id", "ref", editable=False, target=products),
        Field("old_price", "Old price", "money", editable=False),
        Field("new_price", "New price", "money", editable=False),
    ),
    derived=(
        Derived("product", "Product", _joined("product", "name"), ("product",)),
        Derived("changed_at", "Changed at", _self("changed_at"), kind="datetime"),
    ),
    joins=(Join("product", products, "product_id"),),
    search=(Derived("product", "Product", _joined("product", "name"), ("product",)),),
    default_sort="changed_at",
    can_add=False,
    can_edit=False,
    can_delete=False,
    date_column="changed_at",
    note="Written automatically whenever a product's price changes.",
)

INTERACTIONS = EntitySpec(
    name="interactions",
    title="Interactions",
    singular="Interaction",
    table=interactions,
    fields=(
        Field("customer_id", "Customer id", "ref", required=True, target=customers),
        Field("interaction_type", "Type", "enum", required=True, choices=INTERACTION_TYPES, default="call"),
        Field("subject", "Subject", required=True),
        Field("priority", "Priority", "enum", required=True, choices=PRIORITIES, default="medium"),
        Field("status", "Status", "enum", required=True, choices=INTERACTION_STATUSES, default="completed"),
        Field("duration_minutes", "Minutes", "int", non_negative=True),
        Field("occurred_at", "Occurred at", "datetime", required=True),
        Field("follow_up_at", "Follow up at", "datetime"),
        Field("outcome", "Outcome"),
        Field("notes", "Notes"),
    ),
    # The owner is the user who logged it (set on save, crm.records.relationships.InteractionHooksMixin).
    derived=(*_customer_columns(), Derived("owner", "Owner", _joined("owner", "full_name"), ("owner",))),
    joins=(_customer_join(), Join("owner", users, "user_id")),
    search=(Derived("subject", "Subject", _self("subject")), *_customer_search()),
    default_sort="occurred_at",
    status_column="status",
    type_column="interaction_type",
    date_column="occurred_at",
    flags={"follow_up_due": _follow_up_due, "follow_up_planned": _follow_up_planned},
)

VISITS = EntitySpec(
    name="visits",
    title="Visits",
    singular="Visit",
    table=visits,
    fields=(
        Field("customer_id", "Customer id", "ref", required=True, target=customers),
        Field("visited_at", "Visited at", "datetime", required=True),
        Field("location", "Location"),
        Field("purpose", "Purpose"),
        Field("notes", "Notes"),
    ),
    derived=(*_customer_columns(),),
    joins=(_customer_join(),),
    search=(
        Derived("location", "Location", _self("location")),
        Derived("purpose", "Purpose", _self("purpose")),
        *_customer_search(),
    ),
    default_sort="visited_at",
    date_column="visited_at",
    # Payments are checked by VisitHooks.before_delete, which names them (the generic check only counts).
    delete_ignores=("visit_payments",),
    note="Visits with payments cannot be deleted: delete the payments first.",
)

VISIT_PAYMENTS = EntitySpec(
    name="visit_payments",
    title="Visit payments",
    singular="Visit payment",
    table=visit_payments,
    fields=(
        Field("visit_id", "Visit id", "ref", required=True, target=visits),
        Field("amount", "Amount", "money", required=True, non_negative=True),
        Field("method", "Method", "enum", required=True, choices=PAYMENT_METHODS),
        Field("paid_at", "Paid at", "datetime", required=True),
        Field(
            "order_id",
            "Order id",
            "ref",
            target=orders,
            help="The order this payment settles (already in revenue, so total takings count it once).",
        ),
    ),
    default_sort="paid_at",
    type_column="method",
    date_column="paid_at",
)

WORKFLOW_HELP = "Changed on the Service desk page, which records who changed it in the ticket's conversation."

TICKETS = EntitySpec(
    name="tickets",
    title="Tickets",
    singular="Ticket",
    table=tickets,
    fields=(
        Field("ticket_number", "Number", editable=False, help="CS + date + the day's 4-digit sequence, set on save."),
        Field("customer_id", "Customer id", "ref", required=True, target=customers),
        Field("order_id", "Order id", "ref", target=orders),
        Field("subject", "Subject", required=True),
        # The workflow fields change on the Service desk page only (crm.service.tickets): there every
        # change is checked against the status machine and writes a system note with its audit row.
        Field("category", "Category", "enum", editable=False, choices=TICKET_CATEGORIES, help=WORKFLOW_HELP),
        Field("priority", "Priority", "enum", editable=False, choices=PRIORITIES, help=WORKFLOW_HELP),
        Field("status", "Status", "enum", editable=False, choices=TICKET_STATUSES, help=WORKFLOW_HELP),
        Field(
            "assignee", "Assignee", "lookup", editable=False, target=users, label_column="username", help=WORKFLOW_HELP
        ),
        Field("first_response_at", "First response", "datetime", editable=False, help=WORKFLOW_HELP),
        Field("resolved_at", "Resolved", "datetime", editable=False, help=WORKFLOW_HELP),
        Field("satisfaction", "Satisfaction (1–5)", "int", editable=False, help=WORKFLOW_HELP),
        Field("description", "Description"),
    ),
    derived=(*_customer_columns(), _stamp("created_at", "Opened")),
    joins=(_customer_join(),),
    search=(
        Derived("ticket_number", "Number", _self("ticket_number")),
        Derived("subject", "Subject", _self("subject")),
        *_customer_search(),
    ),
    default_sort="created_at",
    status_column="status",
    type_column="category",
    date_column="created_at",
    delete_ignores=("ticket_notes",),
    describe_column="ticket_number",
)

ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (
        CUSTOMERS,
        ORDERS,
        ORDER_ITEMS,
        TRANSACTIONS,
        PRODUCTS,
        CATEGORIES,
        BRANDS,
        SUPPLIERS,
        WAREHOUSES,
        VARIANTS,
        INVENTORY,
        STOCK_MOVEMENTS,
        PRICE_HISTORY,
        INTERACTIONS,
        VISITS,
        VISIT_PAYMENTS,
        TICKETS,
    )
}


def entity_spec(entity: str | EntitySpec) -> EntitySpec:
    """The spec of ``entity`` (a name such as "customers"); raises ``KeyError`` for unknown names."""
    if isinstance(entity, EntitySpec):
        return entity
    try:
        return ENTITIES[entity]
    except KeyError:
        raise KeyError(f"Unknown entity {entity!r}; known: {', '.join(ENTITIES)}") from None
