"""indexes for the newest-first listing and for finding running crawls

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 10:00:00

`raqib items` and the digests read articles newest first by
coalesce(published_at, fetched_at): without an index on that expression every listing sorts
the whole table. Every daemon start and every worker task looks up crawl runs still marked
`running`, which is a scan of a table that grows by one row per source and crawl.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_articles_newest", "articles",
                    [sa.text("coalesce(published_at, fetched_at)"), "id"], unique=False)
    op.create_index("ix_crawl_runs_status", "crawl_runs", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_crawl_runs_status", table_name="crawl_runs")
    op.drop_index("ix_articles_newest", table_name="articles")
