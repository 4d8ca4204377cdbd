"""Digest mails: the Overview's numbers, charts and a link back, for each subscription that is due.

A digest covers the local day (daily) or the seven days (weekly) before its occurrence
(``crm.notifications.schedule``) with the subscription's filters, and holds:

* the Overview's period KPIs with their change against the equally long period before;
* the Overview's two charts (revenue per week and period-over-period growth over the last
  12 weeks, or 26 for a weekly digest) as inline PNGs — the same figures as the app
  (``crm.figures.overview``) with the period, the filters and the day it was made under the title;
* a link that opens the Overview with those filters, and a signed unsubscribe link;
* for roles that may see personal data, the period's largest orders with the customer's name —
  an agent's digest carries aggregates only.

Sending claims each (subscription, occurrence) in the database first (``deliveries``), so two
schedulers or a repeated run never send a digest period twice.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
from sqlalchemy import Engine, func, select

from crm.analytics.overview import DEFINITIONS, PeriodComparison, growth_trends, period_comparison
from crm.exports import PNG_HEIGHT, PNG_WIDTH, png_available
from crm.figures.overview import growth_figure, revenue_trend_figure
from crm.filters import Filters
from crm.filters_url import filters_from_query
from crm.marketing.mail import MailSessionError, MailSettings, OutgoingMessage, send_messages
from crm.notifications.deliveries import claim_delivery, finish_delivery
from crm.notifications.links import digest_unsubscribe_url, view_url
from crm.notifications.schedule import Occurrence, latest_occurrence
from crm.notifications.subscriptions import DigestSubscription, active_subscriptions
from crm.permissions import Permission, allowed
from crm.schema import REVENUE_ORDER_STATUSES, customers, orders

__all__ = ["Digest", "DigestRun", "build_digest", "digest_filters", "send_due_digests"]

# The KPIs of a digest, as on the Overview's "Selected period" cards: label, PeriodTotals attribute, kind.
DIGEST_KPIS: tuple[tuple[str, str, str], ...] = (
    ("Revenue", "revenue", "money"),
    ("Orders", "orders", "count"),
    ("New customers", "new_customers", "count"),
    ("Buying customers", "buying_customers", "count"),
    ("Average order value", "average_order_value", "money"),
    ("Conversion rate", "conversion_rate", "percent"),
)
KPI_HELP = {
    "revenue": DEFINITIONS["revenue"],
    "orders": DEFINITIONS["orders"],
    "new_customers": DEFINITIONS["new_customers"],
    "buying_customers": DEFINITIONS["buying_customers"],
    "average_order_value": DEFINITIONS["average_order_value"],
    "conversion_rate": DEFINITIONS["conversion_rate"],
}
# Weeks of trend drawn in the charts: a quarter for a daily digest, half a year for a weekly one.
TREND_WEEKS = {"daily": 12, "weekly": 26}
LARGEST_ORDERS = 5
# Chart size in the mail: the export's aspect ratio at a width mail clients show without scaling.
MAIL_CHART_WIDTH = 640


@dataclass(frozen=True)
class Digest:
    subject: str
    text: str
    html: str
    unsubscribe_url: str
    images: tuple[tuple[str, bytes], ...] = ()


@dataclass
class DigestRun:
    """What one ``send_due_digests`` call did (the CLI prints it)."""

    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    # Already claimed by this or another run, or not due yet.
    skipped: int = 0


def digest_filters(subscription: DigestSubscription, occurrence: Occurrence, zone_name: str) -> Filters:
    """The subscription's filters over the occurrence's days, ages counted on its last day."""
    base = Filters(timezone_name=zone_name, today=occurrence.last_day)
    chosen = filters_from_query(dict(parse_qsl(subscription.filters_query)), base=base).filters
    return chosen.with_dates(occurrence.first_day, occurrence.last_day)


def _value(kind: str, value: object) -> str:
    if value is None:
        return "—"
    if kind == "money":
        return f"${Decimal(str(value)):,.2f}"
    if kind == "percent":
        return f"{float(value):.1%}"  # type: ignore[arg-type]
    return f"{int(value):,}"  # type: ignore[call-overload]


def _change(comparison: PeriodComparison, name: str, period_word: str) -> str:
    change = comparison.change(name)
    if change is not None:
        return f"{change:+.1%} vs the {period_word} before"
    return f"nothing to compare: none the {period_word} before"


def _day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def _period_words(occurrence: Occurrence) -> tuple[str, str]:
    """('Sat 5 Dec 2026', 'day') or ('Sun 29 Nov – Sat 5 Dec 2026', 'week')."""
    if occurrence.first_day == occurrence.last_day:
        return _day(occurrence.last_day), "day"
    return f"{_day(occurrence.first_day)} – {_day(occurrence.last_day)}", "week"


def _chart_context(figure: go.Figure, filters: Filters, made_on: date) -> go.Figure:
    """The period, filters and day made under the title (escaped: brand names are typed by users)."""
    title = figure.layout.title.text or ""
    context = html.escape(f"{filters.describe()} · made {made_on:%d %b %Y}")
    figure.update_layout(title={"text": f"{html.escape(title)}<br><sup>{context}</sup>"}, margin={"t": 90})
    return figure


def _png(figure: go.Figure) -> bytes:
    height = round(MAIL_CHART_WIDTH * PNG_HEIGHT / PNG_WIDTH)
    return figure.to_image(format="png", width=MAIL_CHART_WIDTH, height=height, scale=2)


def _charts(engine: Engine, filters: Filters, frequency: str, made_on: date) -> tuple[tuple[str, bytes], ...]:
    weeks = TREND_WEEKS[frequency]
    assert filters.end_date is not None
    trend_filters = filters.with_dates(filters.end_date - timedelta(weeks=weeks) + timedelta(days=1), filters.end_date)
    trends = growth_trends(engine, trend_filters, grain="week")
    figures = {
        "revenue_trend": revenue_trend_figure(trends, "week"),
        "growth": growth_figure(trends),
    }
    return tuple((name, _png(_chart_context(figure, trend_filters, made_on))) for name, figure in figures.items())


def _largest_orders(engine: Engine, filters: Filters) -> list[tuple[str, str, Decimal]]:
    """(order number, customer name, total) of the period's largest counted orders."""
    statement = (
        select(
            orders.c.order_number,
            func.trim(func.coalesce(customers.c.first_name, "") + " " + func.coalesce(customers.c.last_name, "")),
            orders.c.total,
        )
        .join(customers, customers.c.id == orders.c.customer_id)
        .where(orders.c.status.in_(REVENUE_ORDER_STATUSES), *filters.order_clauses(orders, customers))
        .order_by(orders.c.total.desc(), orders.c.id)
        .limit(LARGEST_ORDERS)
    )
    with engine.connect() as connection:
        return [
            (row[0], row[1], Decimal(str(row[2])).quantize(Decimal("0.01"))) for row in connection.execute(statement)
        ]


