"""full-text index of articles (article_search): FTS5 on SQLite, tsvector + GIN on PostgreSQL;
subscriptions made on the web carry their own confirmation (confirm_token, confirmed_at)

Revision ID: 0005
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The index holds normalized text; importing the normalizer registers it with store.search (see there).
    import ingest.normalize  # noqa: F401
    from store import search

    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("confirm_token", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("confirmed_at", store.models.UTCDateTime(timezone=True), nullable=True))
        batch.create_unique_constraint("uq_subscriptions_confirm_token", ["confirm_token"])
    conn = op.get_bind()
    search.create_table(conn)
    search.rebuild_search_index(conn)  # an installed database gets its existing articles indexed in place


def downgrade() -> None:
    from store import search

    search.drop_table(op.get_bind())
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_constraint("uq_subscriptions_confirm_token", type_="unique")
        batch.drop_column("confirmed_at")
        batch.drop_column("confirm_token")
