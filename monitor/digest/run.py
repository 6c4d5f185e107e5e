"""Running the digests: every new flagged article reaches each recipient exactly once.

A recipient is an e-mail address or a chat channel. Building and sending are two steps joined
by the outbox (storage/outbox.py). Building picks a recipient's unsent matches
(monitor.digest.select), renders them (monitor.digest.render for e-mail, monitor.digest.chat
for a channel: one message per story, or one summary) and stores the finished messages with
their digest_items in one transaction; sending (monitor.digest.send) claims each pending
message, hands it to SMTP or Apprise and marks it sent only once the service accepted it. A
crash or an outage in between leaves the message pending for a later run; the daemon's
`outbox` job (`run_outbox`) retries it after a back-off and sends what is due on its own
schedule, not only when something new is flagged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config import ChannelSettings, Config, DigestSettings, parse_duration
from monitor.digest.alerts import OPERATORS, report_refusal
from monitor.digest.chat import MAX_STORY_MESSAGES, ChatStyle, story_message, summary_message
from monitor.digest.render import RenderedDigest, render_digest, rule_display_names
from monitor.digest.select import (
    MAX_ARTICLES_PER_MESSAGE,
    NEW_RECIPIENT_LOOKBACK,
    chosen_digests,
    group_stories,
    is_due,
    unsent_matches,
)
from monitor.digest.send import ChatSender, Sender, SmtpSender, deliver, new_message_id
from monitor.faults import fault_point
from storage.records import NewMessage, OutboxEntry, RetryPolicy, StoredArticle
from storage.repository import Repository

log = logging.getLogger(__name__)


@dataclass
class DigestReport:
    """What happened to one message for one recipient (an address or a channel), or that there
    was nothing for them.

    `status`: sent · pending (built, not sent yet) · failed (left pending, `error` says why)
    · refused (given up: the service refused it too often) · skipped (another sender holds it
    or sent it) · nothing (nothing new, or fewer than `min_items`) · dry-run (shown, nothing
    changed). `built` counts articles, `stories`
    stories (copies of one story from several sources are one).
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
    stories: int | None = None
    channel: str = "email"


def retry_policy(config: Config) -> RetryPolicy:
    """settings.yaml's `outbox:` as the outbox room takes it."""
    outbox = config.settings.outbox
    return RetryPolicy(timedelta(seconds=parse_duration(outbox.first_retry)),
                       timedelta(seconds=parse_duration(outbox.max_retry)),
                       outbox.max_refusals,
                       timedelta(seconds=parse_duration(outbox.claim_timeout)))


def _groups(config: Config, digest: DigestSettings, articles: list[StoredArticle]):
    if len(articles) < digest.min_items:
        return None
    return group_stories(articles, digest.rules) or None


def _render(config: Config, digest: DigestSettings, articles: list[StoredArticle],
            now: datetime) -> RenderedDigest | None:
    groups = _groups(config, digest, articles)
    if groups is None:
        return None
    return render_digest(digest, groups, sources={s.id: s for s in config.sources},
                         rule_names=rule_display_names(config.rules, digest.language), now=now)


def _mail(config: Config, digest: DigestSettings, recipient: str, now: datetime):
    def compose(articles: list[StoredArticle]) -> list[NewMessage] | None:
        rendered = _render(config, digest, articles, now)
        if rendered is None:
            return None
        message_id = new_message_id(config.settings.smtp.from_, f"digest.{digest.id}")
        return [NewMessage(digest.id, recipient, message_id, rendered.subject, rendered.text,
                           rendered.html, stories=rendered.stories)]
    return compose


