"""The one door to the database: every read and write raqib makes goes through `Repository`."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage import db
from storage.models import (
    Article,
    CrawlRun,
    DigestItem,
    HttpValidator,
    OutboxMessage,
    RuleMatchRow,
    SeenUrl,
    SourceHealth,
    utcnow,
)

log = logging.getLogger(__name__)

SETTLED_OUTCOMES = ("article", "duplicate", "not_article", "gone")
_MIGRATION_LOCK = 727_001  # PostgreSQL advisory lock key: one migrator at a time


@dataclass(frozen=True)
class NewArticle:
    """An extracted article on its way into storage."""

    source: str
    url: str
    fetched_url: str
    title: str | None
    text: str
    language: str | None
    content_fingerprint: str
    fetched_at: datetime
    published_at: datetime | None = None
    published_raw: str | None = None
    published_method: str | None = None


@dataclass(frozen=True)
class SaveResult:
    """What storing an article did: `new`, or `duplicate` of an already stored article."""

    status: str
    article_id: int
    duplicate_of: int | None = None


@dataclass
class ArticleView:
    """A stored article as listings and digests show it."""

    id: int
    source: str
    url: str
    title: str | None
    text: str
    language: str | None
    published_at: datetime | None
    published_raw: str | None
    fetched_at: datetime
    cluster: int | None
    rules: list[str] = field(default_factory=list)
    explanations: dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The jsonl record of `raqib items` (keys are part of the contract)."""
        return {
            "id": self.id,
            "source": self.source,
            "url": self.url,
            "title": self.title,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "published_raw": self.published_raw,
            "language": self.language,
            "text": self.text,
            "rules": self.rules,
            "explanations": self.explanations,
            "cluster": self.cluster,
            "fetched_at": self.fetched_at.isoformat(),
        }


@dataclass
class RunSummary:
    """One source's crawl history, as `raqib sources list` shows it."""

    source: str
    last_run_at: datetime | None = None
    last_status: str | None = None
    last_new_article_at: datetime | None = None
    consecutive_failures: int = 0
    articles: int = 0
    last_error: str | None = None
    first_run_at: datetime | None = None


