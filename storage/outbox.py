"""Room `repo.outbox`: messages built once, then delivered once, whatever crashes and races.

A digest is built (its outbox messages and their digest_items, one transaction) apart from
being sent. Alerts are queued the same way (`add`), a source's health state together with its
alerts. Sending a message is three steps: a sender *claims* it in a write transaction (SQLite
and PostgreSQL both serialise that update, so two senders never both hold it), sends it with no
transaction open, and records the outcome: sent only once the service accepted it; otherwise
pending again after a back-off, or `refused` once the service refused it `max_refusals` times.

The unique (digest_id, recipient, article_id) of digest_items makes a second copy of an article
to one recipient impossible; the unique `alert_key` does the same for alerts. A sender killed
after its claim leaves the message claimed until `claim_timeout` has passed, then another
sender takes it over.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import DigestItem, OutboxMessage, RuleMatchRow, SourceHealth, utcnow
from storage.records import NewMessage, OutboxEntry, RetryPolicy, SendFailure, StoredArticle

if TYPE_CHECKING:
    from storage.articles import Articles

log = logging.getLogger(__name__)

_HOST = socket.gethostname()[:64]


def _entry(row: OutboxMessage) -> OutboxEntry:
    return OutboxEntry(row.id, row.digest_id, row.recipient, row.message_id, row.subject,
                       row.body_html, row.body_text, row.status, row.attempts, row.last_error,
                       row.created_at, row.sent_at, row.kind, row.channel, row.body_markdown,
                       row.stories, row.next_attempt_at, row.refusals)


def _row(message: NewMessage, created_at: datetime) -> OutboxMessage:
    return OutboxMessage(
        digest_id=message.digest_id, recipient=message.recipient, message_id=message.message_id,
        subject=message.subject, body_html=message.html, body_text=message.text,
        body_markdown=message.markdown, kind=message.kind, channel=message.channel,
        stories=message.stories, alert_key=message.alert_key, status="pending", attempts=0,
        refusals=0, created_at=created_at)


def _take_write_lock(session: Session) -> None:
    """Begin the transaction as a writer on SQLite (a no-op update takes the write lock).

    SQLite cannot turn a read transaction into a write once another connection has written
    meanwhile ("database is locked" at once, whatever the busy timeout): a transaction that
    reads and then writes takes the write lock first, and waits its turn for it.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(OutboxMessage).where(OutboxMessage.id == -1).values(id=-1))


