"""Delivery: each digest is sent once, retried when the server is down, recorded when refused."""

from __future__ import annotations

import email
import email.policy
import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, text
from sqlmodel import Session, select

from alerts import dispatch as dispatch_mod
from alerts.dispatch import STALE_CLAIM, dispatch_due
from store.db import make_engine
from store.models import Delivery, Subscription
from tests.alerts_support import (
    SETTLE,
    T0,
    add_article,
    add_subscription,
    free_port,
    make_settings,
    running_sink,
)


@pytest.fixture
def smtp_server():
    yield from running_sink()


# The clock just after the first daily slot (08:00 Shanghai) plus the settle lag; windows end at CLOSE.
DUE = T0 + timedelta(days=1, minutes=1) + SETTLE
CLOSE = DUE - SETTLE


def _deliveries(engine) -> list[Delivery]:
    with Session(engine) as session:
        return list(session.exec(select(Delivery).order_by(Delivery.id)))


def test_it_sends_a_due_digest_once_and_a_second_send_sends_nothing(engine, smtp_server, tmp_path):
    settings = make_settings(tmp_path, smtp_server.port)
    add_article(engine)
    sub_id, _ = add_subscription(engine, clusters=["engineering_machinery"])

    first = dispatch_due(engine, settings, DUE)
    second = dispatch_due(engine, settings, DUE + timedelta(seconds=5))

    assert (first.sent, second.sent, second.skipped) == (1, 0, 0)
    assert len(smtp_server.messages) == 1
    [row] = _deliveries(engine)
    assert row.status == "sent" and row.attempts == 1
    with Session(engine) as session:
        assert session.get(Subscription, sub_id).last_success_at == CLOSE


def test_it_does_not_send_before_the_slot(engine, smtp_server, tmp_path):
    settings = make_settings(tmp_path, smtp_server.port)
    add_article(engine)
    add_subscription(engine)
    report = dispatch_due(engine, settings, T0 + timedelta(hours=23))
    assert report.sent == 0 and smtp_server.messages == []


def test_the_message_id_is_deterministic_and_carries_the_delivery_and_window(engine, smtp_server, tmp_path):
    settings = make_settings(tmp_path, smtp_server.port)
    add_article(engine)
    add_subscription(engine)
    dispatch_due(engine, settings, DUE)
    [row] = _deliveries(engine)
    assert row.message_id == f"<xznews.d{row.id}.{int(CLOSE.timestamp())}@news.example.org>"
    assert smtp_server.messages[0]["Message-ID"] == row.message_id


def test_every_mail_has_one_click_unsubscribe_headers(engine, smtp_server, tmp_path):
    settings = make_settings(tmp_path, smtp_server.port)
    add_article(engine)
    _, token = add_subscription(engine)
    dispatch_due(engine, settings, DUE)
    msg = smtp_server.messages[0]
    # No mailto: unless a mailbox that acts on it is configured (unsubscribe_mailbox).
    assert msg["List-Unsubscribe"] == f"<https://news.example.org/unsubscribe/{token}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = msg.get_body(("html",)).get_content()
    assert f"https://news.example.org/unsubscribe/{token}" in html


def test_smtp_down_then_up_sends_once_later(engine, smtp_server, tmp_path):
    down = make_settings(tmp_path, free_port())  # nothing listens there
    add_article(engine)
    add_subscription(engine)

    report = dispatch_due(engine, down, DUE)
    assert report.retrying == 1
    [row] = _deliveries(engine)
    assert row.status == "pending" and row.attempts == 1 and "SMTP" in row.last_error
    assert row.next_attempt_at == DUE + timedelta(minutes=1)

    up = make_settings(tmp_path, smtp_server.port)
    assert dispatch_due(engine, up, DUE + timedelta(seconds=30)).sent == 0  # not yet time to retry
    assert dispatch_due(engine, up, DUE + timedelta(minutes=2)).sent == 1
    assert dispatch_due(engine, up, DUE + timedelta(minutes=10)).sent == 0
    assert len(smtp_server.messages) == 1
    [row] = _deliveries(engine)
    assert row.status == "sent" and row.attempts == 2 and row.last_error is None
    assert smtp_server.messages[0]["Message-ID"] == row.message_id


