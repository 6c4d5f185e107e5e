"""The one door to the database: every read and write raqib makes goes through `Repository`.

`Repository` is composed of parts, one module each, that only it uses: crawl_state (seen URLs,
conditional requests), runs (crawl runs, source health), signatures (the near-duplicate index),
outbox (digests), locks (advisory locks) and rule_review (re-running rules over stored
articles); each is a mixin that uses the `session()`, `dialect` and `engine` defined here. This
module also holds the articles themselves and the values that callers pass in and get back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage import db, search_index
from storage.crawl_state import SETTLED_OUTCOMES, CrawlState
from storage.locks import AdvisoryLock, AdvisoryLocks
from storage.models import Article, RuleMatchRow, utcnow
from storage.outbox import DigestOutbox
from storage.rule_review import RuleReview
from storage.runs import CrawlRuns, RunSummary
from storage.signatures import SignatureIndex

if TYPE_CHECKING:
    from storage.browse import Browse

__all__ = ["SETTLED_OUTCOMES", "AdvisoryLock", "ArticleView", "NewArticle", "Repository",
           "RunSummary", "SaveResult"]

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


class Repository(CrawlState, CrawlRuns, SignatureIndex, DigestOutbox, AdvisoryLocks, RuleReview):
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

    @property
    def browse(self) -> Browse:
        """The web view's read-only queries (storage/browse.py)."""
        from storage.browse import Browse

        return Browse(self.engine, self._sessions)

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
                search_index.index_article(session, article_id, new.title, new.text)
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