ChartCache = dict[tuple[Filters, str, date], tuple[tuple[str, bytes], ...]]


def build_digest(
    engine: Engine,
    subscription: DigestSubscription,
    occurrence: Occurrence,
    *,
    zone_name: str,
    app_url: str,
    secret_key: str,
    with_charts: bool = True,
    chart_cache: ChartCache | None = None,
) -> Digest:
    """The mail of one subscription's occurrence: plain text first, HTML with inline charts second."""
    filters = digest_filters(subscription, occurrence, zone_name)
    comparison = period_comparison(engine, filters)
    period, period_word = _period_words(occurrence)
    kind = "Daily" if subscription.frequency == "daily" else "Weekly"
    subject = f"Pulse CRM {kind.lower()} digest: {period}"
    open_link = view_url(app_url, "overview", filters)
    unsubscribe_link = digest_unsubscribe_url(app_url, secret_key, subscription.id, subscription.user_id)
    rows = [
        (
            label,
            _value(value_kind, getattr(comparison.current, name)),
            _change(comparison, name, period_word),
            KPI_HELP[name],
        )
        for label, name, value_kind in DIGEST_KPIS
    ]
    personal = allowed(subscription.role, Permission.EXPORT_PERSONAL_DATA)
    largest = _largest_orders(engine, filters) if personal else []
    images: tuple[tuple[str, bytes], ...] = ()
    if with_charts:
        # Subscribers of the same view, filters and schedule share one rendering (a browser start each).
        chart_key = (filters, subscription.frequency, occurrence.local_moment.date())
        cache: ChartCache = {} if chart_cache is None else chart_cache
        if chart_key not in cache:
            cache[chart_key] = _charts(engine, filters, subscription.frequency, occurrence.local_moment.date())
        images = cache[chart_key]

    text_lines = [f"{kind} digest of the Overview, {period}", filters.describe(), ""]
    text_lines += [f"{label}: {value} ({change})" for label, value, change, _help in rows]
    if largest:
        text_lines += ["", "Largest orders:"] + [
            f"  {number}  {name}  ${total:,.2f}" for number, name, total in largest
        ]
    if images:
        text_lines += ["", "Charts (revenue per week, growth) are in the HTML version of this mail."]
    text_lines += [
        "",
        f"Open the Overview with these filters: {open_link}",
        "",
        f"Stop this digest: {unsubscribe_link}",
    ]
    text = "\n".join(text_lines) + "\n"

    escape = html.escape
    table_rows = "".join(
        f'<tr><td title="{escape(help_text)}" style="padding:4px 12px 4px 0">{escape(label)}</td>'
        f'<td style="padding:4px 12px;text-align:right;font-weight:bold">{escape(value)}</td>'
        f'<td style="padding:4px 0;color:#555">{escape(change)}</td></tr>'
        for label, value, change, help_text in rows
    )
    parts = [
        "<!DOCTYPE html>",
        '<html><body style="font-family:Arial,Helvetica,sans-serif;color:#222;max-width:680px">',
        f'<h2 style="margin-bottom:4px">{escape(kind)} digest of the Overview</h2>',
        f'<p style="margin-top:0;color:#555">{escape(period)} · {escape(filters.describe())}</p>',
        f'<table style="border-collapse:collapse">{table_rows}</table>',
    ]
    parts += [
        f'<p><img src="cid:{name}" alt="{escape(name.replace("_", " "))} chart" width="{MAIL_CHART_WIDTH}" '
        'style="max-width:100%;height:auto"></p>'
        for name, _png_bytes in images
    ]
    if largest:
        order_rows = "".join(
            f'<tr><td style="padding:2px 12px 2px 0">{escape(number)}</td><td style="padding:2px 12px">'
            f'{escape(name)}</td><td style="text-align:right">${total:,.2f}</td></tr>'
            for number, name, total in largest
        )
        parts.append(f'<h3>Largest orders</h3><table style="border-collapse:collapse">{order_rows}</table>')
    parts += [
        f'<p><a href="{escape(open_link)}">Open the Overview with these filters</a></p>',
        f'<p style="font-size:12px;color:#777"><a href="{escape(unsubscribe_link)}">Stop this digest</a></p>',
        "</body></html>",
    ]
    return Digest(
        subject=subject, text=text, html="\n".join(parts) + "\n", unsubscribe_url=unsubscribe_link, images=images
    )


