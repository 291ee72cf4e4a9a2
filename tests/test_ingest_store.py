"""The database under ingest: job locks outside the pool, timeouts, one-line errors, concurrent first starts."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import select

import store.db
from store import Article, job_lock, make_engine, session_scope
from tests.conftest import PG_URL, drop_pg_schema, pg_engine_in_fresh_schema

REPO = Path(__file__).resolve().parents[1]


def start_xznews(
    args: list[str], env: dict[str, str], stdout: int = subprocess.PIPE
) -> subprocess.Popen[str]:
    """`xznews ARGS…` as a process of its own, as an operator starts it."""
    return subprocess.Popen(
        [sys.executable, "-m", "xznews", *args],
        env=env,
        cwd=REPO,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_job_locks_take_no_pooled_connection_and_hold_no_transaction(pg_engine):
    small = create_engine(PG_URL, pool_size=1, max_overflow=0, pool_timeout=1)
    try:
        with contextlib.ExitStack() as stack:
            held = [stack.enter_context(job_lock(small, f"ingest:s{n}")) for n in range(5)]
            assert all(held)
            with small.connect() as conn:  # the pool's only connection is still free for the job's work
                states = conn.execute(
                    text(
                        "SELECT a.state FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                        "WHERE l.locktype = 'advisory' AND l.granted AND a.pid <> pg_backend_pid()"
                    )
                ).scalars()
                assert set(states) == {"idle"}  # not "idle in transaction"
    finally:
        small.dispose()


def test_postgres_connections_carry_a_statement_timeout(pg_engine):
    with pg_engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "1min"
        params = conn.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
        assert (
            params["keepalives"] == "1"
            and params["keepalives_idle"] == "30"
            and params["connect_timeout"] == "10"
        )


def test_a_server_that_accepts_but_never_answers_ends_in_the_connect_timeout():
    frozen = socket.create_server(("127.0.0.1", 0))  # accepts (backlog) but never speaks PostgreSQL
    port = frozen.getsockname()[1]
    outcome: list[BaseException] = []

    def connect() -> None:
        engine = make_engine(f"postgresql+psycopg://u@127.0.0.1:{port}/db", connect_timeout_s=1)
        try:
            engine.connect()
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            outcome.append(exc)
        finally:
            engine.dispose()

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(60)  # a bound for a broken build: without a connect timeout it waits for ever
    frozen.close()
    assert [type(e) for e in outcome] == [OperationalError]


def test_a_lost_database_ends_ingest_with_one_line(tmp_path):
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    env = {k: v for k, v in os.environ.items() if not k.startswith("XZNEWS_")}
    env.update(XZNEWS_DATABASE_URL=f"postgresql://u@127.0.0.1:{port}/db", XZNEWS_DATA_DIR=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-m", "xznews", "ingest"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    # One line naming the cause: the CLI's engine check finds the database gone before the pass starts.
    assert len(lines) == 1 and lines[0].startswith("error: cannot open the database"), proc.stderr
    assert "Connection refused" in lines[0]


def _racing_upgrade(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Both starters are let into the migration together unless something makes them take turns."""
    barrier = threading.Barrier(2, timeout=2)
    arrived: list[str] = []
    import alembic.command  # init_db imports it where used

    real = alembic.command.upgrade

    def upgrade_together(cfg, revision):  # type: ignore[no-untyped-def]
        arrived.append(revision)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return real(cfg, revision)

    monkeypatch.setattr(alembic.command, "upgrade", upgrade_together)
    return arrived


def _start_together(*engines) -> list[BaseException]:  # type: ignore[no-untyped-def]
    errors: list[BaseException] = []

    def start(engine) -> None:  # type: ignore[no-untyped-def]
        try:
            store.db.init_db(engine)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_two_first_starts_on_a_fresh_sqlite_file_both_succeed(tmp_path, monkeypatch):
    arrived = _racing_upgrade(monkeypatch)
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    one, two = make_engine(url), make_engine(url)

    assert _start_together(one, two) == []
    assert len(arrived) == 2
    with session_scope(one) as session:
        assert session.exec(select(Article)).all() == []
    one.dispose()
    two.dispose()


def test_two_first_starts_on_a_fresh_postgres_schema_both_succeed(pg_engine, monkeypatch):
    engine, schema = pg_engine_in_fresh_schema()
    arrived = _racing_upgrade(monkeypatch)
    try:
        assert _start_together(engine, engine) == []
        assert len(arrived) == 2
    finally:
        drop_pg_schema(engine, schema)


def test_two_seed_loads_on_a_fresh_sqlite_file_store_each_seed_once(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("XZNEWS_")}
    env.update(XZNEWS_DATA_DIR=str(tmp_path))
    procs = [start_xznews(["seeds", "load", "--json"], env) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    engine = make_engine(f"sqlite:///{tmp_path / 'xznews.db'}")
    with session_scope(engine) as session:
        refs = [a.seed_ref for a in session.exec(select(Article).where(Article.is_seed == True))]  # noqa: E712
    engine.dispose()
    assert refs and len(refs) == len(set(refs))
