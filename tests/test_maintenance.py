from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from alerts.maintenance import prune_empty_deliveries
from store.db import session_scope
from store.models import Delivery, Subscriber, Subscription

NOW = datetime(2026, 11, 22, 3, 17, tzinfo=UTC)


def test_old_empty_deliveries_are_pruned_and_history_is_kept(engine):
    with session_scope(engine) as s:
        sub = Subscriber(email="a@example.com", unsubscribe_token="t" * 43)
        s.add(sub)
        s.flush()
        subscription = Subscription(subscriber_id=sub.id, frequency="immediate")
        s.add(subscription)
        s.flush()
        for days, status in [(30, "empty"), (30, "sent"), (30, "failed"), (1, "empty")]:
            end = NOW - timedelta(days=days)
            s.add(
                Delivery(
                    subscription_id=subscription.id,
                    window_start=end - timedelta(minutes=1 + len(status)),
                    window_end=end,
                    status=status,
                )
            )

    assert prune_empty_deliveries(engine, now=NOW) == 1

    with session_scope(engine) as s:
        left = sorted((d.status, (NOW - d.window_end).days) for d in s.exec(select(Delivery)))
    assert left == [("empty", 1), ("failed", 30), ("sent", 30)]