def _occurrence_is_due(subscription: DigestSubscription, occurrence: Occurrence, zone: ZoneInfo) -> bool:
    """Only occurrences after the subscription was made: subscribing at 10:00 does not send today's 08:00."""
    moment_utc = occurrence.local_moment.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
    return moment_utc >= subscription.created_at  # type: ignore[operator]


def send_due_digests(
    engine: Engine,
    mail: MailSettings,
    *,
    now: datetime,
    zone_name: str,
    app_url: str,
    secret_key: str,
    progress: Callable[[str], None] | None = None,
    with_charts: bool | None = None,
) -> DigestRun:
    """Send every digest whose latest occurrence (at ``now``, aware) has not been claimed yet.

    Charts are drawn when a browser can render them (``with_charts`` None) or as told.
    """
    zone = ZoneInfo(zone_name)
    run = DigestRun()
    with_charts = png_available() if with_charts is None else with_charts
    chart_cache: ChartCache = {}
    for subscription in active_subscriptions(engine):
        occurrence = latest_occurrence(subscription.frequency, subscription.send_at, subscription.weekday, now, zone)
        if not _occurrence_is_due(subscription, occurrence, zone) or not subscription.email:
            run.skipped += 1
            continue
        with engine.begin() as connection:
            delivery_id = claim_delivery(
                connection,
                kind="digest",
                reference_id=subscription.id,
                user_id=subscription.user_id,
                period_key=occurrence.period_key,
            )
        if delivery_id is None:
            run.skipped += 1
            continue
        label = f"{subscription.username} ({subscription.frequency}, {occurrence.period_key})"
        try:
            digest = build_digest(
                engine,
                subscription,
                occurrence,
                zone_name=zone_name,
                app_url=app_url,
                secret_key=secret_key,
                with_charts=with_charts,
                chart_cache=chart_cache,
            )
            message = OutgoingMessage(
                to=subscription.email,
                subject=digest.subject,
                text=digest.text,
                html=digest.html,
                inline_images=digest.images,
                headers={"List-Unsubscribe": f"<{digest.unsubscribe_url}>"},
            )
            outcomes = send_messages(mail, [message])
            error = outcomes[0].error if outcomes else "not sent"
        except MailSessionError as failure:
            error = f"mail server: {failure}"
        except Exception as failure:  # a digest that cannot be built must not stop the others
            error = f"{type(failure).__name__}: {failure}"
        finish_delivery(engine, delivery_id, error)
        (run.failed if error else run.sent).append(label + (f": {error}" if error else ""))
        if progress is not None:
            progress(("failed " if error else "sent ") + label)
    return run
