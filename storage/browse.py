"""Part of storage: the web view's read-only queries (inbox, search candidates, stories, health).

`Browse` is reached as `Repository.browse`; it only reads, and returns plain dataclasses.
Listings go newest first by coalesce(published_at, fetched_at) with keyset pagination (the
cursor is the id of the last article shown), so a page costs the same at any depth. A story
is the near-duplicate cluster: the id of its first-stored article (`cluster_id`, else `id`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    Integer,
    and_,
    cast,
    column,
    exists,
    false,
    func,
    or_,
    select,
    table,
    text,
    true,
)
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import Article, RuleMatchRow
from storage.runs import HEALTHY_STATUSES, NEUTRAL_STATUSES

# A prefilter: which index terms an article must have to be worth evaluating (see
# monitor.web.search): ("and", [..]) / ("or", [..]) / ("term", t) / ("prefix", p).
Prefilter = tuple


@dataclass(frozen=True)
class Filters:
    """What a listing is narrowed to; every field optional."""

    rules: tuple[str, ...] | None = None  # flagged by one of these (None: by any rule)
    sources: tuple[str, ...] | None = None  # None: any; (): none at all
    languages: tuple[str, ...] | None = None
    since: datetime | None = None
    until: datetime | None = None  # exclusive


@dataclass
class ListedArticle:
    """An article as listings show it: no body, an excerpt of it, its matches."""

    id: int
    source: str
    url: str
    title: str | None
    language: str | None
    published_at: datetime | None
    fetched_at: datetime
    story: int
    excerpt: str
    explanations: dict[str, dict] = field(default_factory=dict)

    @property
    def rules(self) -> list[str]:
        return sorted(self.explanations)

    @property
    def when(self) -> datetime:
        """The time listings sort by: publication, else fetch."""
        return self.published_at or self.fetched_at


@dataclass
class StoredArticle(ListedArticle):
    """One article in full, as its own page shows it."""

    text: str = ""
    published_raw: str | None = None
    published_method: str | None = None
    similarity: float | None = None


@dataclass
class InboxPage:
    """Stories for one page of the inbox: each story's copies (any order) and the next cursor."""

    stories: list[list[ListedArticle]]
    next_before: int | None


@dataclass
class Candidate:
    """An article the index let through, with what the rule engine needs to decide."""

    id: int
    title: str | None
    text: str
    language: str | None
    source: str = ""


@dataclass
class CandidateBatch:
    """Some candidates, and the id to continue below (None: none left)."""

    candidates: list[Candidate]
    next_before: int | None


@dataclass
class SourceActivity:
    """A source's crawl history and recent intake, for the sources page."""

    source: str
    last_run_at: datetime | None = None
    last_status: str | None = None
    last_error: str | None = None
    consecutive_failures: int = 0  # unhealthy runs in a row: failed or with warnings
    consecutive_warnings: int = 0  # of those, the ones that ended with warnings
    running: bool = False
    last_new_article_at: datetime | None = None
    per_day: list[int] = field(default_factory=list)  # oldest day first


@dataclass
class RuleActivity:
    """A rule's matches per day (oldest first) and its latest matched articles."""

    rule_id: str
    per_day: list[int] = field(default_factory=list)
    latest: list[ListedArticle] = field(default_factory=list)


# The index table (storage/search_index.py) as PostgreSQL has it; SQLite's is FTS5.
_TERMS = table("article_terms", column("article_id"), column("terms"))
_NEWEST = func.coalesce(Article.published_at, Article.fetched_at)
_STORY = func.coalesce(Article.cluster_id, Article.id)
_EXCERPT_CHARS = 320
_MERGED_SOURCES = 16  # up to this many sources, a listing is read source by source
_RUNS_LOOKED_AT = 20  # failures in a row are counted up to this
_CLOSED_DAYS_KEPT = 600.0  # seconds a source's counts of the days before today are kept


