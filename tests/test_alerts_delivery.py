"""Digests never stop, repeat or vanish: one bad subscription, slow servers, outages, failing subscribers."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from alerts import dispatch as dispatch_mod
from alerts.dispatch import dispatch_due
from alerts.status import collect_status
from core.tz import SHANGHAI
from store.db import session_scope
from store.models import Delivery, Subscription
from tests.alerts_support import (
    SETTLE,
    T0,
    SMTPSink,
    add_article,
    add_subscription,
    make_settings,
)

DUE = T0 + timedelta(days=1, minutes=1) + SETTLE  # just after the first daily slot (smtp_server: conftest)


def _rows(engine) -> list[Delivery]:
    with Session(engine) as session:
        return list(session.exec(select(Delivery).order_by(Delivery.id)))


def _sub(engine, sub_id) -> Subscription:
    with Session(engine) as session:
        return session.get(Subscription, sub_id)


def _one_daily_digest(engine, tmp_path, sink):
    add_article(engine)
    add_subscription(engine)
    return make_settings(tmp_path, sink.port)


def _db_down(*args, **kwargs):
    raise OperationalError("UPDATE deliveries", {}, Exception("server closed the connection unexpectedly"))


# ------------------------------------------------------------------ one subscription never stops the round


def test_a_query_nested_too_deep_for_the_matcher_fails_its_own_window_and_the_round_goes_on(
    engine, smtp_server, tmp_path
):
    settings = make_settings(tmp_path, smtp_server.port)
    add_article(engine)
    # Stored before the entry limits existed: a parse of this raises RecursionError.
    bad, _ = add_subscription(engine, email="deep@example.com", keywords="(" * 2000 + "徐工" + ")" * 2000)
    good, _ = add_subscription(engine, email="reader@example.com")

    report = dispatch_due(engine, settings, DUE)

    assert report.sent == 1 and report.failed == 1
    assert [m["To"] for m in smtp_server.messages] == ["reader@example.com"]
    failed = next(r for r in _rows(engine) if r.subscription_id == bad)
    assert failed.status == "failed" and "cannot compose" in failed.last_error
    assert _sub(engine, bad).consecutive_failures == 1


def test_a_template_error_is_recorded_counted_and_retried_not_left_sending(
    engine, smtp_server, tmp_path, monkeypatch
):
    settings = make_settings(tmp_path, smtp_server.port)
    add_article(engine)
    add_subscription(engine, email="a@example.com")
    add_subscription(engine, email="b@example.com")
    calls = []

    def broken_once(digest, fragments=None):
        calls.append(digest.email)
        if len(calls) == 1:
            raise RuntimeError("template blew up")
        return real(digest, fragments)

    real = dispatch_mod.render_digest
    monkeypatch.setattr(dispatch_mod, "render_digest", broken_once)
    report = dispatch_due(engine, settings, DUE)

    assert report.retrying == 1 and report.sent == 1
    first = _rows(engine)[0]
    assert first.status == "pending" and first.attempts == 1
    assert "unexpected RuntimeError: template blew up" in first.last_error
    assert dispatch_due(engine, settings, DUE + timedelta(minutes=2)).sent == 1  # the retry works
    assert sorted(m["To"] for m in smtp_server.messages) == ["a@example.com", "b@example.com"]


def test_an_error_that_never_goes_away_stops_after_max_attempts(engine, smtp_server, tmp_path, monkeypatch):
    settings = make_settings(tmp_path, smtp_server.port)
    add_article(engine)
    add_subscription(engine)
    monkeypatch.setattr(dispatch_mod, "render_digest", lambda *a, **k: 1 / 0)

    clock = DUE
    for _ in range(dispatch_mod.MAX_ATTEMPTS + 3):
        dispatch_due(engine, settings, clock)
        clock += timedelta(hours=5)  # past every backoff
        (row,) = _rows(engine)
        if row.status == "failed":
            break
    assert row.status == "failed" and row.attempts == dispatch_mod.MAX_ATTEMPTS
    assert "ZeroDivisionError" in row.last_error


# ----------------------------------------------------------------------------------------- no second copy


class _SlowSink(SMTPSink):
    """Accepts DATA but answers the final dot only when `release` is set (or never)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.arrived = 0
        sink = self.handler
        original = sink.handle_DATA

        async def handle_DATA(server, session, envelope):  # noqa: N802
            self.arrived += 1
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return await original(server, session, envelope)

        sink.handle_DATA = handle_DATA


