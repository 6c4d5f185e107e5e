"""E-mail digests: every new flagged article reaches each recipient exactly once.

Building and sending are two steps joined by the outbox table. Building picks a recipient's
unsent matches and stores the finished message with its digest_items in one transaction;
sending hands pending messages to SMTP and marks them sent only once the server accepted them.
A crash or a mail-server failure in between leaves the message pending for the next run.

When a digest is due: an `immediate` digest whenever something new matched; a cron digest when
its schedule has fired since the digest's last built message (a digest never built is due);
an `every` digest when that long has passed since its last built message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from monitor.config import Config, ConfigError, DigestSettings
from monitor.digest_render import RenderedDigest, group_stories, render_digest
from monitor.mailer import MailError, Sender, SmtpSender, compose, new_message_id
from storage.records import OutboxEntry, StoredArticle
from storage.repository import Repository

log = logging.getLogger(__name__)

NEW_RECIPIENT_LOOKBACK = timedelta(days=7)  # a new recipient gets last week, not all history
MAX_ARTICLES_PER_MESSAGE = 200  # a backlog goes out as several readable messages, not one huge
_CRON_LOOKBACK = (timedelta(hours=2), timedelta(days=2), timedelta(days=32), timedelta(days=400))


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


def last_fire_time(cron: str, timezone: str, now: datetime) -> datetime | None:
    """The most recent time at or before `now` when a five-field cron schedule fired."""
    trigger = CronTrigger.from_crontab(cron, timezone=ZoneInfo(timezone))
    for window in _CRON_LOOKBACK:
        fire = trigger.get_next_fire_time(None, now - window)
        if fire is None or fire > now:
            continue
        # Walk forward within the window; it is short enough for per-minute schedules.
        while True:
            following = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
            if following is None or following > now:
                return fire
            fire = following
    return None


def is_due(digest: DigestSettings, repository: Repository, now: datetime) -> bool:
    """Whether the digest should be built now (see the module docstring)."""
    schedule = digest.schedule
    if schedule == "immediate":
        return True
    built = repository.outbox.last_built_at(digest.id)
    if schedule.every:
        return built is None or (now - built).total_seconds() >= (schedule.seconds or 0)
    fired = last_fire_time(schedule.cron or "", digest.timezone, now)
    return fired is not None and (built is None or built < fired)


def _select(config: Config, digest_id: str | None) -> list[DigestSettings]:
    digests = config.settings.digests
    if digest_id is None:
        return list(digests)
    chosen = [digest for digest in digests if digest.id == digest_id]
    if not chosen:
        known = ", ".join(d.id for d in digests) or "none"
        raise ConfigError(config.directory / "settings.yaml",
                          f"no digest '{digest_id}' (known: {known})")
    return chosen


def _render(config: Config, digest: DigestSettings, articles: list[StoredArticle],
            now: datetime) -> RenderedDigest | None:
    if len(articles) < digest.min_items:
        return None
    groups = group_stories(articles, digest.rules)
    if not groups:
        return None
    return render_digest(digest, groups, sources={s.id: s for s in config.sources},
                         rule_names={r.id: r.name for r in config.rules}, now=now)


def _to_email(config: Config, message: OutboxEntry, language: str | None = None):
    return compose(sender=config.settings.smtp.from_, recipient=message.recipient,
                   subject=message.subject, text=message.body_text, html=message.body_html,
                   message_id=message.message_id, date=message.created_at, language=language)


def _deliver(config: Config, repository: Repository, sender: Sender, message: OutboxEntry,
             built: int) -> DigestReport:
    languages = {d.id: d.language for d in config.settings.digests}

    def deliver(row: OutboxEntry) -> str | None:
        try:
            sender.send(_to_email(config, row, languages.get(row.digest_id)))
        except MailError as exc:
            log.warning("digest %s to %s not sent (attempt %d): %s", row.digest_id,
                        row.recipient, row.attempts + 1, exc)
            return str(exc)
        return None

    status, error = repository.outbox.deliver(message.id, deliver)
    if status == "skipped":
        status = "sent"  # another sender had it: it is (being) delivered, not ours to retry
    return DigestReport(message.digest_id, message.recipient, built, message.message_id,
                        status, error, message.subject)


def send_pending(config: Config, repository: Repository, sender: Sender, *,
                 digest_id: str | None = None) -> list[DigestReport]:
    """Retry every outbox message not yet accepted by the mail server (oldest first)."""
    return [_deliver(config, repository, sender, message, built)
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
    digests = _select(config, digest_id)
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
    ids = repository.outbox.candidates(digest.id, recipient, digest.rules,
                                       new_recipient_since=now - NEW_RECIPIENT_LOOKBACK,
                                       limit=MAX_ARTICLES_PER_MESSAGE)
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
            reports.append(_deliver(config, repository, sender, message, len(ids)))
        if len(ids) < MAX_ARTICLES_PER_MESSAGE:
            break
    if not reports:
        reports.append(DigestReport(digest.id, recipient, 0, None, "nothing"))
    return reports
