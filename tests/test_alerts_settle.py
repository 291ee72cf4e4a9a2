"""Digest windows close a settle lag behind the clock, so an article committed late is never skipped."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from alerts.dispatch import dispatch_due
from core.settings import Settings, load_settings
from store.models import Delivery, Subscription
from tests.alerts_support import SETTLE, T0, add_article, add_subscription, make_settings

SLOT = T0 + timedelta(days=1)  # the first daily 08:00 (Shanghai) slot after the subscription


def _deliveries(engine) -> list[Delivery]:
    with Session(engine) as session:
        return list(session.exec(select(Delivery).order_by(Delivery.id)))


def test_an_article_stamped_before_a_dispatch_but_committed_after_it_reaches_the_next_digest(
    engine, tmp_path
):
    settings = make_settings(tmp_path)
    add_subscription(engine, frequency="immediate")
    first = add_article(engine, fetched_at=T0 + timedelta(hours=1))
    now = T0 + timedelta(hours=2)

    assert dispatch_due(engine, settings, now).sent == 1
    # An ingest stamped fetched_at 5 s before that round and committed only after it.
    late = add_article(engine, fetched_at=now - timedelta(seconds=5))
    assert dispatch_due(engine, settings, now + SETTLE).sent == 1

    rows = _deliveries(engine)
    assert [r.article_ids for r in rows] == [[first], [late]]
    assert rows[0].window_end == now - SETTLE and rows[1].window_start == rows[0].window_end


def test_without_the_lag_that_article_would_be_lost(engine, tmp_path):
    # The same sequence with settle_s=0 shows what the lag prevents: the window closed at `now` and moved
    # the anchor past the late article.
    settings = make_settings(tmp_path)
    add_subscription(engine, frequency="immediate")
    add_article(engine, fetched_at=T0 + timedelta(hours=1))
    now = T0 + timedelta(hours=2)
    assert dispatch_due(engine, settings, now, settle_s=0).sent == 1
    add_article(engine, fetched_at=now - timedelta(seconds=5))
    assert dispatch_due(engine, settings, now + SETTLE, settle_s=0).deliveries == []


def test_a_daily_digest_waits_for_the_lag_then_covers_its_slot_and_is_not_due_again(engine, tmp_path):
    settings = make_settings(tmp_path)
    sub_id, _ = add_subscription(engine)
    add_article(engine)

    assert dispatch_due(engine, settings, SLOT + timedelta(minutes=1)).deliveries == []  # inside the lag
    assert dispatch_due(engine, settings, SLOT + SETTLE + timedelta(minutes=1)).sent == 1
    assert dispatch_due(engine, settings, SLOT + SETTLE + timedelta(minutes=2)).deliveries == []
    assert dispatch_due(engine, settings, SLOT + SETTLE + timedelta(hours=12)).deliveries == []
    [row] = _deliveries(engine)
    assert row.window_end == SLOT + timedelta(minutes=1)
    assert row.claimed_at == row.sent_at == SLOT + SETTLE + timedelta(minutes=1)  # real clock for times
    with Session(engine) as session:
        assert session.get(Subscription, sub_id).last_success_at == row.window_end


def test_an_article_committed_late_near_a_daily_slot_goes_out_the_next_day(engine, tmp_path):
    settings = make_settings(tmp_path)
    add_subscription(engine)
    add_article(engine)
    now = SLOT + SETTLE + timedelta(minutes=1)
    dispatch_due(engine, settings, now)
    late = add_article(engine, fetched_at=now - timedelta(seconds=3))
    assert dispatch_due(engine, settings, SLOT + timedelta(days=1) + SETTLE).sent == 1
    assert _deliveries(engine)[1].article_ids == [late]


def test_the_settle_lag_is_configurable_and_never_negative(tmp_path):
    assert Settings().digest_settle_s == 120
    config = tmp_path / "xznews.toml"
    config.write_text("digest_settle_s = 30\n", encoding="utf-8")
    assert load_settings(config, environ={}).digest_settle_s == 30
    with pytest.raises(ValidationError):
        Settings(digest_settle_s=-1)
