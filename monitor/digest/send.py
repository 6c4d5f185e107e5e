"""Sending: an outbox message delivered once, and e-mail through the SMTP server.

A message is marked sent only once the SMTP server (plain, STARTTLS or SSL) accepted it; a
refusal or an unreachable server leaves it pending in the outbox for the next run. What a
digest says is `monitor.digest.render`'s; which messages exist is `monitor.digest.run`'s.
Operators' alerts (`send_alert`) go out through the same server.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from typing import Protocol

from monitor.config import SmtpSettings
from storage.records import OutboxEntry
from storage.repository import Repository

log = logging.getLogger(__name__)


class MailError(Exception):
    """The mail server could not be reached or did not accept a message."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        # A 5xx reply will fail again unchanged; callers may still retry (the address may be
        # fixed), but it is worth telling the operator apart from a server that was down.
        self.permanent = permanent


class Sender(Protocol):
    """Anything that delivers a finished message, or raises MailError."""

    def send(self, message: EmailMessage) -> None: ...


class SmtpSender:
    """Delivers messages through the SMTP server of `settings`, one connection per message."""

    def __init__(self, settings: SmtpSettings, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        # Tests pass a context that trusts their self-signed certificate; production verifies.
        self.ssl_context = ssl_context or ssl.create_default_context()

    def send(self, message: EmailMessage) -> None:
        """Hand `message` to the server; returns only once the server accepted it."""
        settings = self.settings
        try:
            if settings.ssl:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    settings.host, settings.port, timeout=settings.timeout,
                    context=self.ssl_context)
            else:
                client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            with client:
                if settings.starttls:
                    client.starttls(context=self.ssl_context)
                if settings.username:
                    password = settings.password
                    if password is None:
                        raise MailError(f"SMTP user {settings.username!r} is set but the "
                                        f"environment variable {settings.password_env} is not",
                                        permanent=True)
                    if not password.isascii():
                        # smtplib encodes AUTH data as ASCII and would crash mid-conversation.
                        raise MailError(f"the SMTP password in {settings.password_env} is not "
                                        "ASCII, which smtplib cannot send", permanent=True)
                    client.login(settings.username, password)
                refused = client.send_message(message)
        except MailError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            raise MailError(f"recipient refused: {_describe_refusals(exc.recipients)}",
                            permanent=_all_permanent(exc.recipients)) from exc
        except smtplib.SMTPResponseException as exc:
            raise MailError(f"SMTP server {settings.host}:{settings.port} answered "
                            f"{exc.smtp_code} {_reply_text(exc.smtp_error)}", permanent=500 <= exc.smtp_code < 600) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(f"cannot send through {settings.host}:{settings.port}: "
                            f"{exc.__class__.__name__}: {exc}") from exc
        if refused:
            # Some recipients took it, some did not: what was accepted must not be resent, so
            # this is logged rather than raised (raqib sends one recipient per message anyway).
            log.warning("message %s refused for %s", message["Message-ID"],
                        _describe_refusals(refused))
        log.info("sent %s to %s", message["Message-ID"], message["To"])


def _reply_text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _describe_refusals(refused: dict) -> str:
    return "; ".join(f"{address}: {code} {_reply_text(reply)}"
                     for address, (code, reply) in refused.items())


def _all_permanent(refused: dict) -> bool:
    return bool(refused) and all(500 <= code < 600 for code, _reply in refused.values())


def sender_domain(from_header: str) -> str:
    """The domain of the From address, for Message-IDs (`raqib.localhost` when there is none)."""
    addresses = getaddresses([from_header])
    address = addresses[0][1] if addresses else ""
    _local, at, domain = address.rpartition("@")
    return domain if at and domain else "raqib.localhost"


def new_message_id(from_header: str, tag: str) -> str:
    """A globally unique Message-ID under the sender's domain, e.g. `<...digest.egov@example.org>`."""
    # Shorter than make_msgid's, so that the header is not folded onto a second line.
    return f"<{uuid.uuid4().hex}.{tag}@{sender_domain(from_header)}>"


def compose(*, sender: str, recipient: str | list[str], subject: str, text: str,
            html: str | None = None, message_id: str | None = None,
            date: datetime | None = None, language: str | None = None) -> EmailMessage:
    """A message with a plain-text part and, when `html` is given, an HTML alternative."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient if isinstance(recipient, str) else ", ".join(recipient)
    message["Subject"] = subject
    message["Date"] = format_datetime(date or datetime.now(UTC))
    message["Message-ID"] = message_id or new_message_id(sender, "raqib")
    # Mail robots (vacation replies, ticket systems) must not answer an automatic message.
    message["Auto-Submitted"] = "auto-generated"
    if language:
        message["Content-Language"] = language
    message.set_content(text, cte=_transfer_encoding(text))
    if html is not None:
        message.add_alternative(html, subtype="html", cte=_transfer_encoding(html))
    return message


def _transfer_encoding(body: str) -> str:
    # Arabic in 8bit needs 8BITMIME on every hop; base64 is 7-bit clean and smaller than
    # quoted-printable for non-Latin text.
    return "7bit" if body.isascii() else "base64"


def send_alert(settings: SmtpSettings, recipients: list[str], subject: str, text: str) -> None:
    """Send a plain-text e-mail (source-health alerts); raises MailError when it cannot."""
    if not recipients:
        log.debug("alert %r has no recipients", subject)
        return
    message = compose(sender=settings.from_, recipient=recipients, subject=subject, text=text,
                      message_id=new_message_id(settings.from_, "alert"))
    SmtpSender(settings).send(message)


def deliver(repository: Repository, sender: Sender, entry: OutboxEntry, *, from_header: str,
            language: str | None = None) -> tuple[str, str | None]:
    """Send one pending outbox message and record it: ('sent' | 'failed', error).

    A message another sender has (or already sent) counts as sent: it is not ours to retry.
    """
    def send(message: OutboxEntry) -> str | None:
        try:
            sender.send(compose(sender=from_header, recipient=message.recipient,
                                subject=message.subject, text=message.body_text,
                                html=message.body_html, message_id=message.message_id,
                                date=message.created_at, language=language))
        except MailError as exc:
            log.warning("digest %s to %s not sent (attempt %d): %s", message.digest_id,
                        message.recipient, message.attempts + 1, exc)
            return str(exc)
        return None

    status, error = repository.outbox.deliver(entry.id, send)
    return ("sent", None) if status == "skipped" else (status, error)


__all__ = ["MailError", "Sender", "SmtpSender", "compose", "deliver", "new_message_id",
           "send_alert", "sender_domain"]
