"""A throw-away PostgreSQL schema for a bench: XZNEWS_BENCH_PG (default the dev database), dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text

from store import init_db, make_engine

PG_URL = os.environ.get("XZNEWS_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/xznews_dev")


@contextmanager
def pg_schema_url() -> Iterator[str]:
    """A database URL whose connections work in a new, empty schema (search_path set by the URL)."""
    schema = "bench_" + uuid.uuid4().hex[:10]
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in PG_URL else "?"
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def pg_engine() -> Iterator[Engine]:
    """An engine on a fresh, migrated schema."""
    with pg_schema_url() as url:
        engine = make_engine(url)
        try:
            init_db(engine)
            yield engine
        finally:
            engine.dispose()
