"""Templates, SMTP settings, unsubscribe tokens and message suggestions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from crm.marketing.mail import MailConfigError, OutgoingMessage, parse_smtp_url, send_messages, text_to_html
from crm.marketing.suggestions import SegmentNumbers, segment_numbers, suggest_messages
from crm.marketing.templates import (
    PLACEHOLDERS,
    Template,
    TemplateError,
    may_render_empty,
    parse_template_file,
    recipient_contexts,
    render,
    render_message,
    validate_template,
)
from crm.marketing.unsubscribe import unsubscribe, unsubscribe_token, verify_unsubscribe_token
from crm.schema import audit_log, customers
from tests.fixtures.tiny_shop import TinyShop
from tests.mail_server import LocalSmtpServer
from tests.marketing.campaign_support import SECRET, prepare_consent


def test_a_placeholder_falls_back_when_empty_and_double_braces_are_literal() -> None:
    values = {"first_name": "", "loyalty_points": "1,200"}
    assert render("Hi {first_name|friend}, {{points}}: {loyalty_points}", values) == "Hi friend, {points}: 1,200"


def test_validation_names_the_unknown_placeholder_a_lone_brace_and_an_empty_part() -> None:
    with pytest.raises(TemplateError, match=r"Unknown placeholder \{nickname\} in the subject"):
        validate_template(Template("Hi {nickname}", "body"))
    with pytest.raises(TemplateError, match="A lone '}' in the body"):
        validate_template(Template("Hi", "50 % off}"))
    with pytest.raises(TemplateError, match="The body is empty"):
        validate_template(Template("Hi", "  "))


def test_a_message_that_renders_empty_names_the_customer() -> None:
    with pytest.raises(TemplateError, match="body renders empty for customer #9"):
        render_message(Template("Hi", "{first_name}"), {"first_name": " "}, 9)


def test_the_template_file_is_a_subject_line_a_blank_line_and_the_body() -> None:
    template = parse_template_file("Subject: Hello {first_name}\n\nDear {first_name},\nthanks.\n")
    assert template == Template("Hello {first_name}", "Dear {first_name},\nthanks.")
    with pytest.raises(TemplateError, match=r"must start with a line 'Subject: \.\.\.'"):
        parse_template_file("Hello\n\nbody")
    with pytest.raises(TemplateError, match="Leave one blank line"):
        parse_template_file("Subject: Hi\nbody")


def test_recipient_values_come_from_counted_orders(tiny_shop: TinyShop) -> None:
    contexts = recipient_contexts(tiny_shop.engine, [2, 4, 5])
    # Bob: O3 38.00 counted, O4 cancelled; Dan: O7 50.00 counted, O6 refunded; Eve never ordered.
    assert {
        key: contexts[2][key] for key in ("orders_count", "total_spent", "last_order_date", "favourite_category")
    } == {
        "orders_count": "1",
        "total_spent": "38.00",
        "last_order_date": "2025-01-25",
        "favourite_category": "Home",
    }
    assert (contexts[4]["loyalty_tier"], contexts[4]["total_spent"]) == ("gold", "50.00")
    assert (contexts[5]["last_order_date"], contexts[5]["favourite_category"], contexts[5]["orders_count"]) == (
        "",
        "",
        "0",
    )
    assert set(contexts[5]) == set(PLACEHOLDERS)


def test_smtp_urls_give_host_port_tls_and_decoded_credentials() -> None:
    secure = parse_smtp_url("smtps://news%40shop.test:p%40ss@mail.shop.test", "news@shop.test")
    assert (secure.host, secure.port, secure.implicit_tls) == ("mail.shop.test", 465, True)
    assert (secure.username, secure.password) == ("news@shop.test", "p@ss")
    assert "p@ss" not in secure.describe()
    plain = parse_smtp_url("smtp://127.0.0.1:2525", "news@shop.test")
    assert (plain.port, plain.implicit_tls, plain.username) == (2525, False, None)
    with pytest.raises(MailConfigError, match="smtp:// or smtps://"):
        parse_smtp_url("http://mail.shop.test", "news@shop.test")
    with pytest.raises(MailConfigError, match="CRM_MAIL_FROM"):
        parse_smtp_url("smtp://mail.shop.test", None)


def test_the_html_part_escapes_text_and_links_urls() -> None:
    page = text_to_html("5 < 6 & more\nsee https://x.test/a")
    assert "5 &lt; 6 &amp; more<br>" in page and '<a href="https://x.test/a">https://x.test/a</a>' in page


def test_an_unsubscribe_link_clears_consent_once_and_is_audited(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    prepare_consent(engine)
    token = unsubscribe_token(SECRET, 2, 7)
    assert verify_unsubscribe_token(SECRET, token) == (2, 7)
    first = unsubscribe(engine, SECRET, token)
    assert (first.valid, first.changed) == (True, True)
    assert _consent(engine, 2) is False
    again = unsubscribe(engine, SECRET, token)
    assert (again.valid, again.changed) == (True, False)
    with engine.connect() as connection:
        rows = connection.execute(
            select(audit_log.c.username, audit_log.c.after_json).where(
                audit_log.c.entity == "customers", audit_log.c.entity_id == "2"
            )
        ).all()
    assert len(rows) == 1 and rows[0].username == "unsubscribe-link" and '"campaign_id": 7' in rows[0].after_json


@pytest.mark.parametrize(
    "forged",
    [
        "1." + unsubscribe_token(SECRET, 2, 7).split(".", 1)[1],  # someone else's id with Bob's signature
        unsubscribe_token("another-key-another-key-another-key", 1, 7),
        "1.7",
        "",
    ],
)
def test_a_forged_or_malformed_token_changes_nothing(tiny_shop: TinyShop, forged: str) -> None:
    engine = tiny_shop.engine
    prepare_consent(engine)
    assert unsubscribe(engine, SECRET, forged).valid is False
    assert _consent(engine, 1) is True


def _consent(engine: Engine, customer_id: int) -> bool:
    with engine.connect() as connection:
        return bool(
            connection.execute(select(customers.c.marketing_consent).where(customers.c.id == customer_id)).scalar_one()
        )


def test_segment_numbers_are_counted_over_counted_orders(tiny_shop: TinyShop) -> None:
    numbers = segment_numbers(tiny_shop.engine, [1, 2, 5], today=tiny_shop.today)
    # Alice 176.00 (49 + 100 + 27; last 03-28 → 3 days), Bob 38.00 (last 01-25 → 65 days); Eve never ordered.
    assert (numbers.members, numbers.buyers, numbers.average_spent) == (3, 2, Decimal("107.00"))
    assert numbers.average_days_since_last_order == 34.0
    assert numbers.average_points == 500  # (1200 + 300 + 0) / 3


def test_suggestions_put_the_segments_own_kind_first_and_quote_its_numbers() -> None:
    numbers = SegmentNumbers(
        members=42,
        buyers=40,
        average_spent=Decimal("310.00"),
        average_days_since_last_order=212.0,
        birthdays_this_month=3,
        average_points=800,
    )
    at_risk = {"all": [{"field": "rfm_segment", "op": "in", "value": ["At Risk", "Can't Lose Them"]}]}
    suggestions = suggest_messages("Lapsing big spenders", at_risk, numbers)
    first = suggestions[0]
    assert (first.kind, first.recommended) == ("win_back", True)
    assert "42 members" in first.why and "310.00" in first.why and "212 days" in first.why
    assert "20 %" in first.template.subject  # more than 180 days away: the strongest offer
    assert [s.kind for s in suggestions[1:]] == ["birthday", "tier_upgrade", "thank_you"]
    assert not any(s.recommended for s in suggestions[1:])
    tier = next(s for s in suggestions if s.kind == "tier_upgrade")
    assert "200 short of silver" in tier.why  # 1000 − 800
    for suggestion in suggestions:
        validate_template(suggestion.template)  # every suggestion is a valid template
    champions = suggest_messages(
        "Best", {"all": [{"field": "rfm_segment", "op": "in", "value": ["Champions"]}]}, numbers
    )
    assert champions[0].kind == "thank_you"
    birthdays = suggest_messages("x", {"all": [{"field": "birthday_month", "op": "=", "value": 3}]}, numbers)
    assert birthdays[0].kind == "birthday" and "3 of 42 members" in birthdays[0].why


def test_only_a_template_made_of_placeholders_alone_may_render_empty() -> None:
    assert may_render_empty(Template("{first_name}", "Hello"))
    assert may_render_empty(Template("Hi", " {first_name} {last_name} "))
    assert not may_render_empty(Template("Hi {first_name}", "Dear {first_name|friend}"))
    assert not may_render_empty(Template("{first_name|Hello}", "{{offer}}"))


def test_send_messages_reports_each_outcome_and_sends_plain_text_with_an_html_alternative(
    smtp_server: LocalSmtpServer,
) -> None:
    smtp_server.refuse("nobody@shop.test")
    settings = parse_smtp_url(smtp_server.url, "digest@shop.test")
    outcomes = send_messages(
        settings,
        [
            OutgoingMessage("ann@shop.test", "Daily digest", "Revenue 5 < 6\nhttps://crm.test/overview"),
            OutgoingMessage("nobody@shop.test", "Daily digest", "x"),
        ],
    )
    assert [(outcome.message.to, outcome.sent) for outcome in outcomes] == [
        ("ann@shop.test", True),
        ("nobody@shop.test", False),
    ]
    assert "550" in (outcomes[1].error or "")
    [mail] = smtp_server.messages
    assert (mail.sender, mail.recipients, mail.subject) == ("digest@shop.test", ["ann@shop.test"], "Daily digest")
    assert mail.part("text/plain").strip() == "Revenue 5 < 6\nhttps://crm.test/overview"
    assert '<a href="https://crm.test/overview">' in mail.part("text/html") and "5 &lt; 6" in mail.part("text/html")
