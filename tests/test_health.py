from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from ingest.health import backoff_delay, is_due, is_flagged, record_run
from ingest.sources.config import SourceConfig
from store.db import session_scope
from store.models import Source

T0 = datetime(2024, 5, 12, 2, 0, tzinfo=UTC)
SRC = SourceConfig(name="xz-gov", kind="epoint", url="http://www.xz.gov.cn/", interval_minutes=30)


def row_of(engine) -> Source:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return session.exec(select(Source).where(Source.name == "xz-gov")).one()


def test_a_successful_run_is_recorded_and_schedules_the_next(engine):
    with session_scope(engine) as session:
        record_run(session, SRC, ok=True, items=20, new=3, error=None, now=T0)
    row = row_of(engine)
    assert (row.last_success_at, row.last_new_at, row.last_items, row.last_new) == (T0, T0, 20, 3)
    assert row.consecutive_failures == 0 and row.last_error is None
    assert row.next_try_at == T0 + timedelta(minutes=30)
    assert row.kind == "epoint" and row.url == "http://www.xz.gov.cn/"


def test_failures_back_off_exponentially_and_a_success_resets(engine):
    for i in range(3):
        with session_scope(engine) as session:
            record_run(session, SRC, ok=False, items=0, new=0, error=f"HTTP 503 #{i}", now=T0)
    row = row_of(engine)
    assert row.consecutive_failures == 3
    assert row.last_error == "HTTP 503 #2"
    assert row.next_try_at == T0 + timedelta(minutes=30 * 8)
    assert not is_due(row, T0 + timedelta(minutes=60))
    assert is_due(row, T0 + timedelta(minutes=240))
    with session_scope(engine) as session:
        record_run(session, SRC, ok=True, items=5, new=0, error=None, now=T0)
    assert row_of(engine).consecutive_failures == 0


def test_backoff_is_capped_at_a_day():
    assert backoff_delay(SRC, 1) == timedelta(minutes=60)
    assert backoff_delay(SRC, 30) == timedelta(hours=24)


def test_a_source_that_keeps_failing_is_flagged(engine):
    for _ in range(3):
        with session_scope(engine) as session:
            record_run(session, SRC, ok=False, items=0, new=0, error="HTTP 403", now=T0)
    reason = is_flagged(row_of(engine), SRC, T0)
    assert reason is not None and "3 consecutive failures" in reason and "HTTP 403" in reason


def test_a_silent_source_is_flagged_after_n_intervals(engine):
    with session_scope(engine) as session:
        record_run(session, SRC, ok=True, items=10, new=2, error=None, now=T0)
    later = T0 + timedelta(minutes=30 * 5)
    with session_scope(engine) as session:
        record_run(session, SRC, ok=True, items=10, new=0, error=None, now=later)
    row = row_of(engine)
    assert is_flagged(row, SRC, later) is None
    reason = is_flagged(row, SRC, T0 + timedelta(minutes=30 * 6))
    assert reason is not None and reason.startswith("silent")


def test_an_empty_listing_is_flagged(engine):
    with session_scope(engine) as session:
        record_run(session, SRC, ok=True, items=0, new=0, error=None, now=T0)
    assert "no article links" in (is_flagged(row_of(engine), SRC, T0) or "")


def test_a_healthy_source_is_not_flagged(engine):
    with session_scope(engine) as session:
        record_run(session, SRC, ok=True, items=12, new=1, error=None, now=T0)
    assert is_flagged(row_of(engine), SRC, T0 + timedelta(minutes=30)) is None
