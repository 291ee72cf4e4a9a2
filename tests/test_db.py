from datetime import UTC, datetime, timedelta, timezone

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
