"""Shared fixtures: real databases (SQLite file and PostgreSQL), a real HTTP server and a real SMTP server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, text

from store.db import init_db, make_engine
from tests.servers import FixtureHTTPServer, SMTPSink

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PG_URL = os.environ.get(
    "XZNEWS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/xznews_test"
)


def _pg_available() -> str | None:
    try:
        probe = create_engine(PG_URL)
        with probe.connect() as conn:
            conn.execute(text("select 1"))
        probe.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        return f"PostgreSQL test database unavailable at {PG_URL}: {exc.__class__.__name__}"


_PG_PROBLEM = _pg_available()


def pg_engine_in_fresh_schema() -> tuple[Engine, str]:
    """An engine whose connections live in a new, empty schema: tests never see each other's rows."""
    if _PG_PROBLEM:
        if os.environ.get("CI"):
            pytest.fail(_PG_PROBLEM)
        pytest.skip(_PG_PROBLEM)
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = make_engine(PG_URL)

    @event.listens_for(engine, "connect")
    def _search_path(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        with dbapi_conn.cursor() as cur:
            cur.execute(f'SET search_path TO "{schema}"')
        dbapi_conn.commit()

    return engine, schema


def drop_pg_schema(engine: Engine, schema: str) -> None:
    engine.dispose()
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@contextmanager
def _sqlite_db(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    init_db(eng)
    try:
        yield eng
    finally:
        eng.dispose()


@contextmanager
def _postgres_db() -> Iterator[Engine]:
    eng, schema = pg_engine_in_fresh_schema()
    try:
        init_db(eng)
        yield eng
    finally:
        drop_pg_schema(eng, schema)


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database: each test using it runs on SQLite and on PostgreSQL."""
    with _sqlite_db(tmp_path) if request.param == "sqlite" else _postgres_db() as eng:
        yield eng


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    with _sqlite_db(tmp_path) as eng:
        yield eng


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    with _postgres_db() as eng:
        yield eng


@pytest.fixture
def http_server() -> Iterator[FixtureHTTPServer]:
    server = FixtureHTTPServer(root=FIXTURES / "sites").start()
    yield server
    server.stop()


@pytest.fixture
def smtp_server() -> Iterator[SMTPSink]:
    sink = SMTPSink().start()
    yield sink
    sink.stop()


@pytest.fixture(autouse=True)
def _fresh_cli_settings() -> Iterator[None]:
    """CLI commands build their settings once per process; each test reads its own environment."""
    from xznews.cli.common import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
