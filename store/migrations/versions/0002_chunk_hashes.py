"""rename paragraph_hashes to chunk_hashes (it holds content-defined chunk hashes)

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (("hash", "hash"), ("article_id", "article_id"))


def _rename(old: str, new: str) -> None:
    # SQLite cannot rename an index, so both backends drop and recreate them around the table rename.
    for suffix, column in _INDEXES:
        op.drop_index(f"ix_{old}_{suffix}", table_name=old)
    op.rename_table(old, new)
    for suffix, column in _INDEXES:
        op.create_index(f"ix_{new}_{suffix}", new, [column], unique=False)


def upgrade() -> None:
    _rename("paragraph_hashes", "chunk_hashes")


def downgrade() -> None:
    _rename("chunk_hashes", "paragraph_hashes")
