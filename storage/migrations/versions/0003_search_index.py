"""the full-text index of stored articles, and indexes for the web view's listings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 09:00:00

`article_terms` (storage/search_index.py) holds each article's normalised words and their
proclitic readings: SQLite FTS5, PostgreSQL tsvector + GIN. Built here for the articles
already stored; `Repository.save_article` keeps it up to date. The web view's per-source
listings and source health read articles by source newest first, and a source's latest fetch.
"""

import sqlalchemy as sa
from alembic import op

from storage import search_index

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    search_index.create(connection)
    search_index.rebuild(connection)
    op.create_index("ix_articles_source_newest", "articles",
                    ["source", sa.text("coalesce(published_at, fetched_at)"), "id"], unique=False)
    op.create_index("ix_articles_source_fetched", "articles", ["source", "fetched_at"],
                    unique=False)
    op.create_index("ix_rule_matches_rule_article", "rule_matches", ["rule_id", "article_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_rule_matches_rule_article", table_name="rule_matches")
    op.drop_index("ix_articles_source_fetched", table_name="articles")
    op.drop_index("ix_articles_source_newest", table_name="articles")
    op.drop_table("article_terms")
