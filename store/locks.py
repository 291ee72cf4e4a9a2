"""Job locks, so that several daemon replicas on one PostgreSQL never run the same job at once.

PostgreSQL: a session-level advisory lock on a key derived from the job name, held on a dedicated connection for
the job's duration. SQLite is one process's database: a process-local lock is enough there.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text
from sqlmodel import Session

from store.db import session_scope

_local_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def lock_key(name: str) -> int:
    """A signed 64-bit key for pg_try_advisory_lock, stable across processes and Python versions."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def job_lock(engine: Engine, name: str) -> Iterator[bool]:
    """Yields True when this process holds the lock for `name`; False when another holder has it."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock_key(name)}).scalar())
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key(name)})
                conn.commit()
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
