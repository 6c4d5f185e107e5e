"""Room `repo.signatures`: the near-duplicate index of crawler.neardup, and clusters.

One MinHash signature per article (b-bit: 16 bits a value), its shingle count and its facts
(hashed), and its LSH band keys; candidates out, with what is stored about them; the cluster an
article joins written back, in the article's transaction.

A band key is stored folded with the week of the article's time (`stored_keys`: a 24-bit
integer, three bytes on SQLite), so that a lookup reads only the articles of the weeks a window
covers, never every article that ever shared a band (agency formulas make some bands common
to thousands of reports). An article fetched long after (or before) its publication time is
also filed under its fetch week, for the rule that compares fetch times (`candidates_in`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np
from sqlalchemy import LargeBinary, bindparam, func, select, text, type_coerce, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import Article, ArticleSignature, EpochSeconds, SignatureBand, UTCDateTime
from storage.packing import PackedFacts
from storage.records import IndexEntry

log = logging.getLogger(__name__)

MIN_SHARED_BANDS = 2  # LSH bands a stored article must share with a new one to be a candidate
BUCKET = timedelta(days=7)  # the time span a stored band key is filed under
# Published and fetched this far apart: the article is filed under both times' weeks. Nearer,
# a lookup by fetch time widens its weeks by this much instead (see `candidates_in`).
SLACK = timedelta(days=2)
KEY_BITS = 24  # stored keys: a chance collision only adds a verified candidate


def bucket_of(moment: datetime) -> int:
    """The number of the week (`BUCKET`) a moment falls in."""
    return int(moment.timestamp() // BUCKET.total_seconds())


def buckets_between(start: datetime, end: datetime) -> range:
    return range(bucket_of(start), bucket_of(end) + 1)


def stored_keys(band_keys: Iterable[int], buckets: Iterable[int]) -> dict[int, int]:
    """The stored form of band keys filed under time buckets: {stored key: band key}. A band key
    (signed 32-bit) and a bucket number are mixed (murmur3's finaliser) into a signed 24-bit
    integer."""
    keys = np.array(sorted(set(band_keys)), dtype=np.int64) & 0xFFFFFFFF
    out: dict[int, int] = {}
    for bucket in buckets:
        with np.errstate(over="ignore"):
            mixed = (keys ^ ((bucket * 0x9E3779B1) & 0xFFFFFFFF)).astype(np.uint32)
            mixed ^= mixed >> np.uint32(16)
            mixed *= np.uint32(0x85EBCA6B)
            mixed ^= mixed >> np.uint32(13)
            mixed *= np.uint32(0xC2B2AE35)
            mixed ^= mixed >> np.uint32(16)
        folded = (mixed >> np.uint32(32 - KEY_BITS)).astype(np.int64) - (1 << (KEY_BITS - 1))
        for stored, key in zip(folded.tolist(), keys.tolist(), strict=True):
            out[stored] = key
    return out


def entry_keys(band_keys: Iterable[int], created_at: datetime,
               fetched_at: datetime | None = None) -> list[int]:
    """The stored keys of an article indexed at `created_at` (its publication time, else its
    fetch time): under that week, and under its fetch week too when the two times are more than
    `SLACK` apart."""
    buckets = {bucket_of(created_at)}
    if fetched_at is not None and abs(fetched_at - created_at) > SLACK:
        buckets.add(bucket_of(fetched_at))
    return sorted(stored_keys(band_keys, buckets))


class SignatureIndex:
    """Signatures and band keys in; near-duplicate candidates out; clusters recorded."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def index(self, article_id: int, entry: IndexEntry):
        """Index a stored article and put it in its story, in one transaction; its cluster
        (`cluster_id`, `similarity`) or None."""
        try:
            with self._db.session() as session:
                return index_in(session, article_id, entry)
        except IntegrityError:
            log.debug("signature indexed by another process at the same moment")
            return None

    def add_many(self, entries: Iterable[tuple]) -> None:
        """Index many signatures in one transaction (bulk loads: no candidates, no clusters);
        articles already indexed are left as they are. Entries: (article id, signature,
        band keys, indexed at, shingle count, facts[, fetched at])."""
        signatures, bands = ArticleSignature.__table__, SignatureBand.__table__
        pending = {entry[0]: entry for entry in entries}
        with self._db.session() as session:
            ids = list(pending)
            for start in range(0, len(ids), 500):
                for known in session.scalars(select(signatures.c.article_id).where(
                        signatures.c.article_id.in_(ids[start:start + 500]))):
                    del pending[known]
            if not pending:
                return
            session.execute(signatures.insert(), [
                {"article_id": article_id, "signature": signature, "created_at": created_at,
                 "shingles": shingles, "facts": facts}
                for article_id, signature, _, created_at, shingles, facts in pending.values()])
            session.execute(bands.insert(), [
                {"band_key": key, "article_id": entry[0]}
                for entry in pending.values()
                for key in entry_keys(entry[2], entry[3], entry[6] if len(entry) > 6 else None)])

    def candidates(self, band_keys: list[int], *, since: datetime, until: datetime,
                   fetched_window: tuple[datetime, datetime] | None = None,
                   undated: bool = False) -> list[tuple]:
        """Articles sharing a band key (see `candidates_in`)."""
        with self._db.session() as session:
            return candidates_in(session, band_keys, since=since, until=until,
                                 fetched_window=fetched_window, undated=undated)

    def set_cluster(self, article_id: int, cluster_id: int, similarity: float) -> None:
        """Put an article in the cluster of the first-stored copy of its story."""
        with self._db.session() as session:
            session.execute(update(Article).where(Article.id == article_id)
                            .values(cluster_id=cluster_id, similarity=similarity))

    def refresh_statistics(self) -> None:
        """After a bulk load: give the planner statistics (else PostgreSQL scans the band table);
        on PostgreSQL also vacuum, as autovacuum later would (hint bits set once, not by the
        first lookups; the visibility map lets a band lookup read the index only); on SQLite
        fold the write-ahead log back into the database file."""
        if self._db.dialect == "postgresql":
            with self._db.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM (ANALYZE) article_signatures")
                connection.exec_driver_sql("VACUUM (ANALYZE) signature_bands")
            return
        with self._db.session() as session:
            session.execute(text("ANALYZE article_signatures"))
            session.execute(text("ANALYZE signature_bands"))
        with self._db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def index_bytes(self) -> dict[str, int]:
        """On-disk bytes of the signature and band tables, their indexes included."""
        names = ("article_signatures", "signature_bands")
        with self._db.session() as session:
            if self._db.dialect == "postgresql":
                return {name: session.scalar(text("SELECT pg_total_relation_size(:t)"),
                                             {"t": name}) for name in names}
            sizes = {}
            for name in names:
                # dbstat counts pages per b-tree; a table's indexes share its tbl_name
                sizes[name] = session.scalar(text(
                    "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name IN "
                    "(SELECT name FROM sqlite_master WHERE tbl_name = :t)"), {"t": name})
            return sizes


def index_in(session: Session, article_id: int, entry: IndexEntry, *, new: bool = False):
    """Index a stored article and put it in its story, in the caller's transaction.

    Index first, then look, at earlier and later ids alike: of two copies stored at once by two
    processes, whichever looks last sees the other's signature (each indexed its own before
    looking). The later id always joins the earlier one's story, whichever process finds the
    pair. Candidates are verified from their stored signature and facts, never their text.
    `new`: the article was stored in this very transaction (it has no entry yet).
    """
    story = entry.story
    story_time = entry.published_at or entry.fetched_at
    # `new`: the article was stored in this transaction; else a retried step keeps its entry.
    if new or session.get(ArticleSignature, article_id) is None:
        session.execute(ArticleSignature.__table__.insert(), [{
            "article_id": article_id, "signature": story.signature, "created_at": story_time,
            "shingles": story.shingles, "facts": story.facts}])
        session.execute(SignatureBand.__table__.insert(),
                        [{"band_key": key, "article_id": article_id}
                         for key in entry_keys(story.bands, story_time, entry.fetched_at)])
    window, fetched = entry.window, entry.fetched_at
    rows = candidates_in(session, story.bands, since=story_time - window,
                         until=story_time + window, undated=entry.published_at is None,
                         fetched_window=(fetched - window, fetched + window))
    decision = entry.decide(article_id, rows)
    best = decision.cluster
    articles = Article.__table__
    if best is not None:
        session.execute(update(articles).where(articles.c.id == article_id)
                        .values(cluster_id=best.cluster_id, similarity=round(best.similarity, 4)))
        _claim_root(session, best.cluster_id)
    root = best.cluster_id if best is not None else article_id
    for candidate_id, score in decision.later:
        joined = session.execute(update(articles).where(articles.c.id == candidate_id,
                                                        articles.c.cluster_id.is_(None))
                                 .values(cluster_id=root, similarity=round(score, 4)))
        if joined.rowcount:
            _claim_root(session, root)
    return best


def _claim_root(session: Session, article_id: int) -> None:
    """Mark the first article of a near-duplicate group as its own cluster, unless it has one."""
    articles = Article.__table__
    session.execute(update(articles).where(articles.c.id == article_id,
                                           articles.c.cluster_id.is_(None))
                    .values(cluster_id=article_id, similarity=1.0))


def candidates_in(session: Session, band_keys: list[int], *, since: datetime, until: datetime,
                  fetched_window: tuple[datetime, datetime] | None = None,
                  undated: bool = False, min_bands: int = MIN_SHARED_BANDS) -> list[tuple]:
    """Articles sharing band keys, indexed for a time in [since, until]: (article id,
    signature, shingle count, facts, cluster id); the facts as an object whose `bytes()` are
    the encoded facts (unpacked on demand).

    An article of unknown date was indexed at its fetch time, which says nothing about the
    publication time of a dated copy: for such pairs the fetch times are compared instead
    (`fetched_window`; `undated` when the new article itself has no date).

    The keys are looked up under the weeks the window covers, and the fetch window's weeks: an
    undated stored article is filed under its fetch week; a dated one whose fetch time is
    within `SLACK` of its publication time is found in the fetch window's weeks widened by
    `SLACK`, a farther one under its fetch week (`entry_keys`). (Such an article, filed twice,
    counts a band twice when both its weeks are looked up: one candidate more to verify.)
    """
    buckets = set(buckets_between(since, until))
    params = {"since": since, "until": until, "min_bands": min_bands}
    if fetched_window is not None:
        slack = SLACK if undated else timedelta(0)
        buckets.update(buckets_between(fetched_window[0] - slack, fetched_window[1] + slack))
        params.update(fetched_from=fetched_window[0], fetched_to=fetched_window[1])
    params["keys"] = sorted(stored_keys(band_keys, sorted(buckets)))
    query = _candidate_query(fetched_window is not None, undated)
    # Facts come as stored (PackedFacts): unpacked only for the few candidates that need them.
    return [(article_id, signature, shingles,
             None if facts is None else PackedFacts(facts), cluster_id)
            for article_id, signature, shingles, facts, cluster_id
            in session.execute(query, params)]


@lru_cache(maxsize=4)
def _candidate_query(fetch_rule: bool, undated: bool):
    """The candidate query (built once: building it took longer than running it)."""
    signatures, bands = ArticleSignature.__table__, SignatureBand.__table__
    in_window = signatures.c.created_at.between(bindparam("since", type_=EpochSeconds()),
                                                bindparam("until", type_=EpochSeconds()))
    if fetch_rule:
        fetched = Article.fetched_at.between(bindparam("fetched_from", type_=UTCDateTime()),
                                             bindparam("fetched_to", type_=UTCDateTime()))
        # A dated article may join an undated one only while that one is alone: once an
        # undated copy belongs to a dated story, it must not bridge to another year's report.
        lone_undated = Article.published_at.is_(None) & Article.cluster_id.is_(None)
        in_window = in_window | (fetched if undated else fetched & lone_undated)
    # From the band index outwards: a handful of key lookups (only the index is read, only the
    # weeks of the window), the articles sharing at least `min_bands` bands, then joins by
    # primary key. One shared band of 32 is what two unrelated reports sharing agency formulas
    # mostly have; a copy (Jaccard 0.38 and up) shares 4.6 on average, and two or more 94% of
    # the time.
    shared = (select(bands.c.article_id)
              .where(bands.c.band_key.in_(bindparam("keys", expanding=True)))
              .group_by(bands.c.article_id)
              .having(func.count() >= bindparam("min_bands"))).subquery()
    return (select(signatures.c.article_id, signatures.c.signature, signatures.c.shingles,
                   type_coerce(signatures.c.facts, LargeBinary), Article.cluster_id)
            .select_from(shared)
            .join(signatures, signatures.c.article_id == shared.c.article_id)
            .join(Article, Article.id == shared.c.article_id)
            .where(in_window))
