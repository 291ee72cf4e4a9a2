"""Job locks, so that several daemon replicas on one PostgreSQL never run the same job at once.

PostgreSQL: a session-level advisory lock on a key derived from the job name, held for the job's duration on a
connection of its own, outside the engine's pool and in autocommit (no transaction stays open): ten jobs starting
at once no longer take ten pooled connections and leave none for their own work. SQLite is one process's
database: a process-local lock is enough there.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from store.db import session_scope

_local_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def lock_key(name: str) -> int:
    """A signed 64-bit key for pg_try_advisory_lock, stable across processes and Python versions."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def lock_connection(engine: Engine) -> Iterator[Connection]:
    """A fresh autocommit connection to `engine`'s database that is not taken from (or returned to) its pool."""
    lock_engine = create_engine(
        engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args=_connect_args(engine)
    )
    try:
        with lock_engine.connect() as conn:
            yield conn
    finally:
        lock_engine.dispose()


def _connect_args(engine: Engine) -> dict[str, object]:
    from store.db import CONNECT_TIMEOUT_S, postgres_connect_args

    # No statement timeout here: pg_advisory_lock in init_db waits for the migrating process as long as it takes.
    args = postgres_connect_args(CONNECT_TIMEOUT_S, 0)
    args.pop("options")
    return args


@contextmanager
def job_lock(engine: Engine, name: str) -> Iterator[bool]:
    """Yields True when this process holds the lock for `name`; False when another holder has it."""
    if engine.dialect.name == "postgresql":
        key = lock_key(name)
        with lock_connection(engine) as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            try:
                yield got
            finally:
                if got:
                    with contextlib.suppress(Exception):  # a lost connection has released it already
                        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        return
    with _guard:
        lock = _local_locks.setdefault(name, threading.Lock())
    got = lock.acquire(blocking=False)
    try:
        yield got
    finally:
        if got:
            lock.release()


_dedupe_guard = threading.Lock()


@contextmanager
def dedupe_session(engine: Engine) -> Iterator[Session]:
    """A transaction in which an article's dedupe check and insert run alone.

    Check-then-insert is a race: two workers that see the same story at once would both find nothing and both
    store it as new. Threads of one process queue on a lock; processes sharing PostgreSQL queue on a
    transaction-level advisory lock, released by the commit that makes the article visible to the next one.
    """
    with _dedupe_guard, session_scope(engine) as session:
        if engine.dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("dedupe")})
        yield session