class DigestOutbox:
    """Which matches a recipient has not had, built into pending messages, sent once."""

    def __init__(self, db: Database, articles: Articles) -> None:
        self._db = db
        self._articles = articles

    # --- building ---------------------------------------------------------------------------

    def candidates(self, digest_id: str, recipient: str, rule_ids: list[str], *,
                   new_recipient_since: datetime | None = None,
                   limit: int | None = None) -> list[int]:
        """Ids of articles matched by `rule_ids` that `recipient` has not had in this digest.

        A recipient who never had this digest only gets matches since `new_recipient_since`,
        not the whole history.
        """
        with self._db.session() as session:
            return self._candidates(session, digest_id, recipient, rule_ids,
                                    new_recipient_since, limit)

    def _candidates(self, session: Session, digest_id: str, recipient: str,
                    rule_ids: list[str], new_recipient_since: datetime | None,
                    limit: int | None) -> list[int]:
        if not rule_ids:
            return []
        mine = (DigestItem.digest_id == digest_id, DigestItem.recipient == recipient)
        query = (select(RuleMatchRow.article_id)
                 .where(RuleMatchRow.rule_id.in_(rule_ids),
                        RuleMatchRow.article_id.not_in(select(DigestItem.article_id).where(*mine)))
                 .group_by(RuleMatchRow.article_id).order_by(RuleMatchRow.article_id))
        if new_recipient_since is not None and session.scalar(
                select(DigestItem.id).where(*mine).limit(1)) is None:
            query = query.having(func.max(RuleMatchRow.matched_at) >= new_recipient_since)
        if limit:
            query = query.limit(limit)
        return list(session.scalars(query))

    def build(self, digest_id: str, recipient: str, rule_ids: list[str],
              compose: Callable[[list[StoredArticle]], list[NewMessage] | None], *,
              created_at: datetime, new_recipient_since: datetime | None = None,
              limit: int | None = None) -> tuple[list[OutboxEntry], list[int]] | None:
        """Put the recipient's unsent matches into pending outbox messages, atomically.

        `compose(articles)` returns the finished messages (one, or one per story), or None to
        build nothing (too few items). Returns the messages and every article id they carry,
        or None when there was nothing or another process built the same articles meanwhile.
        """
        try:
            with self._db.session() as session:
                _take_write_lock(session)
                ids = self._candidates(session, digest_id, recipient, rule_ids,
                                       new_recipient_since, limit)
                if not ids:
                    return None
                messages = compose(self._articles.find(ids=ids, limit=None))
                if not messages:
                    return None
                rows = [_row(message, created_at) for message in messages]
                session.add_all(rows)
                session.flush()
                unclaimed = set(ids)
                for message in messages:
                    unclaimed -= set(message.articles or ())
                for message, row in zip(messages, rows, strict=True):
                    carried = sorted(set(message.articles or ()) & set(ids)) \
                        if message.articles is not None else sorted(unclaimed)
                    if message.articles is None:
                        unclaimed = set()
                    session.add_all(DigestItem(digest_id=digest_id, recipient=recipient,
                                               article_id=article_id, outbox_id=row.id)
                                    for article_id in carried)
                if unclaimed:  # no message took them: they go with the first, never in limbo
                    session.add_all(DigestItem(digest_id=digest_id, recipient=recipient,
                                               article_id=article_id, outbox_id=rows[0].id)
                                    for article_id in sorted(unclaimed))
                entries = [_entry(row) for row in rows]
        except IntegrityError:
            log.info("digest %s for %s was built concurrently elsewhere", digest_id, recipient)
            return None
        return entries, ids

    def add(self, messages: list[NewMessage], *, created_at: datetime | None = None,
            source_health: tuple[str, str, str | None] | None = None) -> list[OutboxEntry]:
        """Queue alerts in one transaction; returns those queued.

        A message whose `alert_key` is already in the outbox is left out (an alert goes out
        once). `source_health` (source, state, problem) records the source's new health state
        in the same transaction, so that a change of state and its alerts are never apart.
        """
        created_at = created_at or utcnow()
        try:
            with self._db.session() as session:
                _take_write_lock(session)
                keys = [m.alert_key for m in messages if m.alert_key]
                known = set(session.scalars(select(OutboxMessage.alert_key)
                                            .where(OutboxMessage.alert_key.in_(keys)))) \
                    if keys else set()
                rows = [_row(m, created_at) for m in messages if m.alert_key not in known]
                session.add_all(rows)
                if source_health is not None:
                    source, state, problem = source_health
                    health = session.get(SourceHealth, source)
                    if health is None:
                        session.add(SourceHealth(source=source, state=state, problem=problem,
                                                 changed_at=created_at))
                    else:
                        health.state, health.problem, health.changed_at = state, problem, created_at
                session.flush()
                return [_entry(row) for row in rows]
        except IntegrityError:
            # Another process queued the same alert between our look and our insert.
            log.info("alerts %s were queued concurrently elsewhere", keys)
            return []

    # --- sending ----------------------------------------------------------------------------

    def pending(self, digest_id: str | None = None, *,
                due_at: datetime | None = None) -> list[tuple[OutboxEntry, int]]:
        """Messages not yet accepted, oldest first, with how many articles each carries.

        `due_at`: only those whose back-off has passed by then (the daemon's retries).
        """
        items = (select(func.count(DigestItem.id)).where(DigestItem.outbox_id == OutboxMessage.id)
                 .scalar_subquery())
        query = (select(OutboxMessage, items).where(OutboxMessage.status == "pending")
                 .order_by(OutboxMessage.created_at, OutboxMessage.id))
        if digest_id:
            query = query.where(OutboxMessage.digest_id == digest_id)
        if due_at is not None:
            query = query.where(or_(OutboxMessage.next_attempt_at.is_(None),
                                    OutboxMessage.next_attempt_at <= due_at))
        with self._db.session() as session:
            return [(_entry(message), count) for message, count in session.execute(query)]

    def claim(self, outbox_id: int, claimer: str, *, now: datetime,
              claim_timeout: float) -> OutboxEntry | None:
        """Take a pending message for sending; None when another sender holds it or it is done.

        A claim older than `claim_timeout` seconds is a dead sender's and is taken over.
        """
        stale = now - timedelta(seconds=claim_timeout)
        with self._db.session() as session:
            taken = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == outbox_id, OutboxMessage.status == "pending",
                       or_(OutboxMessage.claimed_by.is_(None), OutboxMessage.claimed_at < stale))
                .values(claimed_by=claimer, claimed_at=now)
                .execution_options(synchronize_session=False))
            if taken.rowcount != 1:
                return None
            return _entry(session.get(OutboxMessage, outbox_id))

    def deliver(self, outbox_id: int, send: Callable[[OutboxEntry], SendFailure | None], *,
                policy: RetryPolicy,
                now: Callable[[], datetime] = utcnow) -> tuple[str, str | None]:
        """Claim one pending message, send it with `send`, and record what came of it.

        Returns ('sent' | 'failed' | 'refused' | 'skipped', error): `failed` stays pending
        until its back-off has passed, `refused` is given up (refused `max_refusals` times),
        `skipped` means another sender holds it or already sent it. An exception from `send`
        releases the claim and leaves the message pending, as a crash would (later).
        """
        claimer = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        entry = self.claim(outbox_id, claimer, now=now(),
                           claim_timeout=policy.claim_timeout.total_seconds())
        if entry is None:
            return "skipped", None
        try:
            failure = send(entry)
        except BaseException:
            self._release(outbox_id, claimer)
            raise
        if failure is None:
            self._record_sent(outbox_id, now())
            return "sent", None
        return self._record_failure(outbox_id, claimer, entry, failure, policy, now()), \
            failure.error

    def _release(self, outbox_id: int, claimer: str) -> None:
        with self._db.session() as session:
            session.execute(update(OutboxMessage)
                            .where(OutboxMessage.id == outbox_id,
                                   OutboxMessage.claimed_by == claimer)
                            .values(claimed_by=None, claimed_at=None))

    def _record_sent(self, outbox_id: int, at: datetime) -> None:
        # Whoever holds the claim now: the service has the message, nobody may send it again.
        with self._db.session() as session:
            session.execute(update(OutboxMessage)
                            .where(OutboxMessage.id == outbox_id,
                                   OutboxMessage.status == "pending")
                            .values(status="sent", sent_at=at, last_error=None,
                                    attempts=OutboxMessage.attempts + 1, claimed_by=None,
                                    claimed_at=None, next_attempt_at=None))

    def _record_failure(self, outbox_id: int, claimer: str, entry: OutboxEntry,
                        failure: SendFailure, policy: RetryPolicy, at: datetime) -> str:
        attempts = entry.attempts + 1
        refusals = entry.refusals + (1 if failure.refused else 0)
        status = "refused" if refusals >= policy.max_refusals else "pending"
        values: dict[str, Any] = {
            "attempts": attempts, "refusals": refusals, "last_error": failure.error[:2000],
            "status": status, "claimed_by": None, "claimed_at": None,
            "next_attempt_at": at + policy.wait(attempts) if status == "pending" else None}
        with self._db.session() as session:
            done = session.execute(update(OutboxMessage)
                                   .where(OutboxMessage.id == outbox_id,
                                          OutboxMessage.claimed_by == claimer)
                                   .values(**values))
        if done.rowcount != 1:
            log.warning("outbox message %d: another sender took it over meanwhile", outbox_id)
        return "refused" if status == "refused" else "failed"

    def refused(self, digest_id: str | None = None) -> list[OutboxEntry]:
        """Messages given up after the service refused them, oldest first."""
        query = (select(OutboxMessage).where(OutboxMessage.status == "refused")
                 .order_by(OutboxMessage.id))
        if digest_id:
            query = query.where(OutboxMessage.digest_id == digest_id)
        with self._db.session() as session:
            return [_entry(row) for row in session.scalars(query)]

    def requeue_refused(self, digest_id: str | None = None) -> int:
        """Make refused messages pending again (the channel was fixed); returns how many."""
        query = update(OutboxMessage).where(OutboxMessage.status == "refused")
        if digest_id:
            query = query.where(OutboxMessage.digest_id == digest_id)
        with self._db.session() as session:
            return session.execute(query.values(status="pending", refusals=0,
                                                next_attempt_at=None)).rowcount or 0

    # --- reading ----------------------------------------------------------------------------

    def last_built_at(self, digest_id: str) -> datetime | None:
        """When the newest digest message of a digest was built (None: never); alerts aside."""
        with self._db.session() as session:
            return session.scalar(select(func.max(OutboxMessage.created_at))
                                  .where(OutboxMessage.digest_id == digest_id,
                                         OutboxMessage.kind == "digest"))

    def messages(self, digest_id: str | None = None, *,
                 kind: str | None = None) -> list[OutboxEntry]:
        """Every outbox message (pending, sent and refused), oldest first."""
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if digest_id:
            query = query.where(OutboxMessage.digest_id == digest_id)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        with self._db.session() as session:
            return [_entry(row) for row in session.scalars(query)]

    def article_ids(self, digest_id: str, recipient: str) -> list[int]:
        """The articles ever put into this digest for this recipient."""
        with self._db.session() as session:
            return list(session.scalars(select(DigestItem.article_id).where(
                DigestItem.digest_id == digest_id, DigestItem.recipient == recipient)
                .order_by(DigestItem.article_id)))

    def items(self, outbox_id: int) -> list[int]:
        """The articles one message carries."""
        with self._db.session() as session:
            return list(session.scalars(select(DigestItem.article_id)
                                        .where(DigestItem.outbox_id == outbox_id)
                                        .order_by(DigestItem.article_id)))
