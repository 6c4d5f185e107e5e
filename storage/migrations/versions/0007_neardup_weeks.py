"""near-duplicate index: band keys filed by week (24-bit), compact signature rows

Revision ID: 0007_neardup_weeks
Revises: 0006_pipeline
Create Date: 2026-12-08 01:30:00

A band key is stored folded with the week of its article's time (storage.signatures.entry_keys),
so that a candidate lookup reads only the weeks its window covers: the existing keys are folded
in place, from each signature's time and its article's fetch time. The index on
article_signatures.created_at goes (no query used it: candidates come from the band keys);
created_at becomes whole seconds since 1970 (storage.models.EpochSeconds), and facts are kept
Elias-Fano coded (storage.packing). Downgrade: all of it undone; the 32-bit keys of 0006 come
back by sketching each indexed article's text again.
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0007_neardup_weeks"
down_revision = "0006_pipeline"
branch_labels = None
depends_on = None

_ARTICLES = sa.table("articles", sa.column("id", sa.Integer), sa.column("title", sa.Text),
                     sa.column("text", sa.Text), sa.column("fetched_at", UTCDateTime))
_SIGNATURES = sa.table("article_signatures", sa.column("article_id", sa.Integer),
                       sa.column("created_at", UTCDateTime))
_FACTS = sa.table("article_signatures", sa.column("article_id", sa.Integer),
                   sa.column("facts", sa.LargeBinary))
_BANDS = sa.table("signature_bands", sa.column("band_key", sa.Integer),
                  sa.column("article_id", sa.Integer))


def _rewrite(connection, keys_of, batch_size: int = 1000) -> None:
    """Replace the band keys of every indexed article, a batch of articles at a time:
    `keys_of(article id, its current keys, indexed at, fetched at)` gives the new ones."""
    last = 0
    while True:
        rows = connection.execute(
            sa.select(_SIGNATURES.c.article_id, _SIGNATURES.c.created_at, _ARTICLES.c.fetched_at)
            .join(_ARTICLES, _ARTICLES.c.id == _SIGNATURES.c.article_id)
            .where(_SIGNATURES.c.article_id > last)
            .order_by(_SIGNATURES.c.article_id).limit(batch_size)).all()
        if not rows:
            return
        ids = [row.article_id for row in rows]
        current: dict[int, list[int]] = {}
        for key, article_id in connection.execute(
                sa.select(_BANDS.c.band_key, _BANDS.c.article_id)
                .where(_BANDS.c.article_id.in_(ids))):
            current.setdefault(article_id, []).append(key)
        connection.execute(_BANDS.delete().where(_BANDS.c.article_id.in_(ids)))
        new = [{"band_key": key, "article_id": row.article_id}
               for row in rows
               for key in keys_of(row.article_id, current.get(row.article_id, []),
                                  row.created_at, row.fetched_at)]
        if new:
            connection.execute(_BANDS.insert(), new)
        last = ids[-1]


def _recode_facts(connection, recode, batch_size: int = 1000) -> None:
    last = 0
    while True:
        rows = connection.execute(sa.select(_FACTS.c.article_id, _FACTS.c.facts)
                                  .where(_FACTS.c.article_id > last)
                                  .order_by(_FACTS.c.article_id).limit(batch_size)).all()
        if not rows:
            return
        connection.execute(
            _FACTS.update().where(_FACTS.c.article_id == sa.bindparam("id"))
            .values(facts=sa.bindparam("packed")),
            [{"id": row.article_id, "packed": recode(row.facts)} for row in rows
             if row.facts is not None])
        last = rows[-1].article_id


def _created_at_type(connection, to_seconds: bool) -> None:
    new_type = sa.BigInteger() if to_seconds else sa.DateTime()
    if connection.dialect.name == "postgresql":
        using = ("floor(EXTRACT(EPOCH FROM created_at))::bigint" if to_seconds
                 else "to_timestamp(created_at) AT TIME ZONE 'UTC'")
        op.alter_column("article_signatures", "created_at", type_=new_type,
                        postgresql_using=using)
        return
    # The table is copied with CAST(created_at AS <new type>): integers survive any cast, a
    # timestamp's text would not survive one to BIGINT. So: integers during the copy.
    if to_seconds:
        connection.execute(sa.text("UPDATE article_signatures SET created_at = "
                                   "CAST(strftime('%s', created_at) AS INTEGER)"))
    with op.batch_alter_table("article_signatures") as batch:
        batch.alter_column("created_at", type_=new_type, existing_nullable=False)
    if not to_seconds:
        connection.execute(sa.text("UPDATE article_signatures SET created_at = "
                                   "strftime('%Y-%m-%d %H:%M:%f', created_at, 'unixepoch') || '000'"))


def upgrade() -> None:
    from storage.packing import pack_facts
    from storage.signatures import entry_keys

    connection = op.get_bind()
    op.drop_index("ix_article_signatures_created_at", table_name="article_signatures")
    _rewrite(connection, lambda _, keys, created, fetched: entry_keys(keys, created, fetched))
    _recode_facts(connection, pack_facts)
    _created_at_type(connection, to_seconds=True)


def downgrade() -> None:
    from crawler.neardup import sketch
    from storage.packing import unpack_facts

    connection = op.get_bind()
    _created_at_type(connection, to_seconds=False)
    _recode_facts(connection, unpack_facts)

    def sketched(article_id, _keys, _created, _fetched):
        row = connection.execute(sa.select(_ARTICLES.c.title, _ARTICLES.c.text)
                                 .where(_ARTICLES.c.id == article_id)).one()
        story = sketch(row.title, row.text or "")
        return sorted(set(story.bands)) if story is not None else []

    _rewrite(connection, sketched)
    op.create_index("ix_article_signatures_created_at", "article_signatures", ["created_at"])
