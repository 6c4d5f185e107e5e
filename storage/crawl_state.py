"""Room `repo.crawl`: the URLs the crawler has seen and what came of them (and the links a
run's budget left for later), and the validators of conditional GET."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import HttpValidator, SeenUrl, utcnow
from storage.records import (
    MAX_URL_LENGTH,
    QUEUED,
    SETTLED_OUTCOMES,
    UrlOutcome,
    Validators,
)


class CrawlState:
    """Seen URLs and their outcomes, and the ETag/Last-Modified of discovery URLs."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def settled_urls(self, urls: Iterable[str], max_failed_attempts: int) -> set[str]:
        """The URLs among `urls` that need no new download (stored, duplicate, given up on)."""
        urls = list(set(urls))
        settled: set[str] = set()
        with self._db.session() as session:
            for start in range(0, len(urls), 500):
                chunk = urls[start:start + 500]
                rows = session.execute(select(SeenUrl.url, SeenUrl.outcome, SeenUrl.attempts)
                                       .where(SeenUrl.url.in_(chunk)))
                settled.update(url for url, outcome, attempts in rows
                               if outcome in SETTLED_OUTCOMES or attempts >= max_failed_attempts)
        return settled

    def is_settled(self, url: str, max_failed_attempts: int) -> bool:
        """Whether one URL needs no new download."""
        return bool(self.settled_urls([url], max_failed_attempts))

    def urls_to_retry(self, source: str, max_failed_attempts: int) -> list[str]:
        """Article URLs of a source whose download failed fewer than the allowed times."""
        with self._db.session() as session:
            return list(session.scalars(
                select(SeenUrl.url).where(SeenUrl.source == source, SeenUrl.outcome == "failed",
                                          SeenUrl.attempts < max_failed_attempts)))

    def record_outcome(self, url: str, source: str, outcome: str, *,
                       article_id: int | None = None, error: str | None = None) -> None:
        """Remember what came of a URL; failures count their attempts. A URL longer than the
        schema keeps is not recorded (the crawl refuses such URLs before they get here)."""
        for _ in range(3):
            try:
                with self._db.session() as session:
                    record_in(session, url, source, outcome, article_id=article_id, error=error)
                return
            except IntegrityError:
                continue  # another process recorded the same URL at the same moment: retry

    def queue(self, urls: Iterable[str], source: str) -> int:
        """Keep links found but not taken this run (the budget) for the next runs; a URL already
        seen keeps its outcome. Returns how many were added."""
        urls = [url for url in dict.fromkeys(urls) if len(url) <= MAX_URL_LENGTH]
        added = 0
        now = utcnow()
        for start in range(0, len(urls), 500):
            chunk = urls[start:start + 500]
            for _ in range(3):
                try:
                    with self._db.session() as session:
                        known = set(session.scalars(select(SeenUrl.url)
                                                    .where(SeenUrl.url.in_(chunk))))
                        new = [url for url in chunk if url not in known]
                        session.add_all(SeenUrl(url=url, source=source, outcome=QUEUED,
                                                attempts=0, first_seen=now, last_seen=now)
                                        for url in new)
                    added += len(new)
                    break
                except IntegrityError:
                    continue  # another crawl recorded one of them meanwhile: look again
        return added

    def backlog(self, source: str) -> list[str]:
        """A source's links left by earlier runs' budgets, oldest found first."""
        with self._db.session() as session:
            return list(session.scalars(
                select(SeenUrl.url).where(SeenUrl.source == source, SeenUrl.outcome == QUEUED)
                .order_by(SeenUrl.first_seen, SeenUrl.url)))

    def unqueue(self, url: str) -> None:
        """Drop a queued link that was refused without a download (robots.txt, an address)."""
        with self._db.session() as session:
            session.execute(delete(SeenUrl).where(SeenUrl.url == url, SeenUrl.outcome == QUEUED))

    def seen_urls(self, source: str | None = None) -> list[UrlOutcome]:
        """Every seen URL (of a source), in URL order."""
        query = select(SeenUrl).order_by(SeenUrl.url)
        if source:
            query = query.where(SeenUrl.source == source)
        with self._db.session() as session:
            return [UrlOutcome(row.url, row.source, row.outcome, row.article_id, row.attempts,
                               row.last_error) for row in session.scalars(query)]

    def validators(self, url: str) -> Validators | None:
        """The stored ETag and Last-Modified of a discovery URL, or None."""
        with self._db.session() as session:
            row = session.get(HttpValidator, url)
            return Validators(row.etag, row.last_modified) if row else None

    def save_validators(self, url: str, validators: Validators) -> None:
        """Keep a discovery URL's ETag and Last-Modified for the next conditional GET: those
        that fit the schema; none (and no older ones) when neither fits."""
        fitting = validators.fitting() if len(url) <= MAX_URL_LENGTH else None
        if fitting is None:
            self.forget_validators([url])
            return
        self._db.upsert(HttpValidator, url=url, etag=fitting.etag,
                        last_modified=fitting.last_modified, checked_at=utcnow())

    def forget_validators(self, urls: Iterable[str]) -> None:
        """No conditional GET for these URLs next time: they are read in full."""
        urls = [url for url in set(urls) if len(url) <= MAX_URL_LENGTH]
        with self._db.session() as session:
            for start in range(0, len(urls), 500):
                session.execute(delete(HttpValidator)
                                .where(HttpValidator.url.in_(urls[start:start + 500])))


