"""The alerts commands, run as an operator would (Typer's runner, a real SQLite file, the outbox)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from store.db import make_engine, session_scope
from store.models import Delivery, Subscriber, Subscription, utcnow
from tests.alerts_support import SETTLE, T0, add_article
from xznews.cli import app
from xznews.cli.common import get_settings

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("XZNEWS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("XZNEWS_PUBLIC_BASE_URL", "https://news.example.org")
    monkeypatch.delenv("XZNEWS_DATABASE_URL", raising=False)
    monkeypatch.delenv("XZNEWS_SMTP_HOST", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def run(*args: str):
    return runner.invoke(app, list(args))


def _engine(tmp_path):
    return make_engine(f"sqlite:///{tmp_path / 'xznews.db'}")


def test_subscribe_prints_the_subscription_and_the_unsubscribe_link(cli_env):
    result = run(
        "subscribe",
        "reader@example.com",
        "--clusters",
        "engineering_machinery,green_energy",
        "--keywords",
        "徐工 | 协鑫",
        "--frequency",
        "daily",
        "--at",
        "08:00",
    )
    assert result.exit_code == 0, result.output
    assert "subscription 1 for reader@example.com" in result.output
    assert "unsubscribe: https://news.example.org/unsubscribe/" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not-an-address"], "invalid email address"),
        (["a@example.com\r\nBcc: b@example.com"], "control characters"),
        (
            ["a@example.com", "--clusters", "robots"],
            "unknown cluster 'robots'; valid clusters: engineering_machinery",
        ),
        (["a@example.com", "--keywords", "徐工 | "], "invalid keyword query"),
        (["a@example.com", "--frequency", "hourly"], "invalid frequency"),
        (["a@example.com", "--at", "25:00"], "HH:MM"),
        (["a@example.com", "--tz", "Nowhere/City"], "unknown time zone"),
    ],
)
def test_subscribe_refuses_bad_input_with_exit_code_2(cli_env, args, message):
    result = run("subscribe", *args)
    assert result.exit_code == 2
    assert message in result.output


def test_double_opt_in_then_unsubscribe_by_token(cli_env):
    result = run("subscribe", "reader@example.com", "--confirm", "--json")
    data = json.loads(result.output)
    assert result.exit_code == 0 and data["confirmed"] is False and data["confirmation_sent"].endswith(".eml")
    with Session(_engine(cli_env)) as session:
        subscriber = session.exec(select(Subscriber)).one()
    assert run("confirm", subscriber.confirm_token).output.strip() == "confirmed reader@example.com"
    assert run("confirm", subscriber.confirm_token).exit_code == 2
    assert (
        run("unsubscribe", subscriber.unsubscribe_token).output.strip() == "unsubscribed reader@example.com"
    )
    assert run("unsubscribe", "nobody@example.com").exit_code == 2


def test_digest_send_writes_the_outbox_once_and_preview_records_nothing(cli_env):
    assert run("subscribe", "reader@example.com", "--clusters", "engineering_machinery").exit_code == 0
    engine = _engine(cli_env)
    with session_scope(engine) as session:  # the subscription was created now; pretend it was yesterday
        session.exec(select(Subscription)).one().created_at = T0
    add_article(engine, title="徐工挖掘机出口欧洲")

    preview = cli_env / "preview.html"
    result = run(
        "digest", "preview", "reader@example.com", "--now", "2026-11-22T08:01:00+08:00", "--out", str(preview)
    )
    assert result.exit_code == 0, result.output
    assert "徐工挖掘机出口欧洲" in result.output and "<table" in preview.read_text()

    sent_at = T0 + timedelta(days=1, minutes=1) + SETTLE  # just after the 08:00 slot, once the lag has passed
    first = run("digest", "send", "--now", sent_at.isoformat(), "--json")
    second = run("digest", "send", "--now", (sent_at + timedelta(minutes=1)).isoformat(), "--json")
    assert json.loads(first.output)["sent"] == 1 and json.loads(second.output)["sent"] == 0
    assert len(list((cli_env / "outbox").glob("*.eml"))) == 1
    with Session(engine) as session:
        assert len(session.exec(select(Delivery)).all()) == 1

    status = json.loads(run("status", "--json").output)
    assert status["deliveries"][0]["last_status"] == "sent"
    assert status["articles"]["by_verdict"] == {"new": 1}
    assert "subscription 1 reader@example.com: sent" in run("status").output
    (recent,) = status["recent_deliveries"]
    assert (
        recent["status"] == "sent"
        and recent["articles"] == 1
        and recent["message_id"].startswith("<xznews.d")
    )
    assert "#1 subscription 1 reader@example.com" in run("status").output


def test_watch_adds_removes_and_lists_keywords(cli_env):
    run("subscribe", "reader@example.com", "--keywords", "徐工")
    # Each argument is a query of its own, OR-ed with the rest: a space inside one means AND, as in --keywords.
    assert (
        run("watch", "add", "1", "协鑫", "光伏 -招聘", '"光伏 组件"').output.strip()
        == 'subscription 1 watches: 徐工 | 协鑫 | 光伏 -招聘 | "光伏 组件"'
    )
    assert (
        run("watch", "remove", "1", "徐工").output.strip()
        == 'subscription 1 watches: 协鑫 | 光伏 -招聘 | "光伏 组件"'
    )
    assert run("watch", "add", "1", "(").exit_code == 2
    listed = json.loads(run("watch", "list", "--json").output)
    assert listed[0]["keywords"] == '协鑫 | 光伏 -招聘 | "光伏 组件"' and listed[0]["channels"] == ["email"]


def test_every_alerts_command_has_help_text(cli_env):
    for args in (
        ["subscribe"],
        ["unsubscribe"],
        ["confirm"],
        ["watch", "add"],
        ["watch", "remove"],
        ["watch", "list"],
        ["digest", "send"],
        ["digest", "preview"],
        ["status"],
    ):
        result = run(*args, "--help")
        assert result.exit_code == 0
        assert "Usage" in result.output and len(result.output) > 200


def test_the_digest_window_covers_what_arrived_since_the_last_send(cli_env):
    run("subscribe", "reader@example.com", "--frequency", "immediate")
    engine = _engine(cli_env)
    with session_scope(engine) as session:  # created two hours ago
        session.exec(select(Subscription)).one().created_at = utcnow() - timedelta(hours=2)
    arrived = utcnow() - timedelta(hours=1)  # after the subscription was created
    add_article(engine, fetched_at=arrived)
    result = run("digest", "send", "--now", (arrived + timedelta(minutes=1) + SETTLE).isoformat())
    assert "sent 1" in result.output


def test_digest_send_refuses_a_clock_in_the_future(cli_env):
    run("subscribe", "reader@example.com", "--frequency", "immediate")
    result = run("digest", "send", "--now", (utcnow() + timedelta(days=1)).isoformat())
    assert result.exit_code == 2 and "is in the future" in result.output
    with Session(_engine(cli_env)) as session:
        assert session.exec(select(Subscription)).one().last_success_at is None  # the anchor did not jump


def test_subscribing_twice_with_the_same_settings_is_refused(cli_env):
    assert run("subscribe", "reader@example.com", "--keywords", "徐工").exit_code == 0
    again = run("subscribe", "reader@example.com", "--keywords", "徐工")
    assert again.exit_code == 2 and "already has subscription 1 with these settings" in again.output
    assert run("subscribe", "reader@example.com", "--keywords", "协鑫").exit_code == 0  # different: fine
    with Session(_engine(cli_env)) as session:
        assert len(session.exec(select(Subscription)).all()) == 2


def test_resubscribing_after_unsubscribing_reactivates_and_rotates_the_token(cli_env):
    run("subscribe", "reader@example.com", "--keywords", "徐工")
    with Session(_engine(cli_env)) as session:
        old_token = session.exec(select(Subscriber)).one().unsubscribe_token
    assert run("unsubscribe", old_token).exit_code == 0
    assert run("subscribe", "reader@example.com", "--keywords", "徐工").exit_code == 0
    with Session(_engine(cli_env)) as session:
        subscriber = session.exec(select(Subscriber)).one()
        (sub,) = session.exec(select(Subscription)).all()  # the old one, reactivated: not a second copy
        assert sub.active and subscriber.unsubscribed_at is None
        assert subscriber.unsubscribe_token != old_token
    assert run("unsubscribe", old_token).exit_code == 2  # the spent link does not work again


def test_unknown_source_names_are_refused(cli_env, tmp_path, monkeypatch):
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[[sources]]\nname = "xz_gov"\nkind = "rss"\nurl = "https://www.xz.gov.cn/rss.xml"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("XZNEWS_SOURCES", str(sources))
    bad = run("subscribe", "reader@example.com", "--sources", "xz_gvo")
    assert bad.exit_code == 2 and "unknown source 'xz_gvo'" in bad.output and "xz_gov" in bad.output
    assert run("subscribe", "reader@example.com", "--sources", "xz_gov").exit_code == 0
    assert run("subscribe", "reader@example.com", "--sources", "www.xz.gov.cn").exit_code == 0  # a site


def test_watch_refuses_an_empty_query_and_says_when_a_removed_query_is_not_watched(cli_env):
    run("subscribe", "reader@example.com", "--keywords", "徐工")
    empty = run("watch", "add", "1", "")
    assert empty.exit_code == 2 and "nothing to watch" in empty.output
    missing = run("watch", "remove", "1", "协鑫")
    assert missing.exit_code == 2 and "does not watch 协鑫; it watches: 徐工" in missing.output
    assert json.loads(run("watch", "list", "--json").output)[0]["keywords"] == "徐工"


def test_one_subscription_can_be_deleted_without_unsubscribing_the_address(cli_env):
    run("subscribe", "reader@example.com", "--keywords", "徐工")
    run("subscribe", "reader@example.com", "--keywords", "协鑫")
    assert run("unsubscribe", "other@example.com", "--subscription", "1").exit_code == 2  # not theirs
    result = run("unsubscribe", "reader@example.com", "--subscription", "1")
    assert result.exit_code == 0 and "deleted subscription 1" in result.output
    with Session(_engine(cli_env)) as session:
        (left,) = session.exec(select(Subscription)).all()
        assert left.id == 2 and left.active
        assert session.exec(select(Subscriber)).one().unsubscribed_at is None


def test_watch_list_masks_the_webhook_key(cli_env, monkeypatch):
    monkeypatch.setattr("alerts.bots.check_public_url", lambda url, allow_private=False: ["203.0.113.9"])
    hook = "wecom:https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0123-secret-key"
    assert run("subscribe", "reader@example.com", "--bot", hook).exit_code == 0
    listed = run("watch", "list", "--json").output
    assert "0123-secret-key" not in listed and "key=********" in listed


def test_a_bot_webhook_on_a_private_address_is_refused_at_subscribe_time(cli_env):
    result = run("subscribe", "reader@example.com", "--bot", "wecom:http://127.0.0.1:5432/x")
    assert result.exit_code == 2
    assert "refused" in result.output and "non-public address 127.0.0.1" in result.output


def test_status_shows_a_failing_and_a_disabled_subscription(cli_env):
    run("subscribe", "reader@example.com")
    with session_scope(_engine(cli_env)) as session:
        sub = session.exec(select(Subscription)).one()
        sub.consecutive_failures, sub.active = 3, False
        sub.disabled_reason = "disabled after 3 failed digests in a row: SMTP 550 no such user"
    out = run("status").output
    assert "DISABLED: disabled after 3 failed digests in a row: SMTP 550 no such user" in out
