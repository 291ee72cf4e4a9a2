"""delivery states: sent-pending (outcome unknown), subscription failure counters

Revision ID: 0004
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.models import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch_alter_table: SQLite cannot ALTER most things in place; on PostgreSQL it is plain ALTER TABLE.
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("sent_pending_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("unknown_resends", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("disabled_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("disabled_reason")
        batch.drop_column("consecutive_failures")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("unknown_resends")
        batch.drop_column("sent_pending_at")