def test_a_transient_451_is_retried_with_the_same_message_id(engine, smtp_server, tmp_path):
    settings = make_settings(tmp_path, smtp_server.port)
    smtp_server.handler.fail_with = ["451 4.3.0 try again later"]
    add_article(engine)
    add_subscription(engine)

    assert dispatch_due(engine, settings, DUE).retrying == 1
    [row] = _deliveries(engine)
    assert row.status == "pending" and "451" in row.last_error
    assert dispatch_due(engine, settings, DUE + timedelta(minutes=1)).sent == 1
    assert [m["Message-ID"] for m in smtp_server.messages] == [row.message_id]


def test_a_permanent_550_is_recorded_and_not_retried_before_the_next_slot(engine, smtp_server, tmp_path):
    settings = make_settings(tmp_path, smtp_server.port)
    smtp_server.handler.fail_with = ["550 5.1.1 mailbox unavailable"]
    first_article = add_article(engine)
    sub_id, _ = add_subscription(engine)

    assert dispatch_due(engine, settings, DUE).failed == 1
    [row] = _deliveries(engine)
    assert row.status == "failed" and "550" in row.last_error
    assert dispatch_due(engine, settings, DUE + timedelta(hours=3)).sent == 0
    with Session(engine) as session:
        assert session.get(Subscription, sub_id).last_success_at is None  # nothing was lost

    # The next day's slot reopens the window: yesterday's article and today's go out together.
    second_article = add_article(engine, fetched_at=DUE + timedelta(hours=5))
    assert dispatch_due(engine, settings, DUE + timedelta(days=1)).sent == 1
    [row] = _deliveries(engine)
    assert row.status == "sent" and row.article_ids == [first_article, second_article]
    assert smtp_server.messages[0]["Message-ID"] == row.message_id


def test_a_crash_after_the_server_took_the_message_waits_the_quiet_period_and_resends_once(
    engine, smtp_server, tmp_path, monkeypatch
):
    settings = make_settings(tmp_path, smtp_server.port).model_copy(update={"digest_unknown_quiet_h": 48})
    add_article(engine)
    add_subscription(engine)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed")

    real = dispatch_mod._mark_done
    monkeypatch.setattr(dispatch_mod, "_mark_done", crash)
    with pytest.raises(KeyboardInterrupt):
        dispatch_due(engine, settings, DUE)
    monkeypatch.setattr(dispatch_mod, "_mark_done", real)
    [row] = _deliveries(engine)
    assert row.status == "sent-pending" and len(smtp_server.messages) == 1

    # Long past the stale-claim limit but inside the quiet period: no second copy, and the next day's
    # digest is not held back by the unknown one.
    add_article(engine, fetched_at=DUE + timedelta(hours=3))
    later = dispatch_due(engine, settings, DUE + STALE_CLAIM + timedelta(hours=2))
    assert later.sent == 0 and len(smtp_server.messages) == 1
    assert dispatch_due(engine, settings, DUE + timedelta(days=1)).sent == 1
    assert len(smtp_server.messages) == 2

    quiet = timedelta(hours=settings.digest_unknown_quiet_h)
    assert dispatch_due(engine, settings, DUE + quiet + timedelta(minutes=1)).sent == 1
    assert dispatch_due(engine, settings, DUE + 3 * quiet).sent == 0  # never more than once
    ids = [m["Message-ID"] for m in smtp_server.messages]
    assert ids.count(row.message_id) == 2  # the re-send carries the same Message-ID
    assert _deliveries(engine)[0].status == "sent"


def test_downtime_loses_nothing_the_window_starts_at_the_last_success(engine, smtp_server, tmp_path):
    settings = make_settings(tmp_path, smtp_server.port)
    a1 = add_article(engine)
    add_subscription(engine)
    dispatch_due(engine, settings, DUE)
    # Three days of downtime; articles kept arriving.
    a2 = add_article(engine, fetched_at=DUE + timedelta(days=1))
    a3 = add_article(engine, fetched_at=DUE + timedelta(days=2))
    dispatch_due(engine, settings, DUE + timedelta(days=3))
    rows = _deliveries(engine)
    assert [r.article_ids for r in rows] == [[a1], [a2, a3]]
    assert rows[1].window_start == rows[0].window_end


