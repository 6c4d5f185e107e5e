"""Operators' alerts — a source failing or quiet, a message refused for good — to the operators'
e-mail addresses (`health.operators`) and chat channels (`health.channels`).

Alerts go through the outbox like digests: built (with the change of state that caused them,
in one transaction), then sent once, retried while a service is down. They are in English,
for whoever runs raqib.
"""

from __future__ import annotations

import logging
from datetime import datetime

from monitor.config import Config
from monitor.digest.chat import Span, chat_message
from monitor.digest.send import new_message_id
from storage.records import NewMessage, OutboxEntry
from storage.repository import Repository

log = logging.getLogger(__name__)

OPERATORS = "@operators"  # the outbox digest_id of operators' alerts (no digest id has an @)


def operator_messages(config: Config, subject: str, text: str, *,
                      alert_key: str | None = None) -> list[NewMessage]:
    """One alert message per operator address and per operators' channel.

    `alert_key` makes the alert once only (per recipient): a second one with the same key is
    not queued.
    """
    settings = config.settings
    chat = chat_message(subject, [[Span(line)] for line in text.splitlines() if line.strip()])

    def key(channel: str, recipient: str) -> str | None:
        return f"{alert_key}:{channel}:{recipient}"[:255] if alert_key else None

    messages = [NewMessage(OPERATORS, address, new_message_id(settings.smtp.from_, "alert"),
                           subject, text, kind="alert", alert_key=key("email", address))
                for address in settings.health.operators]
    messages += [NewMessage(OPERATORS, channel.url_env,
                            new_message_id(settings.smtp.from_, "alert"), subject, chat.text,
                            html=chat.html, markdown=chat.markdown, kind="alert",
                            channel="apprise", alert_key=key("apprise", channel.url_env))
                 for channel in settings.health.channels]
    return messages


def report_refusal(config: Config, repository: Repository, entry: OutboxEntry,
                   error: str | None, now: datetime) -> None:
    """Tell the operators (once a day per recipient) that messages to a recipient are refused."""
    what = f"{entry.kind} message {entry.message_id} ({entry.digest_id}) to {entry.recipient}"
    log.error("%s refused for good and given up: %s", what, error)
    if entry.kind == "alert":
        return  # an operators' channel refusing operators' alerts: the log is all that is left
    subject = f"[raqib] messages to {entry.recipient} are refused"
    refusals = config.settings.outbox.max_refusals
    text = (f"The {what} was refused {refusals} times and is given up:\n{error}\n\n"
            f"Fix the recipient or the channel, then `raqib digest send --retry-refused` "
            f"queues the refused messages again.\n")
    repository.outbox.add(operator_messages(
        config, subject, text, alert_key=f"refused:{entry.recipient}:{now.date().isoformat()}"),
        created_at=now)
