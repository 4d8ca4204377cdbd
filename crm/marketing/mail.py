"""Sending mail over SMTP: one small client shared by campaigns and, later, scheduled digests and alerts.

``CRM_SMTP_URL`` says where: ``smtp://user:password@host:587`` (STARTTLS when the server offers it)
or ``smtps://user:password@host:465`` (TLS from the first byte). User and password are optional and
URL-encoded (``%40`` for ``@``). The sender is ``CRM_MAIL_FROM``. Every message is multipart:
a plain-text part first, an HTML part second, so any mail client shows something readable.
"""

from __future__ import annotations

import html
import re
import smtplib
import ssl
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

from crm.settings import get_settings

__all__ = [
    "MailConfigError",
    "MailSessionError",
    "MailSettings",
    "OutgoingMessage",
    "SendOutcome",
    "build_message",
    "mail_settings",
    "parse_smtp_url",
    "send_messages",
    "smtp_connection",
    "text_to_html",
]

# Seconds to wait for the SMTP server on connect and on each command: a dead server fails a batch, not the app.
SMTP_TIMEOUT_SECONDS = 30


class MailConfigError(ValueError):
    """CRM_SMTP_URL or CRM_MAIL_FROM is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    # True: TLS from the start (smtps://); False: plain, upgraded with STARTTLS when offered (smtp://).
    implicit_tls: bool
    username: str | None
    password: str | None
    sender: str

    def describe(self) -> str:
        """Where mail goes, without the password (for the UI and logs)."""
        scheme = "smtps" if self.implicit_tls else "smtp"
        who = f"{self.username}@" if self.username else ""
        return f"{scheme}://{who}{self.host}:{self.port} as {self.sender}"


def parse_smtp_url(url: str, sender: str | None) -> MailSettings:
    """``MailSettings`` from an smtp:// or smtps:// URL and the From address; ``MailConfigError`` if unusable."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"smtp", "smtps"}:
        raise MailConfigError(
            f"CRM_SMTP_URL must start with smtp:// or smtps:// (got {parts.scheme or 'no scheme'!r})."
        )
    if not parts.hostname:
        raise MailConfigError("CRM_SMTP_URL names no host, e.g. smtp://user:password@mail.example.com:587.")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 587)
    except ValueError as error:
        raise MailConfigError(f"CRM_SMTP_URL has a bad port: {error}.") from None
    if not sender or "@" not in sender:
        raise MailConfigError("CRM_MAIL_FROM must be set to the sender address (e.g. news@example.com).")
    return MailSettings(
        host=parts.hostname,
        port=port,
        implicit_tls=parts.scheme == "smtps",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        sender=sender,
    )


def mail_settings() -> MailSettings | None:
    """The configured SMTP server, or None when ``CRM_SMTP_URL`` is not set (mail is then exported)."""
    settings = get_settings()
    if settings.smtp_url is None:
        return None
    return parse_smtp_url(settings.smtp_url, settings.mail_from)


@dataclass(frozen=True)
class OutgoingMessage:
    to: str
    subject: str
    text: str
    # None: the HTML part is the plain text, escaped, with line breaks and links kept.
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Pictures the HTML shows inline as <img src="cid:NAME">: (NAME, PNG bytes). Digests carry charts.
    inline_images: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class SendOutcome:
    message: OutgoingMessage
    # None when the server accepted the message; else the server's (or the connection's) error.
    error: str | None

    @property
    def sent(self) -> bool:
        return self.error is None


_URL = re.compile(r"https?://[^\s<>\"']+")


def text_to_html(text: str) -> str:
    """A minimal HTML rendering of plain text: escaped, paragraphs and line breaks kept, URLs clickable."""
    paragraphs = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        escaped = _URL.sub(lambda match: f'<a href="{match.group(0)}">{match.group(0)}</a>', html.escape(block))
        paragraphs.append("<p>" + escaped.replace("\n", "<br>\n") + "</p>")
    return "<!DOCTYPE html>\n<html><body>\n" + "\n".join(paragraphs) + "\n</body></html>\n"


def build_message(message: OutgoingMessage, sender: str) -> EmailMessage:
    """The MIME message: multipart/alternative with the plain text first and the HTML second."""
    mime = EmailMessage()
    mime["From"] = sender
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(localtime=False, usegmt=True)
    mime["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1] or None)
    for name, value in message.headers.items():
        mime[name] = value
    mime.set_content(message.text)
    mime.add_alternative(message.html if message.html is not None else text_to_html(message.text), subtype="html")
    if message.inline_images:
        # multipart/alternative(text, multipart/related(html, images)): clients without HTML read the text.
        html_part = mime.get_payload()[1]
        for name, png in message.inline_images:
            html_part.add_related(png, maintype="image", subtype="png", cid=f"<{name}>", filename=f"{name}.png")
    return mime


@contextmanager
def smtp_connection(settings: MailSettings) -> Iterator[smtplib.SMTP]:
    """An open, authenticated SMTP session (STARTTLS when smtp:// and the server offers it)."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if settings.implicit_tls:
        client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS, context=context)
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS)
    try:
        client.ehlo()
        if not settings.implicit_tls and client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
        if settings.username:
            client.login(settings.username, settings.password or "")
        yield client
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def _decoded(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _error_text(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refusals = error.recipients.items()
        return "; ".join(f"{address}: {code} {_decoded(reply)}" for address, (code, reply) in refusals)
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_decoded(error.smtp_error)}"
    return f"{type(error).__name__}: {error}"


class MailSessionError(RuntimeError):
    """The SMTP session could not be opened, or broke: the messages not attempted yet were not sent.

    ``outcomes`` holds what was reported before (including the message in flight when it broke, as failed:
    its delivery is unknown); messages after it were neither claimed nor reported.
    """

    def __init__(self, reason: str, outcomes: list[SendOutcome]) -> None:
        super().__init__(reason)
        self.outcomes = outcomes


def send_messages(
    settings: MailSettings,
    messages: Iterable[OutgoingMessage],
    *,
    claim: Callable[[OutgoingMessage], bool] | None = None,
    on_result: Callable[[SendOutcome], None] | None = None,
) -> list[SendOutcome]:
    """Send ``messages`` over one SMTP session; each gets its own outcome, one refusal does not stop the rest.

    ``claim`` is called right before each message goes out; False skips it (no outcome): the campaign
    sender commits "sending" there, so a re-run never sends that message again. ``on_result`` is called
    right after each message (the campaign sender records sent/failed there, one commit each).
    ``MailSessionError`` when the server cannot be reached, refuses the sign-in, or the session breaks:
    the message in flight is reported failed (delivery unknown), later ones stay untouched (unclaimed),
    so an outage never marks people as failed who were not even tried.
    """
    pending: Sequence[OutgoingMessage] = list(messages)
    outcomes: list[SendOutcome] = []
    in_flight: OutgoingMessage | None = None

    def report(outcome: SendOutcome) -> None:
        outcomes.append(outcome)
        if on_result is not None:
            on_result(outcome)

    try:
        with smtp_connection(settings) as client:
            for message in pending:
                if claim is not None and not claim(message):
                    continue
                in_flight = message
                try:
                    client.send_message(build_message(message, settings.sender))
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as error:
                    in_flight = None
                    report(SendOutcome(message, _error_text(error)))
                    continue
                in_flight = None
                report(SendOutcome(message, None))
    except (smtplib.SMTPException, OSError) as error:
        reason = _error_text(error)
        if in_flight is not None:
            report(SendOutcome(in_flight, f"session broke while sending, delivery unknown: {reason}"))
        raise MailSessionError(reason, outcomes) from error
    return outcomes
