"""The plain values that go into the repository and come out of it.

Rooms of the repository take and return these dataclasses, never ORM rows: code outside
`storage` reads them without a session and cannot write through them by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Outcomes of a seen URL after which it is never downloaded again.
SETTLED_OUTCOMES = ("article", "duplicate", "not_article", "gone")


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
class StoredArticle:
    """A stored article with the watch rules it matched (and why), as listings and digests read it."""

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


@dataclass(frozen=True)
class UrlOutcome:
    """A canonical URL fetched as a possible article, and what came of it.

    `outcome` is `article` (stored), `duplicate` (its text was already stored), `not_article`
    (no body), `gone` (404/410) or `failed` (retried on later crawls up to a bound).
    """

    url: str
    source: str
    outcome: str
    article_id: int | None
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class Validators:
    """The ETag / Last-Modified a feed, sitemap or listing answered with, for conditional GET."""

    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class RunRecord:
    """One crawl of one source: when, how it ended, what it found."""

    id: int
    source: str
    started_at: datetime
    finished_at: datetime | None
    status: str  # running | ok | failed
    counts: dict
    error: str | None


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


@dataclass(frozen=True)
class HealthState:
    """The alert state of a source as last told to the operators."""

    source: str
    state: str  # ok | failing | quiet
    problem: str | None
    changed_at: datetime


@dataclass(frozen=True)
class OutboxEntry:
    """A built digest message in the outbox, pending or sent."""

    id: int
    digest_id: str
    recipient: str
    message_id: str
    subject: str
    body_html: str
    body_text: str
    status: str  # pending | sent
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
