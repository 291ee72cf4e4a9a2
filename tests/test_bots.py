"""Chat bots: payloads in each bot's documented format, signatures, failures, and dispatch through them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest
from sqlmodel import Session, select

from alerts.bots import (
    BotSpecError,
    build_request,
    dingtalk_sign,
    feishu_sign,
    parse_bot,
    post,
    truncate_markdown,
)
from alerts.dispatch import dispatch_due
from core.errors import PermanentError, TransientError
from store.models import Delivery
from tests.alerts_support import SETTLE, T0, add_article, add_subscription, make_settings, running_sink
from tests.servers import Reply, Request

DUE = T0 + timedelta(days=1, minutes=1) + SETTLE
SECRET = "SEC0123456789abcdef"


@pytest.fixture
def smtp_server():
    yield from running_sink()


def _json_reply(obj) -> Reply:
    return Reply(200, json.dumps(obj).encode(), {"Content-Type": "application/json"})


def test_bot_specs_keep_only_a_reference_to_the_secret():
    bot = parse_bot(
        "dingtalk:https://oapi.dingtalk.com/robot/send?access_token=abc;secret=env:XZNEWS_BOT_SECRET_OPS"
    )
    assert bot.kind == "dingtalk" and bot.secret_ref == "env:XZNEWS_BOT_SECRET_OPS"
    assert (
        str(bot)
        == "dingtalk:https://oapi.dingtalk.com/robot/send?access_token=abc;secret=env:XZNEWS_BOT_SECRET_OPS"
    )
    assert bot.label == "dingtalk:oapi.dingtalk.com"  # no token in logs
    for bad in (
        "slack:https://x.example",
        "wecom:ftp://x",
        "feishu:https://x.example;secret=SEC123",
        "wecom:",
    ):
        with pytest.raises(BotSpecError):
            parse_bot(bad)


def test_wecom_gets_a_markdown_message(http_server):
    seen = []

    def handler(req: Request) -> Reply:
        seen.append(json.loads(req.body))
        return _json_reply({"errcode": 0, "errmsg": "ok"})

    http_server.routes["/cgi-bin/webhook/send"] = handler
    post(
        parse_bot(f"wecom:{http_server.url('/cgi-bin/webhook/send?key=k')}"),
        "标题",
        "**徐工** 新闻",
        allow_private=True,
    )
    assert seen == [{"msgtype": "markdown", "markdown": {"content": "**徐工** 新闻"}}]


def test_dingtalk_is_signed_with_timestamp_and_hmac(http_server, monkeypatch):
    monkeypatch.setenv("XZNEWS_BOT_SECRET_DT", SECRET)
    seen = []

    def handler(req: Request) -> Reply:
        query = parse_qs(urlsplit(req.path).query)
        ts = query["timestamp"][0]
        expected = base64.b64encode(
            hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256).digest()
        ).decode()
        assert query["sign"][0] == expected  # parse_qs has already url-decoded it
        assert query["access_token"] == ["tok"]
        seen.append(json.loads(req.body))
        return _json_reply({"errcode": 0, "errmsg": "ok"})

    http_server.routes["/robot/send"] = handler
    spec = f"dingtalk:{http_server.url('/robot/send?access_token=tok')};secret=env:XZNEWS_BOT_SECRET_DT"
    post(parse_bot(spec), "徐州产业动态", "### 标题", allow_private=True)
    assert seen == [{"msgtype": "markdown", "markdown": {"title": "徐州产业动态", "text": "### 标题"}}]


def test_feishu_carries_timestamp_and_sign_in_the_body(http_server, monkeypatch):
    monkeypatch.setenv("XZNEWS_BOT_SECRET_FS", SECRET)
    seen = []

    def handler(req: Request) -> Reply:
        body = json.loads(req.body)
        key = f"{body['timestamp']}\n{SECRET}".encode()
        assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        seen.append(body)
        return _json_reply({"code": 0, "msg": "success"})

    http_server.routes["/open-apis/bot/v2/hook/x"] = handler
    post(
        parse_bot(f"feishu:{http_server.url('/open-apis/bot/v2/hook/x')};secret=env:XZNEWS_BOT_SECRET_FS"),
        "T",
        "md",
        allow_private=True,
    )
    [body] = seen
    assert body["msg_type"] == "interactive"
    assert body["card"]["elements"] == [{"tag": "markdown", "content": "md"}]


def test_the_sign_functions_match_the_documented_recipes():
    assert (
        unquote_plus(dingtalk_sign("s", 1000))
        == base64.b64encode(hmac.new(b"s", b"1000\ns", hashlib.sha256).digest()).decode()
    )
    assert feishu_sign("s", 1) == base64.b64encode(hmac.new(b"1\ns", b"", hashlib.sha256).digest()).decode()


def test_a_non_zero_errcode_is_a_failure_and_rate_limits_are_transient(http_server):
    http_server.routes["/bad"] = _json_reply({"errcode": 93000, "errmsg": "invalid webhook url"})
    http_server.routes["/busy"] = _json_reply({"errcode": 45009, "errmsg": "api freq out of limit"})
    http_server.add("/down", "oops", status=503)
    with pytest.raises(PermanentError, match="93000"):
        post(parse_bot(f"wecom:{http_server.url('/bad')}"), "t", "m", allow_private=True)
    with pytest.raises(TransientError, match="45009"):
        post(parse_bot(f"wecom:{http_server.url('/busy')}"), "t", "m", allow_private=True)
    with pytest.raises(TransientError, match="503"):
        post(parse_bot(f"wecom:{http_server.url('/down')}"), "t", "m", allow_private=True)


def test_a_missing_secret_variable_is_a_permanent_error(monkeypatch):
    monkeypatch.delenv("XZNEWS_NOT_SET", raising=False)
    with pytest.raises(PermanentError, match="XZNEWS_NOT_SET"):
        build_request(
            parse_bot("dingtalk:https://x.example/r?access_token=t;secret=env:XZNEWS_NOT_SET"), "t", "m"
        )


def test_long_digests_are_cut_at_a_line_to_fit_wecom():
    md = "\n".join(f"{i}. 徐工集团新闻标题第{i}条" for i in range(500))
    out = truncate_markdown(md, 4000)
    assert len(out.encode()) <= 4000 and out.endswith("完整内容请见邮件）")


def test_one_subscription_can_use_mail_and_a_bot_and_a_bot_failure_is_retried_alone(
    sqlite_engine, http_server, smtp_server, tmp_path
):
    settings_ = _local_bots(make_settings(tmp_path, smtp_server.port))
    replies = [_json_reply({"errcode": 45009, "errmsg": "busy"}), _json_reply({"errcode": 0, "errmsg": "ok"})]
    posts = []

    def handler(req: Request) -> Reply:
        posts.append(json.loads(req.body))
        return replies.pop(0)

    http_server.routes["/hook"] = handler
    add_article(sqlite_engine)
    add_subscription(sqlite_engine, channels=["email", f"wecom:{http_server.url('/hook')}"])

    assert dispatch_due(sqlite_engine, settings_, DUE).retrying == 1
    assert len(smtp_server.messages) == 1 and len(posts) == 1
    assert dispatch_due(sqlite_engine, settings_, DUE + timedelta(minutes=1)).sent == 1
    assert len(smtp_server.messages) == 1 and len(posts) == 2  # the mail was not sent again
    assert "徐工" in posts[1]["markdown"]["content"]
    with Session(sqlite_engine) as session:
        [row] = session.exec(select(Delivery)).all()
    assert row.status == "sent" and row.channel == "email+wecom" and len(row.channels_done) == 2


def _local_bots(settings):
    """The test's webhook server is on 127.0.0.1, which a real configuration never allows."""
    return settings.model_copy(
        update={"fetch": settings.fetch.model_copy(update={"allow_private_addresses": True})}
    )