def test_no_empty_digest_unless_asked(engine, smtp_server, tmp_path):
    settings = make_settings(tmp_path, smtp_server.port)
    add_article(engine, clusters=["steel"], evidence={})
    quiet, _ = add_subscription(engine, "quiet@example.com", clusters=["health"])
    chatty, _ = add_subscription(engine, "chatty@example.com", clusters=["health"], send_empty=True)
    report = dispatch_due(engine, settings, DUE)
    assert (report.sent, report.empty) == (1, 1)
    assert [m["To"] for m in smtp_server.messages] == ["chatty@example.com"]
    assert "无新动态" in smtp_server.messages[0]["Subject"]
    assert dispatch_due(engine, settings, DUE + timedelta(minutes=1)).empty == 0  # the empty window is closed


def test_unsubscribed_and_unconfirmed_subscribers_get_nothing(engine, smtp_server, tmp_path):
    from alerts.subscribers import unsubscribe_by_token
    from store.db import session_scope

    settings = make_settings(tmp_path, smtp_server.port)
    add_article(engine)
    _, token = add_subscription(engine, "gone@example.com")
    with session_scope(engine) as session:
        unsubscribe_by_token(session, token)
    report = dispatch_due(engine, settings, DUE)
    assert report.sent == 0 and smtp_server.messages == []


def test_outbox_mode_writes_a_parseable_multipart_eml(engine, tmp_path):
    settings = make_settings(tmp_path)  # no SMTP host
    add_article(engine)
    add_subscription(engine)
    report = dispatch_due(engine, settings, DUE)
    [(_, _, status, msg_id, path)] = report.deliveries
    assert status == "sent"
    files = sorted(settings.outbox.glob("*.eml"))
    assert [str(f) for f in files] == [path]
    assert files[0].name == msg_id.strip("<>") + ".eml"
    msg = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Message-ID"] == msg_id
    assert "徐工" in msg.get_body(("plain",)).get_content()
    assert "<table" in msg.get_body(("html",)).get_content()
    assert not list(settings.outbox.glob(".tmp-*"))


def test_immediate_subscriptions_send_as_articles_arrive_and_write_nothing_when_idle(
    engine, smtp_server, tmp_path
):
    settings = make_settings(tmp_path, smtp_server.port)
    add_subscription(engine, frequency="immediate")
    assert dispatch_due(engine, settings, T0 + timedelta(hours=1)).deliveries == []
    add_article(engine, fetched_at=T0 + timedelta(hours=2))
    assert dispatch_due(engine, settings, T0 + timedelta(hours=2, minutes=1) + SETTLE).sent == 1
    assert dispatch_due(engine, settings, T0 + timedelta(hours=2, minutes=2) + SETTLE).deliveries == []
    assert len(_deliveries(engine)) == 1


@pytest.mark.postgres
def test_two_dispatchers_at_once_on_postgresql_send_each_digest_once(pg_engine, smtp_server, tmp_path):
    settings = make_settings(tmp_path, smtp_server.port)
    add_article(pg_engine)
    for i in range(6):
        add_subscription(pg_engine, f"reader{i}@example.com")
    with pg_engine.connect() as conn:
        schema = conn.execute(text("select current_schema()")).scalar_one()
    engines = []
    for _ in range(2):
        eng = make_engine(pg_engine.url.render_as_string(hide_password=False))

        @event.listens_for(eng, "connect")
        def _path(dbapi_conn, _record, schema=schema):  # type: ignore[no-untyped-def]
            with dbapi_conn.cursor() as cur:
                cur.execute(f'SET search_path TO "{schema}"')
            dbapi_conn.commit()

        engines.append(eng)
    barrier = threading.Barrier(2)
    reports = []

    def run(eng):
        barrier.wait()
        reports.append(dispatch_due(eng, settings, DUE))

    threads = [threading.Thread(target=run, args=(eng,)) for eng in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for eng in engines:
        eng.dispose()
    assert sum(r.sent for r in reports) == 6
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(f"reader{i}@example.com" for i in range(6))
    assert all(r.status == "sent" for r in _deliveries(pg_engine))
