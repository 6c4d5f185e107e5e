"""near-duplicate index v2 (b-bit MinHash, facts, 32-bit band keys); fingerprints recomputed

Revision ID: 0006_pipeline
Revises: 0004_notify
Create Date: 2026-12-07 22:30:00

The near-duplicate index is rebuilt for every stored article: signatures hash shingles another
way (crawler.neardup, vectorised), keep 128 values of 16 bits, and come with the story's
shingle count and facts, so that candidates are verified without reading their text; band keys
are 32-bit integers in one B-tree (no rowid on SQLite). Clusters already recorded are kept.
Content fingerprints are recomputed with today's Arabic normaliser (monitor.arabic), so that a
copy crawled after the upgrade is recognised as a duplicate of a text stored before it; where
two stored texts now have one fingerprint, the later keeps its old one.
"""

import hashlib

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0006_pipeline"
down_revision = "0005_webperf"
branch_labels = None
depends_on = None

_ARTICLES = sa.table("articles", sa.column("id", sa.Integer), sa.column("title", sa.Text),
                     sa.column("text", sa.Text), sa.column("published_at", UTCDateTime),
                     sa.column("fetched_at", UTCDateTime),
                     sa.column("content_fingerprint", sa.String))


def _create_index_tables() -> None:
    op.create_table(
        "article_signatures",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("shingles", sa.Integer(), server_default="0", nullable=False),
        sa.Column("facts", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id"),
    )
    op.create_index("ix_article_signatures_created_at", "article_signatures", ["created_at"])
    op.create_table(
        "signature_bands",
        sa.Column("band_key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("band_key", "article_id"),
        sqlite_with_rowid=False,
    )


def rebuild(connection, batch_size: int = 500) -> int:
    """Fingerprints and near-duplicate entries of every stored article; how many articles."""
    from crawler.extraction import content_fingerprint
    from crawler.neardup import sketch

    signatures = sa.table("article_signatures", sa.column("article_id", sa.Integer),
                          sa.column("signature", sa.LargeBinary),
                          sa.column("created_at", UTCDateTime), sa.column("shingles", sa.Integer),
                          sa.column("facts", sa.LargeBinary))
    bands = sa.table("signature_bands", sa.column("band_key", sa.Integer),
                     sa.column("article_id", sa.Integer))
    taken = {hashlib.blake2b(fp.encode(), digest_size=12).digest() for fp in connection.execute(
        sa.select(_ARTICLES.c.content_fingerprint)).scalars()}
    done, last = 0, 0
    while True:
        rows = connection.execute(
            sa.select(_ARTICLES.c.id, _ARTICLES.c.title, _ARTICLES.c.text,
                      _ARTICLES.c.published_at, _ARTICLES.c.fetched_at,
                      _ARTICLES.c.content_fingerprint)
            .where(_ARTICLES.c.id > last).order_by(_ARTICLES.c.id).limit(batch_size)).all()
        if not rows:
            return done
        new_signatures, new_bands = [], []
        for row in rows:
            fingerprint = content_fingerprint(row.text or "")
            key = hashlib.blake2b(fingerprint.encode(), digest_size=12).digest()
            if fingerprint != row.content_fingerprint and key not in taken:
                taken.add(key)
                connection.execute(sa.update(_ARTICLES).where(_ARTICLES.c.id == row.id)
                                   .values(content_fingerprint=fingerprint))
            story = sketch(row.title, row.text or "")
            if story is not None:
                new_signatures.append({"article_id": row.id, "signature": story.signature,
                                       "created_at": row.published_at or row.fetched_at,
                                       "shingles": story.shingles, "facts": story.facts})
                new_bands.extend({"band_key": band, "article_id": row.id}
                                 for band in sorted(set(story.bands)))
        if new_signatures:
            connection.execute(signatures.insert(), new_signatures)
            connection.execute(bands.insert(), new_bands)
        done += len(rows)
        last = rows[-1].id


def upgrade() -> None:
    op.drop_index("ix_signature_bands_key", table_name="signature_bands")
    op.drop_table("signature_bands")
    op.drop_index("ix_article_signatures_created_at", table_name="article_signatures")
    op.drop_table("article_signatures")
    _create_index_tables()
    rebuild(op.get_bind())


def downgrade() -> None:
    # The old index cannot be derived from the new one: it starts empty (clusters are kept).
    op.drop_table("signature_bands")
    op.drop_index("ix_article_signatures_created_at", table_name="article_signatures")
    op.drop_table("article_signatures")
    op.create_table(
        "article_signatures",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id"),
    )
    op.create_index("ix_article_signatures_created_at", "article_signatures", ["created_at"])
    op.create_table(
        "signature_bands",
        sa.Column("band_key", sa.String(length=40), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("band_key", "article_id"),
    )
    op.create_index("ix_signature_bands_key", "signature_bands", ["band_key"])
