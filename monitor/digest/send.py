"""Sending: an outbox message delivered once — e-mail through SMTP, chat through Apprise.

A message is claimed, sent, and marked sent only once the SMTP server (plain, STARTTLS or SSL)
or the chat service accepted it; an unreachable server leaves it pending for a later attempt,
a refusal of the message itself counts toward giving it up (storage/outbox.py). What a digest
says is `monitor.digest.render`'s and `chat`'s; which messages exist is `monitor.digest.run`'s;
chat channels are `monitor.digest.channels`'.
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
from monitor.faults import fault_point
from storage.records import OutboxEntry, RetryPolicy, SendFailure
from storage.repository import Repository

log = logging.getLogger(__name__)


class MailError(Exception):
    """The mail server could not be reached or did not accept a message."""

    def __init__(self, message: str, *, permanent: bool = False, refused: bool = False) -> None:
        super().__init__(message)
        # A 5xx reply will fail again unchanged; callers may still retry (the address may be
        # fixed), but it is worth telling the operator apart from a server that was down.
        self.permanent = permanent
        # The server refused this message (its recipient or its content), not raqib's login
        # or sender address: a message refused often enough is given up.
        self.refused = refused


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
        sending = False  # past the login: a refusal now is about this message
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
                sending = True
                refused = client.send_message(message)
        except MailError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            permanent = _all_permanent(exc.recipients)
            raise MailError(f"recipient refused: {_describe_refusals(exc.recipients)}",
                            permanent=permanent, refused=permanent) from exc
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600
            about_message = sending and not isinstance(exc, smtplib.SMTPSenderRefused)
            raise MailError(f"SMTP server {settings.host}:{settings.port} answered "
                            f"{exc.smtp_code} {_reply_text(exc.smtp_error)}",
                            permanent=permanent, refused=permanent and about_message) from exc
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
    message.set_content(text, cte=_transfer_encoding(text))
    if html is not None:
        message.add_alternative(html, subtype="html", cte=_transfer_encoding(html))
    if language:
        # After the content: set_content() drops every Content-* header set before it.
        message["Content-Language"] = language
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


class ChatSender(Protocol):
    """Anything that delivers an outbox message to its chat channel, or raises ChannelError."""

    def send(self, entry: OutboxEntry, *, language: str) -> None: ...


def deliver(repository: Repository, sender: Sender | None, entry: OutboxEntry, *,
            from_header: str, policy: RetryPolicy, language: str | None = None,
            chat: ChatSender | None = None,
            now: datetime | None = None) -> tuple[str, str | None]:
    """Claim one pending outbox message, send it, record it: (status, error).

    `now` is the run's clock (claims and back-off); the real time when None.

    `status`: sent · failed (pending again after its back-off) · refused (given up) · skipped
    (another sender holds it, or already sent it: not ours to send).
    """
    from monitor.digest.channels import AppriseSender, ChannelError

    def send(message: OutboxEntry) -> SendFailure | None:
        fault_point("digest:after-claim")
        try:
            if message.channel == "apprise":
                (chat or AppriseSender()).send(message, language=language or "en")
            else:
                if sender is None:
                    raise MailError("no mail server configured for this run")
                sender.send(compose(sender=from_header, recipient=message.recipient,
                                    subject=message.subject, text=message.body_text,
                                    html=message.body_html or None,
                                    message_id=message.message_id, date=message.created_at,
                                    language=language))
        except (MailError, ChannelError) as exc:
            log.warning("%s %s to %s not sent (attempt %d): %s", message.kind,
                        message.digest_id, message.recipient, message.attempts + 1, exc)
            return SendFailure(str(exc), refused=exc.refused)
        fault_point("digest:after-send")  # the service has it; the outbox does not know yet
        return None

    clock = (lambda: now) if now is not None else (lambda: datetime.now(UTC))
    return repository.outbox.deliver(entry.id, send, policy=policy, now=clock)


__all__ = ["ChatSender", "MailError", "Sender", "SmtpSender", "compose", "deliver",
           "new_message_id", "send_alert", "sender_domain"]
