"""Room `repo.signatures`: the near-duplicate index of crawler.neardup, and clusters.

One MinHash signature per article and its LSH band keys; candidates out; the cluster an
article joins written back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models import Article, ArticleSignature, SignatureBand

log = logging.getLogger(__name__)


class SignatureIndex:
    """Signatures and band keys in; near-duplicate candidates out; clusters recorded."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, article_id: int, signature: bytes, band_keys: list[str],
            created_at: datetime) -> None:
        """Index an article's signature under its band keys (once: a stored text never changes)."""
        self.add_many([(article_id, signature, band_keys, created_at)])

    def add_many(self, entries: Iterable[tuple[int, bytes, list[str], datetime]]) -> None:
        """Index many signatures in one transaction; articles already indexed are left as they are."""
        signatures, bands = ArticleSignature.__table__, SignatureBand.__table__
        pending = {entry[0]: entry for entry in entries}
        try:
            with self._db.session() as session:
                if self._db.dialect == "postgresql":
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

    def candidates(self, band_keys: list[str], *, since: datetime, until: datetime,
                                  before_id: int | None = None,
                                  fetched_window: tuple[datetime, datetime] | None = None,
                                  undated: bool = False) -> list[tuple[int, bytes, int | None]]:
        """Articles sharing a band key, indexed for a time in [since, until] and stored before
        `before_id`: (article id, signature, cluster id).

        An article of unknown date was indexed at its fetch time, which says nothing about the
        publication time of a dated copy: for such pairs the fetch times are compared instead
        (`fetched_window`; `undated` when the new article itself has no date).
        """
        signatures, bands = ArticleSignature.__table__, SignatureBand.__table__
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
        with self._db.session() as session:
            found = {row[0]: (row[0], bytes(row[1]), row[2]) for row in session.execute(query)}
        return list(found.values())

    def texts(self, article_ids: Iterable[int]) -> dict[int, tuple[str | None, str]]:
        """Title and text of the given articles, to verify candidates exactly."""
        with self._db.session() as session:
            rows = session.execute(select(Article.id, Article.title, Article.text)
                                   .where(Article.id.in_(list(article_ids))))
            return {article_id: (title, body) for article_id, title, body in rows}

    def set_cluster(self, article_id: int, cluster_id: int, similarity: float) -> None:
        """Put an article in the cluster of the first-stored copy of its story."""
        with self._db.session() as session:
            session.execute(update(Article).where(Article.id == article_id)
                            .values(cluster_id=cluster_id, similarity=similarity))

    def join_cluster_if_alone(self, article_id: int, cluster_id: int, similarity: float) -> bool:
        """Put an article in a cluster unless it already has one (it may have found its own
        story meanwhile); whether it joined."""
        with self._db.session() as session:
            result = session.execute(update(Article).where(Article.id == article_id,
                                                           Article.cluster_id.is_(None))
                                     .values(cluster_id=cluster_id, similarity=similarity))
            return bool(result.rowcount)

    def claim_cluster_root(self, article_id: int) -> None:
        """Mark the first article of a near-duplicate group as its own cluster, unless it has one."""
        with self._db.session() as session:
            session.execute(update(Article).where(Article.id == article_id,
                                                  Article.cluster_id.is_(None))
                            .values(cluster_id=article_id, similarity=1.0))

    def refresh_statistics(self) -> None:
        """After a bulk load: give the planner statistics (else PostgreSQL scans the band table)
        and, on SQLite, fold the write-ahead log back into the database file."""
        with self._db.session() as session:
            session.execute(text("ANALYZE article_signatures"))
            session.execute(text("ANALYZE signature_bands"))
        if self._db.dialect == "sqlite":
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
