"""Engine and sessions. SQLite (WAL) by default, PostgreSQL by URL; the schema is kept by Alembic."""

from __future__ import annotations

import fcntl
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlmodel import Session

from core.errors import XznewsError

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the daemon's readers and its one writer work side by side; busy_timeout rides out short locks.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


# PostgreSQL: give up connecting after this; end any statement after that; notice a dead peer within about a
# minute (TCP keepalives) instead of waiting on a socket for ever. A frozen server then costs one error, not hours.
CONNECT_TIMEOUT_S = 10
STATEMENT_TIMEOUT_S = 60
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}


def make_engine(
    url: str,
    *,
    pool_size: int = 5,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    statement_timeout_s: float = STATEMENT_TIMEOUT_S,
) -> Engine:
    """An engine for `url`. `pool_size`: connections kept for the threads that use it at once (the daemon sizes
    it from its thread count); job locks never take one (store.locks)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    parsed = make_url(url)
    connect_args = postgres_connect_args(connect_timeout_s, statement_timeout_s)
    if "options" in parsed.query:  # the URL's own options (e.g. a search_path) are kept beside ours
        connect_args["options"] = f"{parsed.query['options']} {connect_args['options']}"
        parsed = parsed.difference_update_query(["options"])
    return create_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=30,
        connect_args=connect_args,
    )


def postgres_connect_args(connect_timeout_s: float, statement_timeout_s: float) -> dict[str, Any]:
    return {
        "connect_timeout": max(1, round(connect_timeout_s)),
        "options": f"-c statement_timeout={round(statement_timeout_s * 1000)}",
        **_KEEPALIVES,
    }


class DatabaseUnavailableError(XznewsError):
    """The database could not be reached or failed under us; the message is one line naming the cause."""


@contextmanager
def database_errors() -> Iterator[None]:
    """Translate a lost or unreachable database into one DatabaseUnavailableError line (for the CLI's edge)."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise DatabaseUnavailableError(f"database unavailable: {detail[0] if detail else exc}") from None


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def init_db(engine: Engine) -> None:
    """Bring the schema to the newest revision (creates it on first run).

    Processes starting together on a fresh database (two `xznews run`, replicas) take turns: the first migrates,
    the others find the schema at head. PostgreSQL: an advisory lock; SQLite: a lock file beside the database.
    """
    if _is_at_head(engine):  # every command starts here: skip loading Alembic (~0.2 s) when nothing is to do
        return
    from alembic import command

    with _migration_lock(engine):
        command.upgrade(alembic_config(engine), "head")


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        from store.locks import lock_connection, lock_key

        with lock_connection(engine) as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_key("migrate")})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key("migrate")})
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_REVISION_RE = re.compile(r"^(down_revision|revision)\b[^=]*=\s*['\"]?([\w]+)", re.M)


def _heads() -> set[str]:
    """The revisions no other revision builds on, read from the migration files (as Alembic does)."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for kind, value in _REVISION_RE.findall(path.read_text(encoding="utf-8")):
            (revisions if kind == "revision" else parents).add(value)
    return revisions - parents


def _is_at_head(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            stored = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except DBAPIError:  # no schema yet
        return False
    return bool(stored) and stored == _heads()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
