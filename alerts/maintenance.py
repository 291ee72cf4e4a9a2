"""Housekeeping the daemon runs once a day.

An immediate subscription closes a window every dispatch round; a round with nothing to send leaves an `empty`
delivery row (the proof that the window was looked at). Those rows carry no content and no state that a later
round reads — the window itself advanced on the subscription — so old ones are pruned. Sent and failed rows are
kept: they are the delivery history operators look at.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete
from sqlmodel import col

from store import Delivery, session_scope

log = logging.getLogger(__name__)


def prune_empty_deliveries(engine: Engine, *, keep_days: int = 14, now: datetime | None = None) -> int:
    """Delete `empty` delivery rows older than `keep_days`; returns how many."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=keep_days)
    with session_scope(engine) as session:
        result = session.execute(
            delete(Delivery).where(col(Delivery.status) == "empty", col(Delivery.window_end) < cutoff)
        )
        removed = result.rowcount or 0
    log.info("pruned empty deliveries count=%d older_than=%s", removed, cutoff.isoformat())
    return removed
