"""project tracker: projects and project_facts tables; 项目动态 filters on subscriptions

Revision ID: 0006
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.models

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = store.models.UTCDateTime(timezone=True)


def _str(n: int) -> sa.types.TypeEngine:
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_key", _str(200), nullable=False),
        sa.Column("company", _str(300), nullable=True),
        sa.Column("company_key", _str(100), nullable=True),
        sa.Column("place", _str(100), nullable=True),
        sa.Column("stage", _str(12), nullable=True),
        sa.Column("amount_yi", sa.Float(), nullable=True),
        sa.Column("amounts", sa.JSON(), nullable=False),
        sa.Column("clusters", sa.JSON(), nullable=False),
        sa.Column("first_reported_at", _TS, nullable=True),
        sa.Column("last_reported_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("name_key", "company_key", "place", "stage", "last_reported_at"):
        op.create_index(f"ix_projects_{column}", "projects", [column], unique=False)
    op.create_table(
        "project_facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("company", _str(300), nullable=True),
        sa.Column("amount_yi", sa.Float(), nullable=True),
        sa.Column("stage", _str(12), nullable=True),
        sa.Column("place", _str(100), nullable=True),
        sa.Column("clusters", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("reported_at", _TS, nullable=True),
        sa.Column("seen_at", _TS, nullable=True),
        sa.Column("change", _str(12), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("article_id", "project_id", "seen_at"):
        op.create_index(f"ix_project_facts_{column}", "project_facts", [column], unique=False)
    # Existing subscriptions get no project filter: every stage, any amount.
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("project_stages", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("project_min_amount", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("project_min_amount")
        batch.drop_column("project_stages")
    op.drop_table("project_facts")
    op.drop_table("projects")
