"""Source health: what the last runs of a source did, when to try it next, and whether to flag it.

A failing source is pushed into the future before the error propagates any further (interval × 2^failures,
at most a day), so a dead site is neither hammered nor forgotten.  A source is flagged when it keeps failing,
when its listing comes back empty (stale selectors), or when it has produced nothing new for several of its
intervals (a site redesign often looks like silence, not like an error).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session, select

from ingest.sources import SourceConfig
from store import Source

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(hours=24)
_MAX_ERROR_CHARS = 2000


def backoff_delay(source: SourceConfig, failures: int) -> timedelta:
    """How long to wait after `failures` consecutive failures: the interval doubled per failure, capped at 24 h."""
    interval = timedelta(minutes=source.interval_minutes)
    if failures <= 0:
        return interval
    return min(interval * 2 ** min(failures, 20), MAX_BACKOFF)


def get_source_row(session: Session, source: SourceConfig) -> Source:
    """The Source row for a configured source, created (and kept in step with the config) as needed."""
    row = session.exec(select(Source).where(Source.name == source.name)).first()
    if row is None:
        row = Source(name=source.name, kind=source.kind, url=source.url)
        session.add(row)
    else:
        row.kind, row.url = source.kind, source.url
    return row


def record_run(
    session: Session,
    source: SourceConfig,
    *,
    ok: bool,
    items: int,
    new: int,
    error: str | None,
    now: datetime,
) -> None:
    """Store the outcome of one run of `source` on its Source row (the caller commits)."""
    row = get_source_row(session, source)
    row.last_run_at = now
    if ok:
        row.last_success_at = now
        row.consecutive_failures = 0
        row.last_error = None
        row.last_items = items
        row.last_new = new
        if new > 0:
            row.last_new_at = now
        row.next_try_at = now + backoff_delay(source, 0)
    else:
        row.consecutive_failures += 1
        row.last_error = (error or "unknown error")[:_MAX_ERROR_CHARS]
        row.next_try_at = now + backoff_delay(source, row.consecutive_failures)
        log.warning(
            "source failed source=%s failures=%d next_try_at=%s error=%s",
            source.name, row.consecutive_failures, row.next_try_at.isoformat(), row.last_error,
        )  # fmt: skip
    row.flagged = is_flagged(row, source, now)
    session.add(row)
    session.flush()


def is_due(row: Source | None, now: datetime) -> bool:
    """True if the source may run now (never run, or its next try has come)."""
    return row is None or row.next_try_at is None or row.next_try_at <= now


def is_flagged(
    row: Source,
    source: SourceConfig,
    now: datetime,
    *,
    silent_intervals: int = 6,
    max_failures: int = 3,
) -> str | None:
    """Why this source needs a person's attention, or None."""
    if row.consecutive_failures >= max_failures:
        return f"failing: {row.consecutive_failures} consecutive failures, last error: {row.last_error}"
    if row.last_success_at is not None and row.last_items == 0:
        return "the last listing had no article links (selectors may be stale, or the column moved)"
    silence = timedelta(minutes=source.interval_minutes) * silent_intervals
    since = row.last_new_at or row.created_at
    if row.last_success_at is not None and since is not None and now - since >= silence:
        what = f"since {row.last_new_at:%Y-%m-%d %H:%M} UTC" if row.last_new_at else "ever"
        return f"silent: nothing new {what} ({silent_intervals} intervals of {source.interval_minutes} min)"
    return None