def _chat(config: Config, digest: DigestSettings, channel: ChannelSettings):
    """A channel's messages: one per story (oldest first), or one summary of the digest.

    More stories at once than MAX_STORY_MESSAGES (a backlog, a first run) make one summary
    rather than a flood.
    """
    def compose(articles: list[StoredArticle]) -> list[NewMessage] | None:
        groups = _groups(config, digest, articles)
        if groups is None:
            return None
        style = ChatStyle(digest, {s.id: s for s in config.sources},
                          rule_display_names(config.rules, digest.language))
        stories = [(rule_id, story) for rule_id, rule_stories in groups.items()
                   for story in rule_stories]

        def message(chat, stories_count: int, articles: tuple[int, ...] | None) -> NewMessage:
            return NewMessage(digest.id, channel.url_env,
                              new_message_id(config.settings.smtp.from_, f"chat.{digest.id}"),
                              chat.title, chat.text, chat.html, chat.markdown,
                              channel="apprise", stories=stories_count, articles=articles)

        if channel.format == "summary" or len(stories) > MAX_STORY_MESSAGES:
            return [message(summary_message(style, groups), len(stories), None)]
        stories.sort(key=lambda pair: (pair[1].lead.published_at or pair[1].lead.fetched_at,
                                       pair[1].lead.id))
        return [message(story_message(style, story, rule_id), 1,
                        tuple(article.id for article in story.articles))
                for rule_id, story in stories]
    return compose


def _language(config: Config, entry: OutboxEntry) -> str:
    if entry.kind == "alert" or entry.digest_id == OPERATORS:
        return "en"  # operators' alerts
    languages = {d.id: d.language for d in config.settings.digests}
    return languages.get(entry.digest_id, "en")


def _send(config: Config, repository: Repository, sender: Sender | None, chat: ChatSender | None,
          message: OutboxEntry, built: int, now: datetime | None) -> DigestReport:
    status, error = deliver(repository, sender, message, from_header=config.settings.smtp.from_,
                            policy=retry_policy(config), language=_language(config, message),
                            chat=chat, now=now)
    if status == "refused":
        report_refusal(config, repository, message, error, now or datetime.now(UTC))
    return DigestReport(message.digest_id, message.recipient, built, message.message_id,
                        status, error, message.subject, stories=message.stories,
                        channel=message.channel)


def send_pending(config: Config, repository: Repository, sender: Sender | None = None, *,
                 chat: ChatSender | None = None, digest_id: str | None = None,
                 due_at: datetime | None = None,
                 now: datetime | None = None) -> list[DigestReport]:
    """Send every outbox message not yet accepted (oldest first); `due_at`: only those whose
    back-off has passed by then. `sender` defaults to the configured SMTP server; `now` is
    the clock for claims and back-off (the real time when None)."""
    pending = repository.outbox.pending(digest_id, due_at=due_at)
    if pending and sender is None:
        sender = SmtpSender(config.settings.smtp)
    if chat is None and any(message.channel == "apprise" for message, _ in pending):
        from monitor.digest.channels import AppriseSender

        chat = AppriseSender()
    return [_send(config, repository, sender, chat, message, built, now)
            for message, built in pending]


def run_digests(config: Config, repository: Repository, *, digest_id: str | None = None,
                now: datetime | None = None, only_due: bool = True, dry_run: bool = False,
                preview: Path | None = None, sender: Sender | None = None,
                chat: ChatSender | None = None, send: bool = True) -> list[DigestReport]:
    """Build the due digests for every recipient and channel and send them (and earlier
    pending messages first).

    `dry_run` and `preview` change nothing: they report (and `preview` writes as HTML) what
    would go out, including pending messages a real run would retry. `sender` defaults to the
    configured SMTP server, `chat` to Apprise; with `send=False` messages are only built and
    stay pending.
    """
    now = now or datetime.now(UTC)
    digests = chosen_digests(config, digest_id)
    looking = dry_run or preview is not None
    reports: list[DigestReport] = []
    if looking:
        # Messages already built but not accepted yet go out first on a real run.
        reports += [DigestReport(message.digest_id, message.recipient, built, message.message_id,
                                 "pending", message.last_error, message.subject,
                                 text=message.body_text, stories=message.stories,
                                 channel=message.channel)
                    for message, built in repository.outbox.pending(digest_id)]
    elif send:
        sender = sender or SmtpSender(config.settings.smtp)
        if chat is None:
            from monitor.digest.channels import AppriseSender

            chat = AppriseSender()
        reports += send_pending(config, repository, sender, chat=chat, digest_id=digest_id,
                                now=now)
    previews = 0
    for digest in digests:
        if only_due and not is_due(digest, repository, now):
            log.debug("digest %s is not due", digest.id)
            continue
        recipients = [(r, _mail(config, digest, r, now)) for r in digest.recipients]
        recipients += [(c.url_env, _chat(config, digest, c)) for c in digest.channels]
        for recipient, compose in recipients:
            if looking:
                report = _look(config, repository, digest, recipient, compose, now, preview,
                               previews)
                previews += report.preview is not None
                reports.append(report)
                continue
            built = _build(repository, digest, recipient, compose, now)
            if send:
                reports += [_send(config, repository, sender, chat, entry, count, now)
                            for entry, count in built]
            else:
                reports += [DigestReport(digest.id, recipient, count, entry.message_id,
                                         "pending", subject=entry.subject, stories=entry.stories,
                                         channel=entry.channel) for entry, count in built]
            if not built:
                reports.append(DigestReport(digest.id, recipient, 0, None, "nothing"))
    return reports


