"""articles.extractor: which extraction method produced the body (primary | fallback)

Revision ID: 0007
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: rows stored before this revision do not know which method produced them.
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("extractor", sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("extractor")
