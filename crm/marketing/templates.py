"""Message templates: ``{placeholder}`` text rendered per recipient, checked before a campaign launches.

Syntax: ``{first_name}`` is replaced by the recipient's value; ``{first_name|there}`` falls back to
"there" when the value is empty; ``{{`` and ``}}`` are literal braces. An unknown placeholder is an
error naming it (``TemplateError``), and so is a message whose subject or body renders empty.

The values of many recipients are read by one SQL statement (``recipient_contexts``): names and
addresses as stored, loyalty points and tier, and over counted orders (REVENUE_ORDER_STATUSES) the
order count, total spent, the local day of the last order and the favourite category (most spent;
ties: the name first in alphabetical order).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, func, select

from crm.reference import loyalty_tier_for
from crm.schema import REVENUE_ORDER_STATUSES, categories, customers, order_items, orders, products
from crm.settings import get_settings

__all__ = [
    "PLACEHOLDERS",
    "RenderedMessage",
    "Template",
    "TemplateError",
    "may_render_empty",
    "parse_template_file",
    "placeholders_in",
    "recipient_contexts",
    "render",
    "render_message",
    "validate_template",
]

# Every placeholder a template may use, with what it stands for (shown next to the editor).
PLACEHOLDERS: dict[str, str] = {
    "first_name": "first name",
    "last_name": "last name",
    "full_name": "first and last name",
    "company": "company",
    "email": "email address",
    "phone": "phone number",
    "city": "city",
    "loyalty_points": "loyalty points balance",
    "loyalty_tier": "loyalty tier (bronze, silver, gold, platinum)",
    "orders_count": "number of counted orders",
    "total_spent": "total spent over counted orders",
    "last_order_date": "local day of the last counted order (YYYY-MM-DD)",
    "favourite_category": "category the customer spent most on",
    "unsubscribe_url": "the recipient's personal unsubscribe link",
}
# Batch size of the context query: bounded IN lists on both engines.
CONTEXT_CHUNK = 500

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}|]*)(?:\|([^{}]*))?\}")


class TemplateError(ValueError):
    """A template that cannot be rendered; the message names the placeholder or the recipient."""


@dataclass(frozen=True)
class Template:
    subject: str
    body: str


@dataclass(frozen=True)
class RenderedMessage:
    customer_id: int
    subject: str
    body: str


def placeholders_in(text: str) -> list[str]:
    """The placeholder names ``text`` uses, in order of first use."""
    names: list[str] = []
    for match in _PLACEHOLDER.finditer(text):
        name = match.group(1)
        if name is not None and name.strip() not in names:
            names.append(name.strip())
    return names


def _unbalanced(text: str) -> str | None:
    leftover = _PLACEHOLDER.sub("", text)
    for brace in "{}":
        if brace in leftover:
            return brace
    return None


def validate_template(template: Template) -> None:
    """Refuse an empty subject or body, an unknown placeholder or a stray brace, naming it."""
    for part, text in (("subject", template.subject), ("body", template.body)):
        if not text.strip():
            raise TemplateError(f"The {part} is empty.")
        unknown = [name for name in placeholders_in(text) if name not in PLACEHOLDERS]
        if unknown:
            raise TemplateError(
                f"Unknown placeholder {{{unknown[0]}}} in the {part}; known: "
                + ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
                + "."
            )
        brace = _unbalanced(text)
        if brace is not None:
            raise TemplateError(f"A lone '{brace}' in the {part}; write {brace * 2} for a literal brace.")
    if "\n" in template.subject or "\r" in template.subject:
        raise TemplateError("The subject must be one line.")


def render(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each placeholder replaced (its fallback when the value is empty)."""

    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "{{":
            return "{"
        if whole == "}}":
            return "}"
        name = match.group(1).strip()
        if name not in values:
            raise TemplateError(f"Unknown placeholder {{{name}}}.")
        value = values[name]
        return value if value.strip() else (match.group(2) or "")

    return _PLACEHOLDER.sub(replace, text)


def may_render_empty(template: Template) -> bool:
    """True when some recipient's values could leave the subject or body empty (all placeholders empty).

    A part with literal text (or a non-empty fallback) outside its placeholders never renders empty,
    so the pre-launch check need not read every recipient's values for it.
    """
    blank = dict.fromkeys(PLACEHOLDERS, "")
    return any(not render(text, blank).strip() for text in (template.subject, template.body))