def test_a_webhook_on_a_private_address_is_refused_at_send_time_and_the_mail_still_goes(
    sqlite_engine, http_server, smtp_server, tmp_path
):
    posts = []
    http_server.routes["/hook"] = lambda req: posts.append(req) or _json_reply({"errcode": 0})
    add_article(sqlite_engine)
    # Inserted directly, as a row from before the subscribe-time check existed would be.
    add_subscription(sqlite_engine, channels=["email", f"wecom:{http_server.url('/hook')}"])

    report = dispatch_due(sqlite_engine, make_settings(tmp_path, smtp_server.port), DUE)

    assert posts == [] and len(smtp_server.messages) == 1
    assert report.sent == 1  # the mail went; the refused bot closed the window with its error kept
    with Session(sqlite_engine) as session:
        (row,) = session.exec(select(Delivery)).all()
    assert row.channels_done == ["email"] and "non-public address 127.0.0.1" in (row.last_error or "")


def test_a_webhook_answering_a_json_list_fails_that_channel_not_the_round(
    sqlite_engine, http_server, smtp_server, tmp_path
):
    http_server.routes["/hook"] = lambda req: _json_reply([1, 2])
    add_article(sqlite_engine)
    add_subscription(sqlite_engine, channels=[f"wecom:{http_server.url('/hook')}"])
    add_subscription(sqlite_engine, email="other@example.com")

    report = dispatch_due(sqlite_engine, _local_bots(make_settings(tmp_path, smtp_server.port)), DUE)

    assert report.failed == 1 and report.sent == 1  # the other subscriber still got the digest
    assert "not an object" in report.deliveries[0][4]


def test_a_webhook_host_that_rebinds_to_a_private_address_gets_no_connection(http_server, monkeypatch):
    """Checked public at the check, loopback at the connect (DNS rebinding): the pinned socket refuses it."""
    import socket

    answers = iter(["93.184.216.34", "127.0.0.1"])  # the check's answer, then the connect's

    def rebinding(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host != "hook.rebind.test":
            return socket_getaddrinfo(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    socket_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with pytest.raises(PermanentError, match="non-public address 127.0.0.1"):
        post(parse_bot(f"wecom:http://hook.rebind.test:{http_server.port}/hook"), "t", "m")
    assert http_server.requests == []  # nothing reached the private address
