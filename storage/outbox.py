"""Room `repo.outbox`: digests built into messages, and their delivery, exactly once.

A digest is built (outbox message + its digest_items, one transaction) apart from being
sent; a message is marked sent only after the SMTP server accepted it. The unique
(digest_id, recipient, article_id) makes a second copy of an article impossible, and a
message left pending by a crash or a failed server is retried, never rebuilt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import DigestItem, OutboxMessage, RuleMatchRow, utcnow
from storage.records import OutboxEntry, StoredArticle

if TYPE_CHECKING:
    from storage.articles import Articles

log = logging.getLogger(__name__)


class Draft(Protocol):
    """A finished message for the outbox: what `compose` in `build` returns."""

    subject: str
    html: str
    text: str
    message_id: str


def _entry(row: OutboxMessage) -> OutboxEntry:
    return OutboxEntry(row.id, row.digest_id, row.recipient, row.message_id, row.subject,
                       row.body_html, row.body_text, row.status, row.attempts, row.last_error,
                       row.created_at, row.sent_at)


class DigestOutbox:
    """Which matches a recipient has not had, built into pending messages, sent once."""

    def __init__(self, db: Database, articles: Articles) -> None:
        self._db = db
        self._articles = articles

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
              compose: Callable[[list[StoredArticle]], Draft | None], *, created_at: datetime,
              new_recipient_since: datetime | None = None,
              limit: int | None = None) -> tuple[OutboxEntry, list[int]] | None:
        """Put the recipient's unsent matches into one pending outbox message, atomically.

        `compose(articles)` returns the finished message, or None to build nothing (too few
        items). Returns the message and its article ids, or None when there was nothing or
        another process built the same articles at the same time.
        """
        try:
            with self._db.session() as session:
                ids = self._candidates(session, digest_id, recipient, rule_ids,
                                       new_recipient_since, limit)
                if not ids:
                    return None
                draft = compose(self._articles.find(ids=ids, limit=None))
                if draft is None:
                    return None
                message = OutboxMessage(
                    digest_id=digest_id, recipient=recipient, message_id=draft.message_id,
                    subject=draft.subject, body_html=draft.html, body_text=draft.text,
                    status="pending", attempts=0, created_at=created_at)
                session.add(message)
                session.flush()
                session.add_all(DigestItem(digest_id=digest_id, recipient=recipient,
                                           article_id=article_id, outbox_id=message.id)
                                for article_id in ids)
                entry = _entry(message)
        except IntegrityError:
            log.info("digest %s for %s was built concurrently elsewhere", digest_id, recipient)
            return None
        return entry, ids

    def pending(self, digest_id: str | None = None) -> list[tuple[OutboxEntry, int]]:
        """Messages not yet accepted by the mail server, oldest first, with their item counts."""
        items = (select(func.count(DigestItem.id)).where(DigestItem.outbox_id == OutboxMessage.id)
                 .scalar_subquery())
        query = (select(OutboxMessage, items).where(OutboxMessage.status == "pending")
                 .order_by(OutboxMessage.created_at, OutboxMessage.id))
        if digest_id:
            query = query.where(OutboxMessage.digest_id == digest_id)
        with self._db.session() as session:
            return [(_entry(message), count) for message, count in session.execute(query)]

    def deliver(self, outbox_id: int,
                send: Callable[[OutboxEntry], str | None]) -> tuple[str, str | None]:
        """Send one pending message with `send` (returns None, or the error) and record it.

        Returns ('sent' | 'failed' | 'skipped', error). On PostgreSQL the row stays locked
        while `send` runs (FOR UPDATE SKIP LOCKED), so two senders never both send it;
        'skipped' means another sender has it or already sent it. An exception from `send`
        rolls back and leaves the message pending, as a crash would.
        """
        pending = select(OutboxMessage).where(OutboxMessage.id == outbox_id,
                                              OutboxMessage.status == "pending")
        if self._db.dialect != "postgresql":
            # SQLite cannot turn a read into a write once a crawler has written meanwhile, so it
            # reads, sends and records in separate transactions (one machine, one daemon sends).
            with self._db.session() as session:
                message = session.scalar(pending)
                entry = _entry(message) if message is not None else None
            if entry is None:
                return "skipped", None
            error = send(entry)
            with self._db.session() as session:
                self._record_delivery(session, outbox_id, error)
            return ("sent", None) if error is None else ("failed", error)
        with self._db.session() as session:
            message = session.scalar(pending.with_for_update(skip_locked=True))
            if message is None:
                return "skipped", None
            error = send(_entry(message))
            self._record_delivery(session, outbox_id, error)
        return ("sent", None) if error is None else ("failed", error)

    @staticmethod
    def _record_delivery(session: Session, outbox_id: int, error: str | None) -> None:
        values: dict[str, Any] = {"attempts": OutboxMessage.attempts + 1, "last_error": error}
        if error is None:
            values.update(status="sent", sent_at=utcnow())
        session.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(**values))

    def last_built_at(self, digest_id: str) -> datetime | None:
        """When the newest outbox message of a digest was built (None: never)."""
        with self._db.session() as session:
            return session.scalar(select(func.max(OutboxMessage.created_at))
                                  .where(OutboxMessage.digest_id == digest_id))

    def messages(self, digest_id: str | None = None) -> list[OutboxEntry]:
        """Every outbox message (pending and sent), oldest first."""
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if digest_id:
            query = query.where(OutboxMessage.digest_id == digest_id)
        with self._db.session() as session:
            return [_entry(row) for row in session.scalars(query)]

    def article_ids(self, digest_id: str, recipient: str) -> list[int]:
        """The articles ever put into this digest for this recipient."""
        with self._db.session() as session:
            return list(session.scalars(select(DigestItem.article_id).where(
                DigestItem.digest_id == digest_id, DigestItem.recipient == recipient)
                .order_by(DigestItem.article_id)))
