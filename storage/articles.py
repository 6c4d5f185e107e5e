"""Room `repo.articles`: stored articles and the watch rules they matched."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from monitor.faults import fault_point
from storage import search_index, signatures
from storage.crawl_state import CrawlState, settle_in
from storage.db import Database
from storage.models import Article, RuleMatchRow, utcnow
from storage.records import IndexEntry, NewArticle, RuleHit, SaveResult, StoredArticle

MAX_KNOWN_TERMS = 300_000  # about 25 MB of terms remembered (Articles._known_terms)
_INSERT_ARTICLE = Article.__table__.insert()
_INSERT_MATCH = RuleMatchRow.__table__.insert()


class Articles:
    """Every article once (by canonical URL and by text), read back with its rule matches."""

    def __init__(self, db: Database, crawl: CrawlState) -> None:
        self._db = db
        self._crawl = crawl
        # Terms committed to the search index's list of known terms by this repository
        # (storage.search_index.index_article): not written again. Bounded.
        self._known_terms: set[str] = set()

    def save(self, new: NewArticle, *, matches: Iterable[dict] | None = None,
             terms: list[str] | None = None, index: IndexEntry | None = None,
             _retried: bool = False) -> SaveResult:
        """Store an article once: a known URL or an already stored text is a duplicate.

        One transaction holds the article, its URLs (canonical and fetched) recorded as seen,
        its rule matches (`rule_id` plus explanation), its full-text index row (`terms` when
        computed already) and its near-duplicate index entry and cluster: a crash between any
        two of them leaves none of them.
        """
        try:
            with self._db.session() as session:
                # Core statements on the session's connection: one article's rows need none of
                # the ORM's unit of work (its flush cost more than the statements themselves).
                connection = session.connection()
                article_id = connection.execute(_INSERT_ARTICLE, {
                    "source": new.source, "url": new.url, "title": new.title, "text": new.text,
                    "language": new.language, "published_at": new.published_at,
                    "published_raw": new.published_raw, "published_method": new.published_method,
                    "fetched_at": new.fetched_at,
                    "content_fingerprint": new.content_fingerprint}).inserted_primary_key[0]
                fault_point("store:after-article")
                # Searchable the moment it is stored: the index row commits with the article.
                fresh = search_index.index_article(session, article_id, new.title, new.text,
                                                   terms=terms, known=self._known_terms)
                now = utcnow()
                rows = [{"article_id": article_id, "rule_id": match["rule_id"],
                         "explanation": match, "matched_at": now} for match in matches or ()]
                if rows:
                    connection.execute(_INSERT_MATCH, rows)
                settle_in(session, {new.url, new.fetched_url}, new.source, "article", article_id)
                cluster = signatures.index_in(session, article_id, index, new=True) if index else None
                fault_point("store:before-commit")
        except IntegrityError:
            original = self._existing(new.url, new.content_fingerprint)
            if original is None:  # the winner of a race was rolled back: try once more
                if _retried:
                    raise  # not a duplicate: some other constraint, say so
                return self.save(new, matches=matches, terms=terms, index=index, _retried=True)
            for url in {new.url, new.fetched_url}:
                self._crawl.record_outcome(url, new.source, "duplicate", article_id=original)
            return SaveResult("duplicate", original, duplicate_of=original)
        if len(self._known_terms) + len(fresh) > MAX_KNOWN_TERMS:
            self._known_terms.clear()
        self._known_terms.update(fresh)  # committed
        return SaveResult("new", article_id,
                          cluster_id=cluster.cluster_id if cluster else None,
                          similarity=cluster.similarity if cluster else None)

    def _existing(self, url: str, fingerprint: str) -> int | None:
        with self._db.session() as session:
            return session.scalar(select(Article.id).where(
                (Article.url == url) | (Article.content_fingerprint == fingerprint)))

    def save_matches(self, article_id: int, matches: Iterable[dict]) -> None:
        """Replace an article's rule matches (`rule_id` plus its explanation)."""
        with self._db.session() as session:
            session.execute(delete(RuleMatchRow).where(RuleMatchRow.article_id == article_id))
            for match in matches:
                session.add(RuleMatchRow(article_id=article_id, rule_id=match["rule_id"],
                                         explanation=match, matched_at=utcnow()))

    def update_matches(self, article_id: int, matches: Iterable[dict]) -> None:
        """Bring an article's stored matches to `matches` (each a `rule_id` and its explanation).

        Unlike `save_matches`, a match that stays keeps its `matched_at`: digests go by it,
        and re-running the rules must not make old news look new.
        """
        wanted = {match["rule_id"]: match for match in matches}
        with self._db.session() as session:
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

    def find(self, *, flagged: bool = False, rule: str | None = None,
             source: str | None = None, since: datetime | None = None,
             limit: int | None = 50, ids: Iterable[int] | None = None,
             stories: Iterable[int] | None = None) -> list[StoredArticle]:
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
        with self._db.session() as session:
            rows = list(session.scalars(query))
            matches: dict[int, dict[str, dict]] = {}
            if rows:
                found = session.execute(select(RuleMatchRow.article_id, RuleMatchRow.rule_id,
                                               RuleMatchRow.explanation)
                                        .where(RuleMatchRow.article_id.in_([r.id for r in rows])))
                for article_id, rule_id, explanation in found:
                    matches.setdefault(article_id, {})[rule_id] = explanation
        return [StoredArticle(id=r.id, source=r.source, url=r.url, title=r.title, text=r.text,
                              language=r.language, published_at=r.published_at,
                              published_raw=r.published_raw, fetched_at=r.fetched_at,
                              cluster=r.cluster_id, rules=sorted(matches.get(r.id, {})),
                              explanations=matches.get(r.id, {}),
                              published_method=r.published_method)
                for r in rows]

    def batches(self, *, since: datetime | None = None, source: str | None = None,
                limit: int | None = None,
                batch_size: int = 200) -> Iterator[list[StoredArticle]]:
        """Stored articles, oldest first, in batches (a large archive is never loaded at once)."""
        newest = func.coalesce(Article.published_at, Article.fetched_at)
        query = select(Article.id).order_by(Article.id)
        if since:
            query = query.where(newest >= since)
        if source:
            query = query.where(Article.source == source)
        if limit:
            query = query.limit(limit)
        with self._db.session() as session:
            ids = list(session.scalars(query))
        for start in range(0, len(ids), batch_size):
            batch = self.find(ids=ids[start:start + batch_size], limit=None)
            yield sorted(batch, key=lambda article: article.id)

    def count(self, source: str | None = None) -> int:
        """How many articles are stored (of a source)."""
        query = select(func.count(Article.id))
        if source:
            query = query.where(Article.source == source)
        with self._db.session() as session:
            return session.scalar(query) or 0

    def matches_version(self) -> tuple[int, int]:
        """(how many rule matches, the newest one's id): changes whenever a match is added."""
        with self._db.session() as session:
            count, newest = session.execute(select(func.count(RuleMatchRow.id),
                                                   func.max(RuleMatchRow.id))).one()
            return count or 0, newest or 0

    def rule_hits(self, rule_id: str, since: datetime) -> list[RuleHit]:
        """The articles `rule_id` matched that happened at `since` or later (volume alerts).

        An article happened when it was published; one without a date when it was matched.
        """
        at = func.coalesce(Article.published_at, RuleMatchRow.matched_at)
        query = (select(Article.id, func.coalesce(Article.cluster_id, Article.id), at)
                 .join(RuleMatchRow, RuleMatchRow.article_id == Article.id)
                 .where(RuleMatchRow.rule_id == rule_id, at >= since))
        with self._db.session() as session:
            return [RuleHit(article_id, story, _aware(moment))
                    for article_id, story, moment in session.execute(query)]


def _aware(moment: datetime | str) -> datetime:
    # coalesce() of two UTC columns comes back as the database gives it (naive, or text on SQLite).
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
