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
    soon = utcnow() + timedelta(hours=1)  # after the subscription was created
    add_article(engine, fetched_at=soon)
    result = run("digest", "send", "--now", (soon + timedelta(minutes=1) + SETTLE).isoformat())
    assert "sent 1" in result.output
