from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import inspect
from sqlmodel import select

from store.db import init_db, session_scope
from store.models import Article, Source


def test_migrations_create_every_table_and_are_idempotent(engine):
    init_db(engine)  # a second upgrade is a no-op
    tables = set(inspect(engine).get_table_names())
    assert {"sources", "articles", "subscribers", "subscriptions", "deliveries", "lsh_bands"} <= tables


def test_datetimes_come_back_aware_in_utc(engine):
    shanghai = timezone(timedelta(hours=8))
    with session_scope(engine) as s:
        s.add(
            Article(
                source_name="x",
                title="t",
                body="b",
                text_hash="h",
                published_at=datetime(2023, 1, 30, 9, 0, tzinfo=shanghai),
            )
        )
    with session_scope(engine) as s:
        art = s.exec(select(Article)).one()
        assert art.published_at == datetime(2023, 1, 30, 1, 0, tzinfo=UTC)
        assert art.fetched_at.tzinfo is not None


def test_source_names_are_unique(engine):
    import pytest
    from sqlalchemy.exc import IntegrityError

    with session_scope(engine) as s:
        s.add(Source(name="a", kind="rss", url="http://a"))
    with pytest.raises(IntegrityError), session_scope(engine) as s:
        s.add(Source(name="a", kind="rss", url="http://b"))


def test_a_database_at_the_first_revision_upgrades_in_place(tmp_path: Path) -> None:
    """Installed databases keep their rows across the chunk-table rename (0001 → head)."""
    from alembic import command
    from sqlalchemy import inspect, text

    from store.db import alembic_config, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = alembic_config(engine)
    command.upgrade(cfg, "0001")
    row = Article(id=1, source_name="s", title="t", body="b", text_hash="h")
    with engine.begin() as conn:  # only the columns the table has at 0001: later revisions add some
        existing = {c["name"] for c in inspect(conn).get_columns("articles")}
        values = {c.name: getattr(row, c.name) for c in Article.__table__.columns if c.name in existing}
        conn.execute(Article.__table__.insert().values(**values))
        conn.execute(text("INSERT INTO paragraph_hashes (article_id, hash) VALUES (1, 42)"))
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT hash FROM chunk_hashes WHERE article_id = 1")).scalar() == 42
        names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))}
    assert {"ix_chunk_hashes_hash", "ix_chunk_hashes_article_id"} <= names
    engine.dispose()