def test_no_reply_after_the_final_dot_is_outcome_unknown_and_is_not_resent_before_the_quiet_period(
    engine, tmp_path
):
    sink = _SlowSink().start()
    try:
        settings = make_settings(tmp_path, sink.port)
        settings = settings.model_copy(
            update={"smtp": settings.smtp.model_copy(update={"data_timeout_s": 0.5})}
        )
        add_article(engine)
        sub_id, _ = add_subscription(engine)

        first = dispatch_due(engine, settings, DUE)
        assert first.unknown == 1 and first.sent == 0 and sink.arrived == 1
        (row,) = _rows(engine)
        assert row.status == "sent-pending" and "no reply after the end of DATA" in row.last_error
        assert _sub(engine, sub_id).last_success_at == row.window_end  # later digests are not held back

        sink.release.set()
        for hours in (1, 6, 23):  # every retry schedule of the old code would have re-sent by now
            assert dispatch_due(engine, settings, DUE + timedelta(hours=hours)).sent == 0
        assert sink.arrived == 1
        unknown = collect_status(engine)["unknown_outcome"]
        assert [u["delivery_id"] for u in unknown] == [row.id] and unknown[0]["resend_after"]

        assert dispatch_due(engine, settings, DUE + timedelta(hours=24, minutes=1)).sent == 1
        assert dispatch_due(engine, settings, DUE + timedelta(hours=72)).sent == 0
        assert [m["Message-ID"] for m in sink.messages] == [row.message_id]
    finally:
        sink.release.set()
        sink.stop()


def test_a_final_reply_slower_than_the_command_timeout_is_waited_for(engine, tmp_path):
    sink = _SlowSink().start()
    try:
        settings = make_settings(tmp_path, sink.port)
        smtp = settings.smtp.model_copy(update={"timeout_s": 0.3, "data_timeout_s": 60})
        settings = settings.model_copy(update={"smtp": smtp})
        add_article(engine)
        add_subscription(engine)
        # Release the reply well after the 0.3 s command timeout: the client must still be waiting.
        timer = threading.Timer(1.5, sink.release.set)
        timer.start()
        report = dispatch_due(engine, settings, DUE)
        timer.join()
        assert report.sent == 1 and len(sink.messages) == 1
        assert _rows(engine)[0].status == "sent"
    finally:
        sink.release.set()
        sink.stop()


def test_a_database_outage_before_the_final_dot_delivers_nothing_and_a_retry_sends_it_once(
    engine, smtp_server, tmp_path, monkeypatch
):
    settings = _one_daily_digest(engine, tmp_path, smtp_server)
    real = dispatch_mod._sent_pending_marker
    monkeypatch.setattr(dispatch_mod, "_sent_pending_marker", lambda *a: _db_down)
    assert dispatch_due(engine, settings, DUE).retrying == 1
    monkeypatch.setattr(dispatch_mod, "_sent_pending_marker", real)
    assert smtp_server.messages == []  # the server never got the final dot
    (row,) = _rows(engine)
    assert row.status == "pending" and "OperationalError" in row.last_error
    assert dispatch_due(engine, settings, DUE + timedelta(minutes=2)).sent == 1
    assert len(smtp_server.messages) == 1


def test_a_database_outage_between_the_servers_250_and_the_record_sends_no_second_copy(
    engine, smtp_server, tmp_path, monkeypatch
):
    settings = _one_daily_digest(engine, tmp_path, smtp_server)
    real = dispatch_mod._mark_done
    monkeypatch.setattr(dispatch_mod, "_mark_done", _db_down)
    assert dispatch_due(engine, settings, DUE).unknown == 1
    monkeypatch.setattr(dispatch_mod, "_mark_done", real)
    (row,) = _rows(engine)
    assert row.status == "sent-pending" and len(smtp_server.messages) == 1
    for hours in (1, 2, 12):
        dispatch_due(engine, settings, DUE + timedelta(hours=hours))
    assert len(smtp_server.messages) == 1


def test_one_smtp_connection_serves_a_whole_round(engine, smtp_server, tmp_path):
    settings = make_settings(tmp_path, smtp_server.port)
    add_article(engine)
    for n in range(5):
        add_subscription(engine, email=f"r{n}@example.com")
    connections = []
    original = smtp_server.handler.__class__

    async def handle_EHLO(server, session, envelope, hostname, responses):  # noqa: N802
        connections.append(session.peer)
        session.host_name = hostname
        return responses

    smtp_server.handler.handle_EHLO = handle_EHLO
    assert dispatch_due(engine, settings, DUE).sent == 5
    assert len(smtp_server.messages) == 5 and len(set(connections)) == 1, original


def test_a_refused_recipient_does_not_cost_the_next_one_its_connection(engine, smtp_server, tmp_path):
    settings = make_settings(tmp_path, smtp_server.port)
    smtp_server.handler.fail_with = ["550 5.1.1 mailbox unavailable"]
    add_article(engine)
    add_subscription(engine, email="gone@example.com")
    add_subscription(engine, email="reader@example.com")
    report = dispatch_due(engine, settings, DUE)
    assert report.failed == 1 and report.sent == 1
    assert [m["To"] for m in smtp_server.messages] == ["reader@example.com"]


