"""outbox: chat channels, message kinds, claims, retry back-off and alerts sent once

Revision ID: 0004_notify
Revises: 0002
Create Date: 2026-12-07 12:00:00

Messages now go to chat channels through Apprise as well as to e-mail addresses (`channel`,
and `body_markdown` for services that read Markdown); the outbox also carries volume and
operators' alerts (`kind`, and `alert_key`, unique, so that an alert is queued once). A sender
claims a message before sending it (`claimed_by`, `claimed_at`) — the lock SQLite honours
too — and failed messages wait `next_attempt_at`; `refusals` counts a service's refusals of a
message until it is given up. `stories` is what the message counted, for reports.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_notify"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="digest"))
        batch.add_column(sa.Column("channel", sa.String(16), nullable=False,
                                   server_default="email"))
        batch.add_column(sa.Column("body_markdown", sa.Text(), nullable=True))
        batch.add_column(sa.Column("stories", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("claimed_by", sa.String(128), nullable=True))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("refusals", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("alert_key", sa.String(255), nullable=True))
    op.create_index("ix_outbox_alert_key", "outbox", ["alert_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_outbox_alert_key", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        for column in ("alert_key", "refusals", "next_attempt_at", "claimed_at", "claimed_by",
                       "stories", "body_markdown", "channel", "kind"):
            batch.drop_column(column)