class Browse:
    """The web view's reads, over the repository's engine and sessions."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine
        self._db = db
        # (sources, days, today, offset) -> (kept until, counts per source of the days before
        # today): one entry, replaced when the day or the sources change.
        self._closed_days: dict[tuple, tuple[float, dict[str, list[int]]]] = {}

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # --- listings ------------------------------------------------------------------------------

    def _listed_columns(self):
        return (Article.id, Article.source, Article.url, Article.title, Article.language,
                Article.published_at, Article.fetched_at, _STORY.label("story"),
                func.substr(Article.text, 1, _EXCERPT_CHARS).label("excerpt"))

    @staticmethod
    def _where(filters: Filters) -> list:
        conditions = []
        if filters.sources is not None:
            conditions.append(Article.source.in_(filters.sources) if filters.sources else false())
        if filters.languages is not None:
            conditions.append(Article.language.in_(filters.languages) if filters.languages
                              else false())
        if filters.since is not None:
            conditions.append(_NEWEST >= filters.since.astimezone(UTC))
        if filters.until is not None:
            conditions.append(_NEWEST < filters.until.astimezone(UTC))
        return conditions

    @staticmethod
    def _flagged(rules: tuple[str, ...] | None):
        matched = select(RuleMatchRow.id).where(RuleMatchRow.article_id == Article.id)
        if rules is not None:
            matched = matched.where(RuleMatchRow.rule_id.in_(rules) if len(rules) != 1
                                    else RuleMatchRow.rule_id == rules[0])
        return exists(matched)

    def _before(self, session: Session, before: int | None):
        """The keyset condition: strictly after article `before` in newest-first order."""
        if before is None:
            return true()
        row = session.execute(select(_NEWEST, Article.id).where(Article.id == before)).first()
        if row is None:
            return true()
        moment = row[0]
        return or_(_NEWEST < moment, and_(_NEWEST == moment, Article.id < before))

    def _with_matches(self, session: Session, rows: Sequence, cls=ListedArticle,
                      extra: Iterable[str] = ()) -> list:
        if not rows:
            return []
        found: dict[int, dict[str, dict]] = {}
        for article_id, rule_id, explanation in session.execute(
                select(RuleMatchRow.article_id, RuleMatchRow.rule_id, RuleMatchRow.explanation)
                .where(RuleMatchRow.article_id.in_([row.id for row in rows]))):
            found.setdefault(article_id, {})[rule_id] = explanation or {}
        names = ("id", "source", "url", "title", "language", "published_at", "fetched_at",
                 "story", "excerpt", *extra)
        return [cls(**{name: getattr(row, name) for name in names},
                    explanations=found.get(row.id, {})) for row in rows]

    def inbox(self, filters: Filters, *, before: int | None = None,
              limit: int = 25) -> InboxPage:
        """Flagged stories, newest first: a story appears once, where its newest copy that
        passes the filters is. `before` is the cursor a previous page returned."""
        stories: dict[int, None] = {}
        last_row_of: dict[int, int] = {}
        batch = max(limit * 4, 40)
        with self._db.session() as session:
            cursor_condition = self._before(session, before)
            cursor = before
            while len(stories) <= limit:
                rows = self._flagged_rows(session, filters, cursor_condition, batch)
                fresh = [row for row in rows if row.story not in stories]
                seen_before = self._shown_earlier(session, {row.story for row in fresh},
                                                  filters, before)
                for row in rows:
                    if row.story in seen_before:
                        continue
                    if row.story not in stories:
                        if len(stories) == limit + 1:
                            break
                        stories[row.story] = None
                        last_row_of[row.story] = row.id
                if len(rows) < batch or len(stories) > limit:
                    break
                cursor = rows[-1].id
                cursor_condition = self._before(session, cursor)
            keys = list(stories)
            more = len(keys) > limit
            keys = keys[:limit]
            copies = self._copies(session, keys)
        by_story: dict[int, list[ListedArticle]] = {key: [] for key in keys}
        for article in copies:
            by_story[article.story].append(article)
        return InboxPage([by_story[key] for key in keys],
                         last_row_of[keys[-1]] if more and keys else None)

    def _flagged_rows(self, session: Session, filters: Filters, cursor_condition,
                      batch: int) -> list:
        """The next `batch` flagged articles that pass the filters, newest first.

        A few sources (a country, a source) are read one by one from the (source, newest)
        index and merged: walking all articles newest first would read every article's row
        just to see its source. Each source is read a few rows at a time, and read further
        only while all its rows read so far are among the newest `batch`: ten sources do not
        cost ten batches."""
        flagged = self._flagged(filters.rules)
        columns = (Article.id, _STORY.label("story"), _NEWEST.label("newest"))
        order = (_NEWEST.desc(), Article.id.desc())
        if not (filters.sources and len(filters.sources) <= _MERGED_SOURCES):
            return session.execute(select(*columns).where(flagged, cursor_condition,
                                                          *self._where(filters))
                                   .order_by(*order).limit(batch)).all()
        rest = self._where(replace(filters, sources=None))

        def read(source: str, after, limit: int) -> list:
            return session.execute(select(*columns).where(
                Article.source == source, flagged, after, *rest).order_by(*order)
                .limit(limit)).all()

        step = max(8, 2 * -(-batch // len(filters.sources)))
        read_of = {source: read(source, cursor_condition, step) for source in filters.sources}
        more = {source: len(rows) == step for source, rows in read_of.items()}
        while True:
            rows = sorted((row for rows in read_of.values() for row in rows),
                          key=lambda row: (row.newest, row.id), reverse=True)[:batch]
            last = (rows[-1].newest, rows[-1].id) if len(rows) == batch else None
            # A source may hold more of the batch while its oldest row read is in it.
            wanted = [source for source, found in read_of.items() if more[source] and (
                last is None or (found[-1].newest, found[-1].id) >= last)]
            if not wanted:
                return rows
            for source in wanted:
                oldest = read_of[source][-1]
                found = read(source, or_(_NEWEST < oldest.newest, and_(
                    _NEWEST == oldest.newest, Article.id < oldest.id)), step * 2)
                more[source] = len(found) == step * 2
                read_of[source] += found

    def _shown_earlier(self, session: Session, keys: set[int], filters: Filters,
                       before: int | None) -> set[int]:
        """Of these stories, those with a copy that passes the filters before the cursor."""
        if before is None or not keys:
            return set()
        after_cursor = self._before(session, before)
        rows = session.execute(
            select(_STORY.label("story")).where(
                or_(Article.id.in_(keys), Article.cluster_id.in_(keys)),
                self._flagged(filters.rules), ~after_cursor, Article.id != before,
                *self._where(filters))).all()
        shown = {row.story for row in rows}
        row = session.execute(select(_STORY).where(Article.id == before)).first()
        if row is not None:
            shown.add(row[0])
        return shown & keys

    def _copies(self, session: Session, keys: Sequence[int]) -> list[ListedArticle]:
        if not keys:
            return []
        rows = session.execute(select(*self._listed_columns()).where(
            or_(Article.id.in_(keys), Article.cluster_id.in_(keys)))).all()
        return self._with_matches(session, rows)

    def story(self, key: int) -> list[ListedArticle]:
        """Every copy of one story (the id of its first-stored article), any order."""
        with self._db.session() as session:
            row = session.execute(select(_STORY).where(Article.id == key)).first()
            if row is None:
                return []
            return self._copies(session, [row[0]])

    def article(self, article_id: int) -> StoredArticle | None:
        """One article with its full text and matches."""
        with self._db.session() as session:
            rows = session.execute(select(
                *self._listed_columns(), Article.text, Article.published_raw,
                Article.published_method, Article.similarity).where(Article.id == article_id)).all()
            found = self._with_matches(session, rows, StoredArticle,
                                       ("text", "published_raw", "published_method",
                                        "similarity"))
        return found[0] if found else None

    def listed(self, ids: Sequence[int]) -> list[ListedArticle]:
        """These articles as listings show them, in the order given."""
        if not ids:
            return []
        with self._db.session() as session:
            rows = session.execute(select(*self._listed_columns())
                                   .where(Article.id.in_(list(ids)))).all()
            found = {a.id: a for a in self._with_matches(session, rows)}
        return [found[i] for i in ids if i in found]

    # --- search --------------------------------------------------------------------------------

    def candidates(self, prefilter: Prefilter | None, filters: Filters, *,
                   before: int | None = None, limit: int = 200) -> CandidateBatch:
        """Articles the index says may match, newest stored first (id descending), below id
        `before`: what the rule engine is to decide on. No prefilter: every article.

        At most `limit` articles are looked at; the batch says where the next one starts
        (None: nothing further down). On SQLite the index is read from its newest entry down
        and stops after `limit` (FTS5 walks its ids in order), so a common word costs as
        little as a rare one; the filters are applied to what it gives."""
        conditions = self._where(filters)
        columns = (Article.id, Article.title, Article.text, Article.language, Article.source)
        if prefilter is not None and self.dialect != "postgresql":
            with self._db.session() as session:
                expression = _fts5(_expanded(session, prefilter))
                if expression is None:  # a wildcard that no indexed word begins with
                    return CandidateBatch([], None)
                bound = "AND rowid < :before " if before is not None else ""
                found = (text(f"SELECT rowid AS id FROM article_terms WHERE article_terms "
                              f"MATCH :fts {bound}ORDER BY rowid DESC LIMIT :limit")
                         .bindparams(fts=expression, limit=limit,
                                     **({"before": before} if before is not None else {}))
                         .columns(id=Integer).subquery())
                query = (select(*columns, found.c.id.label("scanned"))
                         .select_from(found.outerjoin(Article, and_(Article.id == found.c.id,
                                                                    *conditions)))
                         .order_by(found.c.id.desc()))
                rows = session.execute(query).all()
            kept = [Candidate(row.id, row.title, row.text, row.language, row.source)
                    for row in rows if row.id is not None]
            return CandidateBatch(kept, rows[-1].scanned if len(rows) == limit else None)
        if before is not None:
            conditions.append(Article.id < before)
        query = (self._narrowed(select(*columns), prefilter).where(*conditions)
                 .order_by(Article.id.desc()).limit(limit))
        with self._db.session() as session:
            kept = [Candidate(row.id, row.title, row.text, row.language, row.source)
                    for row in session.execute(query)]
        return CandidateBatch(kept, kept[-1].id if len(kept) == limit else None)

    def count_candidates(self, prefilter: Prefilter | None, filters: Filters,
                         cap: int = 10_000) -> int:
        """How many articles the index lets through, counted up to `cap`."""
        inner = (self._narrowed(select(Article.id), prefilter).where(*self._where(filters))
                 .limit(cap).subquery())
        with self._db.session() as session:
            return session.scalar(select(func.count()).select_from(inner)) or 0

    def _narrowed(self, query, prefilter: Prefilter | None):
        """`query` over articles, kept to those whose index terms satisfy the prefilter."""
        if prefilter is None:
            return query
        if self.dialect == "postgresql":
            return query.join(_TERMS, _TERMS.c.article_id == Article.id).where(
                text("article_terms.terms @@ CAST(:tsquery AS tsquery)")
                .bindparams(tsquery=_tsquery(prefilter)))
        expression = _fts5(prefilter)
        return query.where(Article.id.in_(
            text("SELECT rowid FROM article_terms WHERE article_terms MATCH :fts")
            .bindparams(fts=expression)))

    def index_size(self) -> tuple[int, int]:
        """Bytes the full-text index takes on disk, and articles stored."""
        with self._db.session() as session:
            articles = session.scalar(select(func.count(Article.id))) or 0
            if self.dialect == "postgresql":
                size = session.scalar(text("SELECT pg_total_relation_size('article_terms')"))
            else:
                size = session.scalar(text(
                    "SELECT coalesce(sum(pgsize), 0) FROM dbstat "
                    "WHERE name LIKE 'article\\_terms%' ESCAPE '\\'"))
        return int(size or 0), articles

    # --- sources and rules ---------------------------------------------------------------------

    def source_activity(self, source_ids: Sequence[str], *, days: int, now: datetime,
                        utc_offset: timedelta) -> dict[str, SourceActivity]:
        """Each source's last run, failures in a row, last new article and articles per day
        (days in the reader's zone, `utc_offset` from UTC; today last)."""
        found = {source: SourceActivity(source, per_day=[0] * days) for source in source_ids}
        if not source_ids:
            return found
        # One statement each, of one small indexed look-up per source (a GROUP BY over all
        # runs or articles would read every row): the latest runs, and the latest fetch.
        names = {f"s{at}": source for at, source in enumerate(source_ids)}
        last_fetch = " UNION ALL ".join(
            f"SELECT CAST(:{name} AS VARCHAR(64)) AS source, (SELECT max(fetched_at) FROM articles "
            f"WHERE source = :{name}) AS fetched_at" for name in names)
        with self._db.session() as session:
            # The last few runs; more only of the sources whose few runs all failed.
            runs_of = _latest_runs(session, names, 3)
            failing = {name: source for name, source in names.items()
                       if len(runs_of[source]) == 3 and "ok" not in
                       {run.status for run in runs_of[source]}}
            runs_of.update(_latest_runs(session, failing, _RUNS_LOOKED_AT))
            for source, runs in runs_of.items():
                activity = found[source]
                if runs:
                    activity.last_run_at = _utc(runs[0].started_at)
                    activity.last_status = runs[0].status
                    activity.running = runs[0].status == "running"
                for run in runs:
                    if run.status in NEUTRAL_STATUSES:
                        continue
                    if run.status in HEALTHY_STATUSES:
                        break
                    activity.consecutive_failures += 1
                    activity.consecutive_warnings += run.status == "warning"
                    activity.last_error = activity.last_error or run.error
            for source, fetched in session.execute(text(last_fetch), names):
                found[source].last_new_article_at = _utc(fetched)
            for source, per_day in self._intake(session, source_ids, days, now,
                                                utc_offset).items():
                found[source].per_day = per_day
        return found

    def _intake(self, session: Session, source_ids: Sequence[str], days: int, now: datetime,
                utc_offset: timedelta) -> dict[str, list[int]]:
        """Articles stored per source per day (oldest day first, today last).

        An article is stored with the time it was fetched, so the days before today do not
        change: they are counted once every few minutes (a GROUP BY over a month of articles),
        and only today's articles on every call."""
        today = _today(now, utc_offset)
        today_start = _day_start(now, utc_offset, 1)
        key = (tuple(source_ids), days, today, utc_offset)
        kept = self._closed_days.get(key)
        if kept is None or kept[0] < time.monotonic():
            counts = {source: [0] * days for source in source_ids}
            day = self._day(Article.fetched_at, utc_offset)
            for source, number, count in session.connection().execute(  # rows, not ORM
                    select(Article.source, day, func.count())
                    .where(Article.fetched_at >= _day_start(now, utc_offset, days),
                           Article.fetched_at < today_start,
                           Article.source.in_(list(source_ids)))
                    .group_by(Article.source, day)):
                _add_day(counts[source], today, number, count)
            kept = (time.monotonic() + _CLOSED_DAYS_KEPT, counts)
            self._closed_days = {key: kept}
        found = {source: list(per_day) for source, per_day in kept[1].items()}
        for source, count in session.connection().execute(
                select(Article.source, func.count())
                .where(Article.fetched_at >= today_start, Article.source.in_(list(source_ids)))
                .group_by(Article.source)):
            found[source][-1] += count
        return found

    def rule_activity(self, rule_ids: Sequence[str], *, days: int, now: datetime,
                      utc_offset: timedelta, latest: int = 5) -> dict[str, RuleActivity]:
        """Each rule's matches per day (by the article's date) and its latest matches."""
        found = {rule: RuleActivity(rule, per_day=[0] * days) for rule in rule_ids}
        start = _day_start(now, utc_offset, days)
        day = self._day(_NEWEST, utc_offset)
        with self._db.session() as session:
            # The articles of the window have ids from `first` on: with that bound the matches
            # are read from the end of the (rule_id, article_id) index, not all of a rule's.
            # (`id + 0`: SQLite would otherwise walk the table by id to find the minimum.)
            first = session.scalar(select(func.min(Article.id + 0)).where(_NEWEST >= start))
            for rule, number, count in session.connection().execute(
                    select(RuleMatchRow.rule_id, day, func.count())
                    .join(Article, Article.id == RuleMatchRow.article_id)
                    .where(_NEWEST >= start, RuleMatchRow.article_id >= (first or 0),
                           RuleMatchRow.rule_id.in_(list(rule_ids)))
                    .group_by(RuleMatchRow.rule_id, day)):
                _add_day(found[rule].per_day, _today(now, utc_offset), number, count)
            for rule in rule_ids:
                # The last stored matches (an index walk), newest by date among them.
                ids = list(session.scalars(
                    select(RuleMatchRow.article_id).where(RuleMatchRow.rule_id == rule)
                    .order_by(RuleMatchRow.article_id.desc()).limit(latest * 10)))
                if ids:
                    rows = session.execute(select(*self._listed_columns())
                                           .where(Article.id.in_(ids))
                                           .order_by(_NEWEST.desc(), Article.id.desc())
                                           .limit(latest)).all()
                    found[rule].latest = self._with_matches(session, rows)
        return found

    def _day(self, column, utc_offset: timedelta):
        """Days since 1970-01-01 in the reader's zone, as a number expression."""
        seconds = int(utc_offset.total_seconds())
        if self.dialect == "postgresql":
            return func.floor((func.extract("epoch", column) + seconds) / 86400).label("day")
        # Dates are after 1970: truncating is flooring.
        return cast(func.julianday(column) - 2440587.5 + seconds / 86400.0, Integer).label("day")


def _latest_runs(session: Session, names: dict[str, str], limit: int) -> dict[str, list]:
    """The last `limit` runs of each source (`names`: bind name -> source id), newest first."""
    runs_of: dict[str, list] = {source: [] for source in names.values()}
    if not names:
        return runs_of
    statement = " UNION ALL ".join(
        f"SELECT * FROM (SELECT source, started_at, status, error, id FROM crawl_runs "
        f"WHERE source = :{name} ORDER BY started_at DESC, id DESC LIMIT {limit}) AS r{name}"
        for name in names)
    for row in session.execute(text(statement), names):
        runs_of[row.source].append(row)
    for runs in runs_of.values():
        runs.sort(key=lambda run: (run.started_at, run.id), reverse=True)
    return runs_of


def _utc(value) -> datetime | None:
    """A timestamp read by a textual statement (naive UTC; SQLite gives text) made aware."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _day_start(now: datetime, utc_offset: timedelta, days: int) -> datetime:
    """The UTC moment the first of the last `days` days (in the reader's zone) began."""
    local = now.astimezone(UTC) + utc_offset
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=days - 1) - utc_offset


def _add_day(per_day: list[int], today: int, number, count: int) -> None:
    """Count `count` on day `number` of a list of days that ends with day `today`."""
    if number is None:
        return
    at = len(per_day) - 1 - (today - int(number))
    if 0 <= at < len(per_day):
        per_day[at] += count


def _today(now: datetime, utc_offset: timedelta) -> int:
    return (now.astimezone(UTC) + utc_offset - _EPOCH).days


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- the prefilter in each engine's query language ------------------------------------------

_EXPANDED_TERMS = 400  # a wildcard standing for more terms is left to FTS5's prefix query


def _expanded(session: Session, tree: Prefilter) -> Prefilter | None:
    """SQLite: each prefix replaced by the OR of the indexed terms it begins (FTS5 reads those
    lazily, newest first; a prefix query merges all their articles before the first answer).
    None: the tree can match nothing."""
    from storage.search_index import known_terms

    kind = tree[0]
    if kind == "term":
        return tree
    if kind == "prefix":
        terms = known_terms(session, tree[1], _EXPANDED_TERMS)
        if terms is None:
            return tree
        if not terms:
            return None
        return ("term", terms[0]) if len(terms) == 1 else ("or", [("term", t) for t in terms])
    children = [_expanded(session, child) for child in tree[1]]
    if kind == "and":
        return None if any(child is None for child in children) else ("and", children)
    kept = [child for child in children if child is not None]
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else ("or", kept)


def _fts5(tree: Prefilter | None) -> str | None:
    if tree is None:
        return None
    kind = tree[0]
    if kind == "term":
        return '"' + tree[1].replace('"', '""') + '"'
    if kind == "prefix":
        return '"' + tree[1].replace('"', '""') + '" *'
    joiner = " AND " if kind == "and" else " OR "
    return "(" + joiner.join(_fts5(child) for child in tree[1]) + ")"


def _tsquery(tree: Prefilter) -> str:
    kind = tree[0]
    if kind in ("term", "prefix"):
        lexeme = "'" + tree[1].replace("\\", "\\\\").replace("'", "''") + "'"
        return lexeme + (":*" if kind == "prefix" else "")
    joiner = " & " if kind == "and" else " | "
    return "(" + joiner.join(_tsquery(child) for child in tree[1]) + ")"
