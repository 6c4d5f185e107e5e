"""the web view's inbox filtered by language reads an index of (language, newest)

Revision ID: 0005_webperf
Revises: 0004_notify
Create Date: 2026-12-07 22:30:00

An inbox filtered by language walked every article newest first and read each one's row to
see its language (behind the text, so on the article's overflow pages); this index gives the
articles of one language newest first without reading their rows.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_webperf"
down_revision = "0004_notify"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_articles_language_newest", "articles",
                    ["language", sa.text("coalesce(published_at, fetched_at)"), "id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_articles_language_newest", table_name="articles")