def run_outbox(config: Config, repository: Repository, *, now: datetime | None = None,
               sender: Sender | None = None, chat: ChatSender | None = None,
               build: bool = True) -> list[DigestReport]:
    """The daemon's `outbox` job: build the immediate digests and today's volume alerts
    (unless `build` is false: nothing was flagged since the last build), then send every
    message whose back-off has passed. Does nothing when nothing is due."""
    from monitor.digest.volume import queue_volume_alerts

    now = now or datetime.now(UTC)
    reports = []
    if build:
        for digest in config.settings.digests:
            if digest.schedule == "immediate":
                reports += [r for r in run_digests(config, repository, digest_id=digest.id,
                                                   now=now, send=False) if r.status != "nothing"]
        queue_volume_alerts(config, repository, now)
    return reports + send_pending(config, repository, sender, chat=chat, due_at=now, now=now)


def _look(config: Config, repository: Repository, digest: DigestSettings, recipient: str,
          compose, now: datetime, preview: Path | None, previews: int) -> DigestReport:
    ids = unsent_matches(repository, digest, recipient, now)
    articles = repository.articles.find(ids=ids, limit=None) if ids else []
    messages = compose(articles) if articles else None
    if not messages:
        return DigestReport(digest.id, recipient, 0, None, "nothing")
    path = None
    if preview is not None and messages[0].channel == "email":
        # One file per message: the first is the path asked for, later ones get a suffix.
        path = preview if previews == 0 else preview.with_name(
            f"{preview.stem}-{previews + 1}{preview.suffix}")
        path.write_text(messages[0].html, encoding="utf-8")
    text = "\n".join(message.text for message in messages) if len(messages) > 1 \
        else messages[0].text
    return DigestReport(digest.id, recipient, len(articles), None, "dry-run",
                        subject=messages[0].subject, preview=path, text=text,
                        stories=sum(m.stories or 0 for m in messages),
                        channel=messages[0].channel)


def _build(repository: Repository, digest: DigestSettings, recipient: str, compose,
           now: datetime) -> list[tuple[OutboxEntry, int]]:
    """Build the recipient's unsent matches into the outbox, a backlog as several builds."""
    built: list[tuple[OutboxEntry, int]] = []
    while True:
        done = repository.outbox.build(digest.id, recipient, digest.rules, compose,
                                       created_at=now,
                                       new_recipient_since=now - NEW_RECIPIENT_LOOKBACK,
                                       limit=MAX_ARTICLES_PER_MESSAGE)
        if done is None:
            break
        entries, ids = done
        log.info("built digest %s for %s: %d articles in %d message(s)", digest.id, recipient,
                 len(ids), len(entries))
        fault_point("digest:after-build")
        counts = {entry.id: len(repository.outbox.items(entry.id)) for entry in entries}
        built += [(entry, counts[entry.id]) for entry in entries]
        if len(ids) < MAX_ARTICLES_PER_MESSAGE:
            break
    return built
