"""SQLAlchemy 2 models: articles, the URLs that led to them, crawl state and delivery state.

Uniqueness is enforced here, by the database, so that racing crawlers cannot store an article
twice: one row per canonical URL and one per content fingerprint.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class EpochSeconds(TypeDecorator):
    """A UTC time stored as whole seconds since 1970 (4 bytes on SQLite until 2038, where a
    timestamp is 26 characters of text); read back timezone-aware."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> int | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return math.floor(value.timestamp())

    def process_result_value(self, value: int | None, dialect) -> datetime | None:
        return datetime.fromtimestamp(value, UTC) if value is not None else None


class PackedFacts(TypeDecorator):
    """Encoded story facts (crawler.neardup.encode_facts), stored Elias-Fano coded
    (storage.packing); read back byte for byte."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect) -> bytes | None:
        from storage.packing import pack_facts

        return pack_facts(value)

    def process_result_value(self, value: bytes | None, dialect) -> bytes | None:
        from storage.packing import unpack_facts

        return unpack_facts(value)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Article(Base):
    """One stored article: the first copy of a text that raqib saw."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    published_raw: Mapped[str | None] = mapped_column(Text)
    published_method: Mapped[str | None] = mapped_column(String(16))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    content_fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"), index=True)
    similarity: Mapped[float | None] = mapped_column()


# Listings read newest first by this expression (migration 0002).
Index("ix_articles_newest", func.coalesce(Article.published_at, Article.fetched_at), Article.id)
# The web view's per-source listings and source health (migration 0003).
Index("ix_articles_source_newest", Article.source,
      func.coalesce(Article.published_at, Article.fetched_at), Article.id)
Index("ix_articles_source_fetched", Article.source, Article.fetched_at)
# The inbox filtered by language (migration 0005_webperf).
Index("ix_articles_language_newest", Article.language,
      func.coalesce(Article.published_at, Article.fetched_at), Article.id)


class SeenUrl(Base):
    """Every canonical URL fetched as a possible article, and what came of it.

    `outcome` is `article` (stored), `duplicate` (its text was already stored), `not_article`
    (no body), `gone` (404/410) or `failed` (retried on later crawls up to a bound).
    """

    __tablename__ = "seen_urls"

    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    last_error: Mapped[str | None] = mapped_column(Text)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HttpValidator(Base):
    """ETag / Last-Modified of a feed, sitemap or listing, for conditional requests."""

    __tablename__ = "http_validators"

    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RuleMatchRow(Base):
    """A watch rule that matched an article, with why."""

    __tablename__ = "rule_matches"
    __table_args__ = (UniqueConstraint("article_id", "rule_id"),
                      Index("ix_rule_matches_rule_article", "rule_id", "article_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    rule_id: Mapped[str] = mapped_column(String(64), index=True)
    explanation: Mapped[dict] = mapped_column(JSON)
    matched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CrawlRun(Base):
    """One crawl of one source: when, how it ended, what it found."""

    __tablename__ = "crawl_runs"
    __table_args__ = (Index("ix_crawl_runs_source_started", "source", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="running", index=True)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class SourceHealth(Base):
    """The alert state of a source, so that a health alert goes out once, not every run."""

    __tablename__ = "source_health"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="ok")
    problem: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArticleSignature(Base):
    """The near-duplicate signature of an article (MinHash values), kept across restarts."""

    __tablename__ = "article_signatures"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary)  # b-bit MinHash (crawler.neardup)
    # Publication time, else fetch time, to the second (the band keys carry its week).
    created_at: Mapped[datetime] = mapped_column(EpochSeconds)
    shingles: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    facts: Mapped[bytes | None] = mapped_column(PackedFacts)  # crawler.neardup.encode_facts


class SignatureBand(Base):
    """One LSH band key of an article, folded with the week it is filed under (a 24-bit
    integer, storage.signatures.stored_keys): articles sharing keys are near-duplicate
    candidates."""

    __tablename__ = "signature_bands"
    # One B-tree on SQLite (no rowid): the primary key's index is the table.
    __table_args__ = {"sqlite_with_rowid": False}

    band_key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)


class OutboxMessage(Base):
    """A built message waiting to be sent (or sent, or refused for good).

    `kind`: a `digest`, a `volume` alert or an operators' `alert` (source health, refusals).
    `channel`: `email` (`recipient` is an address) or `apprise` (`recipient` is the name of the
    environment variable holding the channel's URL — never the URL itself).
    A sender claims a message (`claimed_by`, `claimed_at`) in a write transaction before sending
    it, so that two senders never both send it; `next_attempt_at` spaces out retries.
    `alert_key` makes an alert once only (a rule's volume alert once a day per recipient).
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_alert_key", "alert_key", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest_id: Mapped[str] = mapped_column(String(64), index=True)
    recipient: Mapped[str] = mapped_column(String(320))
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    subject: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16), default="digest", server_default="digest")
    channel: Mapped[str] = mapped_column(String(16), default="email", server_default="email")
    body_markdown: Mapped[str | None] = mapped_column(Text)
    stories: Mapped[int | None] = mapped_column(Integer)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refusals: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    alert_key: Mapped[str | None] = mapped_column(String(255))


class DigestItem(Base):
    """An article put into a digest for a recipient: at most once, ever."""

    __tablename__ = "digest_items"
    __table_args__ = (UniqueConstraint("digest_id", "recipient", "article_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest_id: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(320))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), index=True)