class Repository:
    """Reads and writes raqib's state; accepts an Engine or a database URL."""

    def __init__(self, engine: Engine | str, *, migrate: bool = True) -> None:
        self.engine = db.make_engine(engine) if isinstance(engine, str) else engine
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            self.ensure_schema()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def ensure_schema(self) -> None:
        """Create or upgrade the schema to the newest migration (a fresh database on first use)."""
        if self.dialect == "postgresql":
            with self.engine.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
                try:
                    db.upgrade(self.engine)
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                       {"key": _MIGRATION_LOCK})
                    connection.commit()
        else:
            db.upgrade(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()

    # --- what the crawler has already seen -------------------------------------------------

    def settled_urls(self, urls: Iterable[str], max_failed_attempts: int) -> set[str]:
        """The URLs among `urls` that need no new download (stored, duplicate, given up on)."""
        urls = list(set(urls))
        settled: set[str] = set()
        with self.session() as session:
            for start in range(0, len(urls), 500):
                chunk = urls[start:start + 500]
                rows = session.execute(select(SeenUrl.url, SeenUrl.outcome, SeenUrl.attempts)
                                       .where(SeenUrl.url.in_(chunk)))
                settled.update(url for url, outcome, attempts in rows
                               if outcome in SETTLED_OUTCOMES or attempts >= max_failed_attempts)
        return settled

    def is_settled(self, url: str, max_failed_attempts: int) -> bool:
        return bool(self.settled_urls([url], max_failed_attempts))

    def urls_to_retry(self, source: str, max_failed_attempts: int) -> list[str]:
        """Article URLs of a source whose download failed fewer than the allowed times."""
        with self.session() as session:
            return list(session.scalars(
                select(SeenUrl.url).where(SeenUrl.source == source, SeenUrl.outcome == "failed",
                                          SeenUrl.attempts < max_failed_attempts)))

    def record_outcome(self, url: str, source: str, outcome: str, *,
                       article_id: int | None = None, error: str | None = None) -> None:
        """Remember what came of a URL; failures count their attempts."""
        now = utcnow()
        for _ in range(3):
            try:
                with self.session() as session:
                    row = session.get(SeenUrl, url)
                    if row is None:
                        session.add(SeenUrl(url=url, source=source, outcome=outcome,
                                            article_id=article_id, attempts=1, last_error=error,
                                            first_seen=now, last_seen=now))
                    elif outcome == "failed":
                        if row.outcome in SETTLED_OUTCOMES:
                            return  # a settled URL is never downgraded by a later failure
                        row.attempts, row.last_error, row.last_seen = row.attempts + 1, error, now
                    else:
                        row.outcome, row.last_error, row.last_seen = outcome, None, now
                        row.article_id = article_id or row.article_id
                return
            except IntegrityError:
                continue  # another process recorded the same URL at the same moment: retry

    # --- conditional requests ----------------------------------------------------------------

    def validators(self, url: str) -> tuple[str | None, str | None] | None:
        """The stored (ETag, Last-Modified) of a discovery URL, or None."""
        with self.session() as session:
            row = session.get(HttpValidator, url)
            return (row.etag, row.last_modified) if row else None

    def save_validators(self, url: str, etag: str | None, last_modified: str | None) -> None:
        self._upsert(HttpValidator, url=url, etag=etag, last_modified=last_modified,
                     checked_at=utcnow())

    def _upsert(self, model: type, **values) -> None:
        """Insert a row, or update the row with the same primary key (given among `values`)."""
        key = tuple(values[column.name] for column in model.__table__.primary_key.columns)
        with self.session() as session:
            row = session.get(model, key)
            if row is None:
                session.add(model(**values))
            else:
                for name, value in values.items():
                    setattr(row, name, value)

    # --- articles ------------------------------------------------------------------------------

    def save_article(self, new: NewArticle) -> SaveResult:
        """Store an article once: a known URL or an already stored text is a duplicate."""
        try:
            with self.session() as session:
                article = Article(
                    source=new.source, url=new.url, title=new.title, text=new.text,
                    language=new.language, published_at=new.published_at,
                    published_raw=new.published_raw, published_method=new.published_method,
                    fetched_at=new.fetched_at, content_fingerprint=new.content_fingerprint)
                session.add(article)
                session.flush()
                article_id = article.id
        except IntegrityError:
            original = self._existing_article(new.url, new.content_fingerprint)
            if original is None:  # the winner of a race was rolled back: try once more
                return self.save_article(new)
            for url in {new.url, new.fetched_url}:
                self.record_outcome(url, new.source, "duplicate", article_id=original)
            return SaveResult("duplicate", original, duplicate_of=original)
        for url in {new.url, new.fetched_url}:
            self.record_outcome(url, new.source, "article", article_id=article_id)
        return SaveResult("new", article_id)

    def _existing_article(self, url: str, fingerprint: str) -> int | None:
        with self.session() as session:
            return session.scalar(select(Article.id).where(
                (Article.url == url) | (Article.content_fingerprint == fingerprint)))

    def save_rule_matches(self, article_id: int, matches: Iterable[dict]) -> None:
        """Replace an article's rule matches (`rule_id` plus its explanation)."""
        with self.session() as session:
            session.execute(delete(RuleMatchRow).where(RuleMatchRow.article_id == article_id))
            for match in matches:
                session.add(RuleMatchRow(article_id=article_id, rule_id=match["rule_id"],
                                         explanation=match, matched_at=utcnow()))

    def set_cluster(self, article_id: int, cluster_id: int, similarity: float) -> None:
        with self.session() as session:
            session.execute(update(Article).where(Article.id == article_id)
                            .values(cluster_id=cluster_id, similarity=similarity))

    def articles(self, *, flagged: bool = False, rule: str | None = None,
                 source: str | None = None, since: datetime | None = None,
                 limit: int | None = 50, ids: Iterable[int] | None = None,
                 stories: Iterable[int] | None = None) -> list[ArticleView]:
        """Stored articles, newest first (by publication date, else fetch time).

        `stories` selects every copy of the given stories (the id of a story's first article).
        """
        newest = func.coalesce(Article.published_at, Article.fetched_at)
        query = select(Article).order_by(newest.desc(), Article.id.desc())
        if flagged or rule:
            matched = select(RuleMatchRow.article_id)
            if rule:
                matched = matched.where(RuleMatchRow.rule_id == rule)
            query = query.where(Article.id.in_(matched))
        if source:
            query = query.where(Article.source == source)
        if since:
            query = query.where(newest >= since)
        if ids is not None:
            query = query.where(Article.id.in_(list(ids)))
        if stories is not None:
            stories = list(stories)
            query = query.where(Article.id.in_(stories) | Article.cluster_id.in_(stories))
        if limit:
            query = query.limit(limit)
        with self.session() as session:
            rows = list(session.scalars(query))
            matches: dict[int, dict[str, dict]] = {}
            if rows:
                found = session.execute(select(RuleMatchRow.article_id, RuleMatchRow.rule_id,
                                               RuleMatchRow.explanation)
                                        .where(RuleMatchRow.article_id.in_([r.id for r in rows])))
                for article_id, rule_id, explanation in found:
                    matches.setdefault(article_id, {})[rule_id] = explanation
        return [ArticleView(id=r.id, source=r.source, url=r.url, title=r.title, text=r.text,
                            language=r.language, published_at=r.published_at,
                            published_raw=r.published_raw, fetched_at=r.fetched_at,
                            cluster=r.cluster_id, rules=sorted(matches.get(r.id, {})),
                            explanations=matches.get(r.id, {}))
                for r in rows]

    def count_articles(self, source: str | None = None) -> int:
        query = select(func.count(Article.id))
        if source:
            query = query.where(Article.source == source)
        with self.session() as session:
            return session.scalar(query) or 0

    # --- crawl runs and source health -------------------------------------------------------

    def start_run(self, source: str) -> int:
        with self.session() as session:
            run = CrawlRun(source=source, started_at=utcnow(), status="running", counts={})
            session.add(run)
            session.flush()
            return run.id

    def finish_run(self, run_id: int, status: str, counts: dict, error: str | None = None) -> None:
        with self.session() as session:
            session.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(
                status=status, counts=counts, error=error, finished_at=utcnow()))

    def abandon_running(self, reason: str, source: str | None = None) -> int:
        """Mark runs left `running` by a dead or killed process as failed; returns how many."""
        query = update(CrawlRun).where(CrawlRun.status == "running")
        if source:
            query = query.where(CrawlRun.source == source)
        with self.session() as session:
            result = session.execute(query.values(status="failed", error=reason,
                                                  finished_at=utcnow()))
            return result.rowcount or 0

    def record_failed_run(self, source: str, started_at: datetime, error: str) -> None:
        """A crawl that died before it could record itself (it never started, or crashed)."""
        with self.session() as session:
            session.add(CrawlRun(source=source, started_at=started_at, finished_at=utcnow(),
                                 status="failed", counts={}, error=error))

    def recent_runs(self, source: str, limit: int = 20) -> list[CrawlRun]:
        with self.session() as session:
            return list(session.scalars(select(CrawlRun).where(CrawlRun.source == source)
                                        .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
                                        .limit(limit)))

    def run_summary(self, source: str) -> RunSummary:
        """Last run, last new article and consecutive failures of a source."""
        runs = self.recent_runs(source, limit=50)
        summary = RunSummary(source)
        finished = [run for run in runs if run.status != "running"]
        if runs:
            summary.last_run_at, summary.last_status = runs[0].started_at, runs[0].status
        for run in finished:
            if run.status == "ok":
                break
            summary.consecutive_failures += 1
            summary.last_error = summary.last_error or run.error
        with self.session() as session:
            summary.first_run_at = session.scalar(
                select(func.min(CrawlRun.started_at)).where(CrawlRun.source == source))
            summary.last_new_article_at = session.scalar(
                select(func.max(Article.fetched_at)).where(Article.source == source))
            summary.articles = session.scalar(
                select(func.count(Article.id)).where(Article.source == source)) or 0
        return summary

    def health_state(self, source: str) -> SourceHealth | None:
        with self.session() as session:
            return session.get(SourceHealth, source)

    def set_health_state(self, source: str, state: str, problem: str | None) -> None:
        self._upsert(SourceHealth, source=source, state=state, problem=problem,
                     changed_at=utcnow())

    # --- near duplicates -----------------------------------------------------------------------
    # The signature index of crawler.neardup: one MinHash signature per article and its LSH band
    # keys. Reached through the tables' metadata so this block stands on its own.

    @property
    def _signature_tables(self):
        tables = Article.metadata.tables
        return tables["article_signatures"], tables["signature_bands"]

    def add_signature(self, article_id: int, signature: bytes, band_keys: list[str],
                      created_at: datetime) -> None:
        """Index an article's signature under its band keys (once: a stored text never changes)."""
        self.add_signatures([(article_id, signature, band_keys, created_at)])

    def add_signatures(self, entries: Iterable[tuple[int, bytes, list[str], datetime]]) -> None:
        """Index many signatures in one transaction; articles already indexed are left as they are."""
        signatures, bands = self._signature_tables
        pending = {entry[0]: entry for entry in entries}
        try:
            with self.session() as session:
                if self.dialect == "postgresql":
                    # The index is derived data: a signature lost to a crash in the next few
                    # hundred ms costs one missed cluster, not worth an fsync per article.
                    session.execute(text("SET LOCAL synchronous_commit TO OFF"))
                ids = list(pending)
                for start in range(0, len(ids), 500):
                    for known in session.scalars(select(signatures.c.article_id).where(
                            signatures.c.article_id.in_(ids[start:start + 500]))):
                        del pending[known]
                if not pending:
                    return
                session.execute(signatures.insert(), [
                    {"article_id": article_id, "signature": signature, "created_at": created_at}
                    for article_id, signature, _, created_at in pending.values()])
                session.execute(bands.insert(), [
                    {"band_key": key, "article_id": article_id}
                    for article_id, _, keys, _ in pending.values() for key in sorted(set(keys))])
        except IntegrityError:
            log.debug("signatures indexed by another process at the same moment")

    def near_duplicate_candidates(self, band_keys: list[str], *, since: datetime, until: datetime,
                                  before_id: int | None = None,
                                  fetched_window: tuple[datetime, datetime] | None = None,
                                  undated: bool = False) -> list[tuple[int, bytes, int | None]]:
        """Articles sharing a band key, indexed for a time in [since, until] and stored before
        `before_id`: (article id, signature, cluster id).

        An article of unknown date was indexed at its fetch time, which says nothing about the
        publication time of a dated copy: for such pairs the fetch times are compared instead
        (`fetched_window`; `undated` when the new article itself has no date).
        """
        signatures, bands = self._signature_tables
        in_window = (signatures.c.created_at >= since) & (signatures.c.created_at <= until)
        if fetched_window is not None:
            fetched = Article.fetched_at.between(*fetched_window)
            # A dated article may join an undated one only while that one is alone: once an
            # undated copy belongs to a dated story, it must not bridge to another year's report.
            lone_undated = Article.published_at.is_(None) & Article.cluster_id.is_(None)
            in_window = in_window | (fetched if undated else fetched & lone_undated)
        # From the band index outwards: a handful of key lookups, then joins by primary key.
        query = (select(signatures.c.article_id, signatures.c.signature, Article.cluster_id)
                 .select_from(bands)
                 .join(signatures, signatures.c.article_id == bands.c.article_id)
                 .join(Article, Article.id == bands.c.article_id)
                 .where(bands.c.band_key.in_(sorted(set(band_keys))), in_window))
        if before_id is not None:
            query = query.where(bands.c.article_id < before_id)
        with self.session() as session:
            found = {row[0]: (row[0], bytes(row[1]), row[2]) for row in session.execute(query)}
        return list(found.values())

    def near_duplicate_texts(self, article_ids: Iterable[int]) -> dict[int, tuple[str | None, str]]:
        """Title and text of the given articles, to verify candidates exactly."""
        with self.session() as session:
            rows = session.execute(select(Article.id, Article.title, Article.text)
                                   .where(Article.id.in_(list(article_ids))))
            return {article_id: (title, body) for article_id, title, body in rows}

    def claim_cluster_root(self, article_id: int) -> None:
        """Mark the first article of a near-duplicate group as its own cluster, unless it has one."""
        with self.session() as session:
            session.execute(update(Article).where(Article.id == article_id,
                                                  Article.cluster_id.is_(None))
                            .values(cluster_id=article_id, similarity=1.0))

    def refresh_signature_statistics(self) -> None:
        """After a bulk load: give the planner statistics (else PostgreSQL scans the band table)
        and, on SQLite, fold the write-ahead log back into the database file."""
        with self.session() as session:
            session.execute(text("ANALYZE article_signatures"))
            session.execute(text("ANALYZE signature_bands"))
        if self.dialect == "sqlite":
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def near_duplicate_index_bytes(self) -> dict[str, int]:
        """On-disk bytes of the signature and band tables, their indexes included."""
        names = ("article_signatures", "signature_bands")
        with self.session() as session:
            if self.dialect == "postgresql":
                return {name: session.scalar(text("SELECT pg_total_relation_size(:t)"),
                                             {"t": name}) for name in names}
            sizes = {}
            for name in names:
                # dbstat counts pages per b-tree; a table's indexes share its tbl_name
                sizes[name] = session.scalar(text(
                    "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name IN "
                    "(SELECT name FROM sqlite_master WHERE tbl_name = :t)"), {"t": name})
            return sizes

    # --- digests and outbox --------------------------------------------------------------------
    # A digest is built (outbox message + its digest_items, one transaction) apart from being
    # sent; a message is marked sent only after the SMTP server accepted it. The unique
    # (digest_id, recipient, article_id) makes a second copy of an article impossible, and a
    # message left pending by a crash or a failed server is retried, never rebuilt.

    def digest_candidates(self, digest_id: str, recipient: str, rule_ids: list[str], *,
                          new_recipient_since: datetime | None = None,
                          limit: int | None = None) -> list[int]:
        """Ids of articles matched by `rule_ids` that `recipient` has not had in this digest.

        A recipient who never had this digest only gets matches since `new_recipient_since`,
        not the whole history.
        """
        with self.session() as session:
            return self._digest_candidates(session, digest_id, recipient, rule_ids,
                                           new_recipient_since, limit)

    def _digest_candidates(self, session: Session, digest_id: str, recipient: str,
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

    def build_digest(self, digest_id: str, recipient: str, rule_ids: list[str],
                     compose: Callable[[list[ArticleView]], Any], *, created_at: datetime,
                     new_recipient_since: datetime | None = None,
                     limit: int | None = None) -> tuple[OutboxMessage, list[int]] | None:
        """Put the recipient's unsent matches into one pending outbox message, atomically.

        `compose(articles)` returns an object with `subject`, `html`, `text`, `message_id`, or
        None to build nothing (too few items). Returns the message and its article ids, or None
        when there was nothing or another process built the same articles at the same time.
        """
        try:
            with self.session() as session:
                ids = self._digest_candidates(session, digest_id, recipient, rule_ids,
                                              new_recipient_since, limit)
                if not ids:
                    return None
                draft = compose(self.articles(ids=ids, limit=None))
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
        except IntegrityError:
            log.info("digest %s for %s was built concurrently elsewhere", digest_id, recipient)
            return None
        return message, ids

    def pending_outbox(self, digest_id: str | None = None) -> list[tuple[OutboxMessage, int]]:
        """Messages not yet accepted by the mail server, oldest first, with their item counts."""
        items = (select(func.count(DigestItem.id)).where(DigestItem.outbox_id == OutboxMessage.id)
                 .scalar_subquery())
        query = (select(OutboxMessage, items).where(OutboxMessage.status == "pending")
                 .order_by(OutboxMessage.created_at, OutboxMessage.id))
        if digest_id:
            query = query.where(OutboxMessage.digest_id == digest_id)
        with self.session() as session:
            return [(message, count) for message, count in session.execute(query)]

    def deliver_outbox(self, outbox_id: int,
                       deliver: Callable[[OutboxMessage], str | None]) -> tuple[str, str | None]:
        """Send one pending message with `deliver` (returns None, or the error) and record it.

        Returns ('sent' | 'failed' | 'skipped', error). On PostgreSQL the row stays locked
        while `deliver` runs (FOR UPDATE SKIP LOCKED), so two senders never both send it;
        'skipped' means another sender has it or already sent it. An exception from `deliver` rolls back
        and leaves the message pending, as a crash would.
        """
        pending = select(OutboxMessage).where(OutboxMessage.id == outbox_id,
                                              OutboxMessage.status == "pending")
        if self.dialect != "postgresql":
            # SQLite cannot turn a read into a write once a crawler has written meanwhile, so it
            # reads, sends and records in separate transactions (one machine, one daemon sends).
            with self.session() as session:
                message = session.scalar(pending)
            if message is None:
                return "skipped", None
            error = deliver(message)
            with self.session() as session:
                self._record_delivery(session, outbox_id, error)
            return ("sent", None) if error is None else ("failed", error)
        with self.session() as session:
            message = session.scalar(pending.with_for_update(skip_locked=True))
            if message is None:
                return "skipped", None
            error = deliver(message)
            self._record_delivery(session, outbox_id, error)
        return ("sent", None) if error is None else ("failed", error)

    @staticmethod
    def _record_delivery(session: Session, outbox_id: int, error: str | None) -> None:
        values: dict[str, Any] = {"attempts": OutboxMessage.attempts + 1, "last_error": error}
        if error is None:
            values.update(status="sent", sent_at=utcnow())
        session.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(**values))

    def last_digest_built_at(self, digest_id: str) -> datetime | None:
        """When the newest outbox message of a digest was built (None: never)."""
        with self.session() as session:
            return session.scalar(select(func.max(OutboxMessage.created_at))
                                  .where(OutboxMessage.digest_id == digest_id))

    def outbox_messages(self, digest_id: str | None = None) -> list[OutboxMessage]:
        """Every outbox message (pending and sent), oldest first."""
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if digest_id:
            query = query.where(OutboxMessage.digest_id == digest_id)
        with self.session() as session:
            return list(session.scalars(query))

    def digest_article_ids(self, digest_id: str, recipient: str) -> list[int]:
        """The articles ever put into this digest for this recipient."""
        with self.session() as session:
            return list(session.scalars(select(DigestItem.article_id).where(
                DigestItem.digest_id == digest_id, DigestItem.recipient == recipient)
                .order_by(DigestItem.article_id)))

    # --- locks ---------------------------------------------------------------------------------
    # PostgreSQL advisory locks, each held on a connection of its own for as long as the holder
    # keeps it: the server releases the lock when that connection closes, also when the holding
    # process dies. SQLite has no such thing: raqib on SQLite is one machine, and the lock
    # returned there is a stand-in that holds nothing.

    def try_advisory_lock(self, name: str) -> AdvisoryLock | None:
        """Take the named lock without waiting; None when another connection holds it."""
        if self.dialect != "postgresql":
            return AdvisoryLock(name, None)
        connection = self.engine.connect()
        # Out of the pool: closing it must end the session (and the lock), not park it.
        connection.detach()
        try:
            taken = connection.execute(text("SELECT pg_try_advisory_lock(:space, :key)"),
                                       {"space": _LOCK_SPACE, "key": _lock_key(name)}).scalar()
            connection.commit()
        except Exception:
            connection.close()
            raise
        if not taken:
            connection.close()
            return None
        return AdvisoryLock(name, connection)

    def advisory_lock_held(self, name: str) -> bool:
        """Whether any session holds the named lock now (PostgreSQL; always False on SQLite)."""
        if self.dialect != "postgresql":
            return False
        with self.session() as session:
            return bool(session.scalar(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = :space AND objid = :key AND objsubid = 2"),
                {"space": _LOCK_SPACE, "key": _lock_key(name) & 0xFFFFFFFF}))

    def live_sessions(self, application_name: str) -> int:
        """Open PostgreSQL sessions of this database under an application name (0 on SQLite)."""
        if self.dialect != "postgresql":
            return 0
        with self.session() as session:
            return session.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = :name"), {"name": application_name}) or 0

    # --- rule review ---------------------------------------------------------------------------
    # `raqib rules test --stored` and `raqib rules apply` re-run the watch rules over stored
    # articles: in batches, so that a large archive is never loaded at once.

    def article_batches(self, *, since: datetime | None = None, source: str | None = None,
                        limit: int | None = None,
                        batch_size: int = 200) -> Iterator[list[ArticleView]]:
        """Stored articles, oldest first, in batches, with their stored rule matches."""
        newest = func.coalesce(Article.published_at, Article.fetched_at)
        query = select(Article.id).order_by(Article.id)
        if since:
            query = query.where(newest >= since)
        if source:
            query = query.where(Article.source == source)
        if limit:
            query = query.limit(limit)
        with self.session() as session:
            ids = list(session.scalars(query))
        for start in range(0, len(ids), batch_size):
            batch = self.articles(ids=ids[start:start + batch_size], limit=None)
            yield sorted(batch, key=lambda article: article.id)

    def update_rule_matches(self, article_id: int, matches: Iterable[dict]) -> None:
        """Bring an article's stored matches to `matches` (each a `rule_id` and its explanation).

        Unlike `save_rule_matches`, a match that stays keeps its `matched_at`: digests go by it,
        and re-running the rules must not make old news look new.
        """
        wanted = {match["rule_id"]: match for match in matches}
        with self.session() as session:
            rows = {row.rule_id: row for row in session.scalars(
                select(RuleMatchRow).where(RuleMatchRow.article_id == article_id))}
            for rule_id, row in rows.items():
                if rule_id not in wanted:
                    session.delete(row)
                elif row.explanation != wanted[rule_id]:
                    row.explanation = wanted[rule_id]
            session.add_all(RuleMatchRow(article_id=article_id, rule_id=rule_id, explanation=match,
                                         matched_at=utcnow())
                            for rule_id, match in wanted.items() if rule_id not in rows)


_LOCK_SPACE = 727_002  # first key of raqib's two-key advisory locks (the migration lock is one-key)


def _lock_key(name: str) -> int:
    """A stable signed 32-bit key for a lock name (a collision only makes two names share a lock)."""
    key = zlib.crc32(name.encode("utf-8"))
    return key - (1 << 32) if key >= 1 << 31 else key


class AdvisoryLock:
    """A held advisory lock; `release()` (or leaving a `with` block) lets it go."""

    def __init__(self, name: str, connection: Connection | None) -> None:
        self.name = name
        self._connection = connection

    @property
    def exclusive(self) -> bool:
        """True when the database really holds it (PostgreSQL), False for SQLite's stand-in."""
        return self._connection is not None

    def alive(self) -> bool:
        """Whether the lock is still ours: its connection answers (a server restart loses it)."""
        if self._connection is None:
            return True
        try:
            self._connection.exec_driver_sql("SELECT 1").scalar()
            self._connection.commit()
            return True
        except Exception:
            return False

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()  # the session ends, and the lock with it
            except Exception:
                log.debug("closing the connection of lock %s failed", self.name, exc_info=True)
            self._connection = None

    def __enter__(self) -> AdvisoryLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
