"""The plain values that go into the repository and come out of it.

Rooms of the repository take and return these dataclasses, never ORM rows: code outside
`storage` reads them without a session and cannot write through them by accident.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# Outcomes of a seen URL after which it is never downloaded again.
SETTLED_OUTCOMES = ("article", "duplicate", "not_article", "gone")
# A link found but not taken (over the run's article budget): the next runs take it first.
QUEUED = "queued"

# The longest values the schema keeps (storage.models): a longer URL is refused before storage,
# a longer validator is not kept.
MAX_URL_LENGTH = 2048
MAX_ETAG_LENGTH = 512
MAX_LAST_MODIFIED_LENGTH = 128


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
    cluster_id: int | None = None  # the near-duplicate story it joined (when indexed)
    similarity: float | None = None


@dataclass(frozen=True)
class IndexEntry:
    """An article's near-duplicate index entry, written in its own transaction
    (crawler.neardup.StoryIndex.entry builds it; storage.signatures writes it).

    `story` has `signature` (bytes), `bands` (signed 32-bit keys), `shingles` (count) and
    `facts` (bytes); `decide(article_id, candidates)` takes the candidates as stored rows
    (article id, signature, shingles, facts, cluster id; their facts as
    storage.packing.PackedFacts, unpacked by `bytes()` when compared) and returns an object with `cluster`
    (None, or `cluster_id` and `similarity`) and `later` ((article id, similarity) pairs).
    """

    story: Any
    published_at: datetime | None
    fetched_at: datetime
    window: timedelta
    decide: Callable[[int, list[tuple]], Any]


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
    published_method: str | None = None  # where the date came from: json-ld, meta, time, text, url


@dataclass(frozen=True)
class UrlOutcome:
    """A canonical URL fetched as a possible article, and what came of it.

    `outcome` is `article` (stored), `duplicate` (its text was already stored), `not_article`
    (no body), `gone` (404/410), `failed` (retried on later crawls up to a bound) or `queued`
    (found but left for a later run by the per-run budget; not downloaded yet).
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

    def fitting(self) -> Validators | None:
        """The validators the schema can keep (an over-long one dropped), or None if neither."""
        etag = self.etag if self.etag and len(self.etag) <= MAX_ETAG_LENGTH else None
        modified = (self.last_modified if self.last_modified
                    and len(self.last_modified) <= MAX_LAST_MODIFIED_LENGTH else None)
        return Validators(etag, modified) if etag or modified else None


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
    consecutive_failures: int = 0  # unhealthy runs in a row: failed or with warnings
    consecutive_warnings: int = 0  # of those, the ones that ended with warnings
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
class NewMessage:
    """A finished message on its way into the outbox (see `OutboxEntry` for the fields).

    `articles`: for a digest message, the articles it carries; None means every article of
    the build that no other message of the build carries.
    """

    digest_id: str
    recipient: str
    message_id: str
    subject: str
    text: str
    html: str = ""
    markdown: str | None = None
    kind: str = "digest"
    channel: str = "email"
    stories: int | None = None
    articles: tuple[int, ...] | None = None
    alert_key: str | None = None


@dataclass(frozen=True)
class OutboxEntry:
    """A built message in the outbox: pending, sent, or refused for good.

    `kind`: digest · volume (a rule's unusual day) · alert (operators: source health, refusals).
    `channel`: email (`recipient` is an address) or apprise (`recipient` names the environment
    variable that holds the channel's URL).
    """

    id: int
    digest_id: str
    recipient: str
    message_id: str
    subject: str
    body_html: str
    body_text: str
    status: str  # pending | sent | refused
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    kind: str = "digest"
    channel: str = "email"
    body_markdown: str | None = None
    stories: int | None = None
    next_attempt_at: datetime | None = None
    refusals: int = 0


@dataclass(frozen=True)
class SendFailure:
    """Why a message was not accepted; `refused`: the service said no to this message for good
    (a 4xx answer, a 5xx SMTP reply to the message), not merely that it was unreachable."""

    error: str
    refused: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    """How long a failed message waits before its next attempt, and when it is given up."""

    first_retry: timedelta
    max_retry: timedelta
    max_refusals: int
    claim_timeout: timedelta

    def wait(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt: doubling, up to `max_retry`."""
        doubled = self.first_retry * (2 ** min(max(attempts - 1, 0), 30))
        return min(doubled, self.max_retry)


@dataclass(frozen=True)
class RuleHit:
    """An article a rule matched: its story and when it happened (published, else matched)."""

    article_id: int
    story: int  # the id of the story's first-stored article (its cluster), or its own id
    at: datetime