def record_in(session: Session, url: str, source: str, outcome: str, *,
              article_id: int | None = None, error: str | None = None) -> None:
    """`CrawlState.record_outcome` in the caller's transaction (an article's own)."""
    if len(url) > MAX_URL_LENGTH:
        return
    now = utcnow()
    row = session.get(SeenUrl, url)
    if row is None:
        session.add(SeenUrl(url=url, source=source, outcome=outcome, article_id=article_id,
                            attempts=1, last_error=error, first_seen=now, last_seen=now))
        session.flush()
    elif outcome == "failed":
        if row.outcome in SETTLED_OUTCOMES:
            return  # a settled URL is never downgraded by a later failure
        row.attempts, row.last_error, row.last_seen = row.attempts + 1, error, now
        row.outcome = "failed"  # a queued link's first download failed
    else:
        row.outcome, row.last_error, row.last_seen = outcome, None, now
        row.article_id = article_id or row.article_id


def settle_in(session: Session, urls: Iterable[str], source: str, outcome: str,
              article_id: int | None) -> None:
    """Record settled URLs (an outcome other than `failed`) in the caller's transaction, in one
    statement: INSERT … ON CONFLICT DO UPDATE, as `record_in` would for each."""
    now = utcnow()
    urls = [url for url in sorted(urls) if len(url) <= MAX_URL_LENGTH]
    if not urls:
        return
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # Straight to the driver (every article's transaction has one): the timestamps as the
        # column's own type writes them.
        stamp = _stamp(connection.dialect)(now)
        connection.exec_driver_sql(_SQLITE_SETTLE, [(url, source, outcome, article_id, 1, stamp,
                                                     stamp) for url in urls])
        return
    connection.execute(_settle_statement(connection.dialect.name), [
        {"url": url, "source": source, "outcome": outcome, "article_id": article_id,
         "attempts": 1, "last_error": None, "first_seen": now, "last_seen": now}
        for url in urls])


_SQLITE_SETTLE = (
    "INSERT INTO seen_urls (url, source, outcome, article_id, attempts, last_error, first_seen, "
    "last_seen) VALUES (?, ?, ?, ?, ?, NULL, ?, ?) ON CONFLICT (url) DO UPDATE SET "
    "outcome = excluded.outcome, last_error = NULL, last_seen = excluded.last_seen, "
    "article_id = coalesce(excluded.article_id, seen_urls.article_id)")


@lru_cache(maxsize=2)
def _stamp(dialect):
    return SeenUrl.__table__.c.last_seen.type.bind_processor(dialect) or (lambda value: value)


@lru_cache(maxsize=2)
def _settle_statement(dialect: str):
    # Built once (its compiled form is cached by SQLAlchemy): rows go as parameters.
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(SeenUrl.__table__)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["url"],
        set_={"outcome": excluded.outcome, "last_error": None, "last_seen": excluded.last_seen,
              "article_id": func.coalesce(excluded.article_id, SeenUrl.__table__.c.article_id)})