# ------------------------------------------------------------------------------ a permanently failing one


def test_a_digest_carries_at_most_the_cap_and_counts_the_rest(engine, tmp_path):
    settings = make_settings(tmp_path).model_copy(update={"digest_max_items": 5})
    for n in range(8):
        add_article(engine, published_at=T0 + timedelta(minutes=n), title=f"徐工新闻 第{n}条")
    add_subscription(engine)
    assert dispatch_due(engine, settings, DUE).sent == 1
    (row,) = _rows(engine)
    assert len(row.article_ids) == 5
    (eml,) = (tmp_path / "outbox").glob("*.eml")
    import email as email_mod

    msg = email_mod.message_from_bytes(eml.read_bytes())
    text = next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_payload(decode=True)
    body = text.decode("utf-8")
    assert "另有 3 条未列出" in body and "第7条" in body and "第0条" not in body  # the newest are kept
    # …and the rest are one link away, in the web archive, from the day the window opened
    since = row.window_start.astimezone(SHANGHAI).date().isoformat()
    assert f"{settings.public_base_url.rstrip('/')}/?since={since}" in body


def test_a_550_subscriber_is_retried_only_at_later_slots_and_disabled_after_n_failures(
    engine, smtp_server, tmp_path
):
    settings = make_settings(tmp_path, smtp_server.port)  # digest_disable_after = 3
    smtp_server.handler.fail_with = ["550 5.1.1 mailbox unavailable"] * 10
    add_article(engine)
    sub_id, _ = add_subscription(engine)

    outcomes = []
    for day in range(6):
        report = dispatch_due(engine, settings, DUE + timedelta(days=day))
        outcomes.append((report.failed, report.sent))
    (row,) = _rows(engine)  # one window, reopened: never a fresh digest "as if new"
    sub = _sub(engine, sub_id)
    assert not sub.active and sub.consecutive_failures == 3
    assert "disabled after 3 failed digests in a row" in sub.disabled_reason and "550" in sub.disabled_reason
    assert sum(f for f, _ in outcomes) == 3 and row.attempts == 3
    status = collect_status(engine)["deliveries"][0]
    assert status["failing"] and status["disabled_reason"] == sub.disabled_reason


def test_a_success_resets_the_failure_count(engine, smtp_server, tmp_path):
    settings = make_settings(tmp_path, smtp_server.port)
    smtp_server.handler.fail_with = ["550 5.1.1 mailbox unavailable"]
    add_article(engine)
    sub_id, _ = add_subscription(engine)
    assert dispatch_due(engine, settings, DUE).failed == 1
    assert _sub(engine, sub_id).consecutive_failures == 1
    assert dispatch_due(engine, settings, DUE + timedelta(days=1)).sent == 1
    sub = _sub(engine, sub_id)
    assert sub.consecutive_failures == 0 and sub.active


def test_status_marks_a_subscription_failing(engine, smtp_server, tmp_path):
    settings = make_settings(tmp_path, smtp_server.port)
    smtp_server.handler.fail_with = ["550 5.1.1 mailbox unavailable"]
    add_article(engine)
    add_subscription(engine)
    dispatch_due(engine, settings, DUE)
    (entry,) = collect_status(engine)["deliveries"]
    assert entry["failing"] and entry["consecutive_failures"] == 1 and entry["active"]


def test_session_scope_is_used_for_the_bounce_counter(engine):
    # The counter column exists on upgraded databases (migration 0004) and defaults to 0.
    sub_id, _ = add_subscription(engine)
    with session_scope(engine) as session:
        assert session.get(Subscription, sub_id).consecutive_failures == 0


def test_a_claim_that_goes_stale_on_every_attempt_stops_after_max_attempts(engine, smtp_server, tmp_path):
    settings = _one_daily_digest(engine, tmp_path, smtp_server)
    with session_scope(engine) as session:  # what a dispatcher killed mid-send MAX_ATTEMPTS times leaves
        session.add(
            Delivery(
                subscription_id=1,
                window_start=T0,
                window_end=DUE - SETTLE,
                status="sending",
                attempts=dispatch_mod.MAX_ATTEMPTS,
                claimed_at=DUE,
            )
        )
    dispatch_due(engine, settings, DUE + dispatch_mod.STALE_CLAIM + timedelta(minutes=1))
    (row,) = _rows(engine)
    assert row.status == "failed" and "stale claims" in row.last_error and smtp_server.messages == []