def render_message(template: Template, values: Mapping[str, str], customer_id: int) -> RenderedMessage:
    """Subject (one line) and body for one recipient; ``TemplateError`` naming them if either is empty."""
    subject = " ".join(render(template.subject, values).split())
    body = render(template.body, values).strip()
    for part, text in (("subject", subject), ("body", body)):
        if not text:
            raise TemplateError(
                f"The {part} renders empty for customer #{customer_id}; add a fallback like {{name|friend}}."
            )
    return RenderedMessage(customer_id=customer_id, subject=subject, body=body)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return str(value).strip()


def _local_day(value: object, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC).astimezone(zone).date().isoformat()


def _chunks(values: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def recipient_contexts(engine: Engine, customer_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """Placeholder values (all text, empty when missing) of each customer; ``unsubscribe_url`` is left empty
    here and filled by the sender, which knows the campaign."""
    zone = ZoneInfo(get_settings().timezone_name)
    counted = orders.c.status.in_(REVENUE_ORDER_STATUSES)
    contexts: dict[int, dict[str, str]] = {}
    with engine.connect() as connection:
        for chunk in _chunks(list(customer_ids), CONTEXT_CHUNK):
            totals = (
                select(
                    orders.c.customer_id,
                    func.count().label("orders_count"),
                    func.sum(orders.c.total).label("total_spent"),
                    func.max(orders.c.order_date).label("last_order_at"),
                )
                .where(counted, orders.c.customer_id.in_(chunk))
                .group_by(orders.c.customer_id)
                .subquery()
            )
            spend = (
                select(
                    orders.c.customer_id,
                    categories.c.name.label("category"),
                    func.sum(order_items.c.quantity * order_items.c.unit_price).label("spent"),
                )
                .join(order_items, order_items.c.order_id == orders.c.id)
                .join(products, products.c.id == order_items.c.product_id)
                .join(categories, categories.c.id == products.c.category_id)
                .where(counted, orders.c.customer_id.in_(chunk))
                .group_by(orders.c.customer_id, categories.c.name)
                .subquery()
            )
            ranked = select(
                spend.c.customer_id,
                spend.c.category,
                func.row_number()
                .over(partition_by=spend.c.customer_id, order_by=(spend.c.spent.desc(), spend.c.category))
                .label("rank"),
            ).subquery()
            favourite = select(ranked.c.customer_id, ranked.c.category).where(ranked.c.rank == 1).subquery()
            rows = connection.execute(
                select(
                    customers.c.id,
                    customers.c.first_name,
                    customers.c.last_name,
                    customers.c.company,
                    customers.c.email,
                    customers.c.phone,
                    customers.c.city,
                    customers.c.loyalty_points,
                    func.coalesce(totals.c.orders_count, 0).label("orders_count"),
                    func.coalesce(totals.c.total_spent, Decimal("0")).label("total_spent"),
                    totals.c.last_order_at,
                    favourite.c.category.label("favourite_category"),
                )
                .select_from(
                    customers.outerjoin(totals, totals.c.customer_id == customers.c.id).outerjoin(
                        favourite, and_(favourite.c.customer_id == customers.c.id)
                    )
                )
                .where(customers.c.id.in_(chunk))
            ).all()
            for row in rows:
                first, last = _text(row.first_name), _text(row.last_name)
                contexts[int(row.id)] = {
                    "first_name": first,
                    "last_name": last,
                    "full_name": " ".join(part for part in (first, last) if part),
                    "company": _text(row.company),
                    "email": _text(row.email),
                    "phone": _text(row.phone),
                    "city": _text(row.city),
                    "loyalty_points": f"{int(row.loyalty_points or 0):,}",
                    "loyalty_tier": loyalty_tier_for(int(row.loyalty_points or 0)),
                    "orders_count": str(int(row.orders_count)),
                    "total_spent": _text(Decimal(str(row.total_spent)).quantize(Decimal("0.01"))),
                    "last_order_date": _local_day(row.last_order_at, zone),
                    "favourite_category": _text(row.favourite_category),
                    "unsubscribe_url": "",
                }
    return contexts


def parse_template_file(text: str) -> Template:
    """A template file: the first line ``Subject: ...``, then a blank line, then the body.

    ``TemplateError`` (naming the problem) when the first line is not a subject line.
    """
    lines = text.replace("\r\n", "\n").lstrip("\ufeff").split("\n")
    first = lines[0] if lines else ""
    if not first.lower().startswith("subject:"):
        raise TemplateError(
            "The template file must start with a line 'Subject: ...', then a blank line, then the body."
        )
    subject = first.split(":", 1)[1].strip()
    rest = lines[1:]
    if rest and rest[0].strip():
        raise TemplateError("Leave one blank line between the 'Subject:' line and the body of the template file.")
    template = Template(subject=subject, body="\n".join(rest[1:]).strip())
    validate_template(template)
    return template
