"""Running the digests: every new flagged article reaches each recipient exactly once.

Building and sending are two steps joined by the outbox (storage/outbox.py). Building picks a
recipient's unsent matches (monitor.digest.select), renders them (monitor.digest.render) and
stores the finished message with its digest_items in one transaction; sending
(monitor.digest.send) hands pending messages to SMTP and marks them sent only once the server
accepted them. A crash or a mail-server failure in between leaves the message pending for the
next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from monitor.config import Config, DigestSettings
from monitor.digest.render import RenderedDigest, render_digest
from monitor.digest.select import (
    MAX_ARTICLES_PER_MESSAGE,
    NEW_RECIPIENT_LOOKBACK,
    chosen_digests,
    group_stories,
    is_due,
    unsent_matches,
)
from monitor.digest.send import Sender, SmtpSender, deliver, new_message_id
from storage.records import OutboxEntry, StoredArticle
from storage.repository import Repository

log = logging.getLogger(__name__)


@dataclass
class DigestReport:
    """What happened to one digest for one recipient (or to one retried outbox message).

    `status`: sent · pending (built, not sent yet) · failed (left pending, `error` says why)
    · nothing (nothing new, or fewer than `min_items`) · dry-run (shown, nothing changed).
    """

    digest_id: str
    recipient: str
    built: int
    message_id: str | None
    status: str
    error: str | None = None
    subject: str | None = None
    preview: Path | None = None
    text: str | None = None  # the plain-text part, for --dry-run


@dataclass(frozen=True)
class _Draft:
    subject: str
    html: str
    text: str
    message_id: str


def _render(config: Config, digest: DigestSettings, articles: list[StoredArticle],
            now: datetime) -> RenderedDigest | None:
    if len(articles) < digest.min_items:
        return None
    groups = group_stories(articles, digest.rules)
    if not groups:
        return None
    return render_digest(digest, groups, sources={s.id: s for s in config.sources},
                         rule_names={r.id: r.name for r in config.rules}, now=now)


def _send(config: Config, repository: Repository, sender: Sender, message: OutboxEntry,
          built: int) -> DigestReport:
    languages = {d.id: d.language for d in config.settings.digests}
    status, error = deliver(repository, sender, message, from_header=config.settings.smtp.from_,
                            language=languages.get(message.digest_id))
    return DigestReport(message.digest_id, message.recipient, built, message.message_id,
                        status, error, message.subject)


def send_pending(config: Config, repository: Repository, sender: Sender, *,
                 digest_id: str | None = None) -> list[DigestReport]:
    """Retry every outbox message not yet accepted by the mail server (oldest first)."""
    return [_send(config, repository, sender, message, built)
            for message, built in repository.outbox.pending(digest_id)]


def run_digests(config: Config, repository: Repository, *, digest_id: str | None = None,
                now: datetime | None = None, only_due: bool = True, dry_run: bool = False,
                preview: Path | None = None, sender: Sender | None = None,
                send: bool = True) -> list[DigestReport]:
    """Build the due digests for every recipient and send them (and earlier pending ones).

    `dry_run` and `preview` change nothing: they report (and `preview` writes as HTML) what
    would go out, including pending messages a real run would retry. `sender` defaults to the
    configured SMTP server; with `send=False` messages are only built and stay pending.
    """
    now = now or datetime.now(UTC)
    digests = chosen_digests(config, digest_id)
    looking = dry_run or preview is not None
    reports: list[DigestReport] = []
    if looking:
        # Messages already built but not accepted yet go out first on a real run.
        reports += [DigestReport(message.digest_id, message.recipient, built, message.message_id,
                                 "pending", message.last_error, message.subject,
                                 text=message.body_text)
                    for message, built in repository.outbox.pending(digest_id)]
    else:
        sender = (sender or SmtpSender(config.settings.smtp)) if send else None
        if sender is not None:
            reports += send_pending(config, repository, sender, digest_id=digest_id)
    previews = 0
    for digest in digests:
        if only_due and not is_due(digest, repository, now):
            log.debug("digest %s is not due", digest.id)
            continue
        for recipient in digest.recipients:
            if looking:
                report = _look(config, repository, digest, recipient, now, preview, previews)
                previews += report.preview is not None
                reports.append(report)
                continue
            reports += _build_and_send(config, repository, digest, recipient, now, sender)
    return reports


def _look(config: Config, repository: Repository, digest: DigestSettings, recipient: str,
          now: datetime, preview: Path | None, previews: int) -> DigestReport:
    ids = unsent_matches(repository, digest, recipient, now)
    rendered = _render(config, digest, repository.articles.find(ids=ids, limit=None), now) \
        if ids else None
    if rendered is None:
        return DigestReport(digest.id, recipient, 0, None, "nothing")
    path = None
    if preview is not None:
        # One file per message: the first is the path asked for, later ones get a suffix.
        path = preview if previews == 0 else preview.with_name(
            f"{preview.stem}-{previews + 1}{preview.suffix}")
        path.write_text(rendered.html, encoding="utf-8")
    return DigestReport(digest.id, recipient, rendered.articles, None, "dry-run",
                        subject=rendered.subject, preview=path, text=rendered.text)


def _build_and_send(config: Config, repository: Repository, digest: DigestSettings,
                    recipient: str, now: datetime, sender: Sender | None) -> list[DigestReport]:
    def draft(articles: list[StoredArticle]) -> _Draft | None:
        rendered = _render(config, digest, articles, now)
        if rendered is None:
            return None
        message_id = new_message_id(config.settings.smtp.from_, f"digest.{digest.id}")
        return _Draft(rendered.subject, rendered.html, rendered.text, message_id)

    reports = []
    while True:
        built = repository.outbox.build(digest.id, recipient, digest.rules, draft,
                                        created_at=now,
                                        new_recipient_since=now - NEW_RECIPIENT_LOOKBACK,
                                        limit=MAX_ARTICLES_PER_MESSAGE)
        if built is None:
            break
        message, ids = built
        log.info("built digest %s for %s: %d articles (%s)", digest.id, recipient, len(ids),
                 message.message_id)
        if sender is None:
            reports.append(DigestReport(digest.id, recipient, len(ids), message.message_id,
                                        "pending", subject=message.subject))
        else:
            reports.append(_send(config, repository, sender, message, len(ids)))
        if len(ids) < MAX_ARTICLES_PER_MESSAGE:
            break
    if not reports:
        reports.append(DigestReport(digest.id, recipient, 0, None, "nothing"))
    return reports
