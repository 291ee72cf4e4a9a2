"""The links in mail, served for real: confirm and unsubscribe pages, RFC 8058 one-click, health, limits."""

from __future__ import annotations

import email
import email.policy
import logging
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, event
from sqlmodel import Session, select

from alerts.dispatch import dispatch_due
from alerts.subscribers import get_or_create
from alerts.web_pages import NOT_FOUND, Page, mask_email
from store.db import session_scope
from store.models import Subscriber, Subscription
from tests.alerts_support import SETTLE, T0, add_article, add_subscription, free_port, make_settings
from xznews.daemon import _start_web, run_daemon
from xznews.web import MAX_BODY, WebServer, mask_tokens

DUE = T0 + timedelta(days=1, minutes=1) + SETTLE  # the dispatcher's clock just after the first daily slot
ONE_CLICK = {"List-Unsubscribe": "One-Click"}
SECURITY = {
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


@pytest.fixture
def web(engine) -> Iterator[WebServer]:
    with WebServer(engine, "127.0.0.1", 0) as server:
        yield server


@pytest.fixture
def client(web) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web.url, timeout=10, follow_redirects=False) as c:
        yield c


def _subscriber(engine, email_: str = "reader@example.com") -> Subscriber:
    with Session(engine) as session:
        return session.exec(select(Subscriber).where(Subscriber.email == email_)).one()


def _active(engine, sub_id: int) -> bool:
    with Session(engine) as session:
        return session.get(Subscription, sub_id).active  # type: ignore[union-attr]


class _StatementCounter:
    def __init__(self, engine) -> None:
        self.engine, self.count = engine, 0

    def _on(self, *args) -> None:  # type: ignore[no-untyped-def]
        self.count += 1

    def __enter__(self) -> _StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on)


# ------------------------------------------------------------------------------------------ unsubscribe


def test_get_shows_the_masked_address_and_a_button_but_does_not_unsubscribe(engine, client):
    sub_id, token = add_subscription(engine)
    reply = client.get(f"/unsubscribe/{token}")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    assert "r***r@example.com" in reply.text and "reader@example.com" not in reply.text
    assert '<form method="post">' in reply.text and "确认退订" in reply.text and "Unsubscribe" in reply.text
    assert 'name="viewport"' in reply.text
    assert client.head(f"/unsubscribe/{token}").content == b""
    assert _subscriber(engine).unsubscribed_at is None and _active(engine, sub_id)


def test_a_one_click_post_unsubscribes_and_the_next_dispatch_sends_nothing(engine, client, tmp_path):
    sub_id, token = add_subscription(engine)
    add_article(engine)

    reply = client.post(f"/unsubscribe/{token}", data=ONE_CLICK)

    assert reply.status_code == 200 and "已退订" in reply.text and "You are unsubscribed" in reply.text
    assert _subscriber(engine).unsubscribed_at is not None and not _active(engine, sub_id)
    report = dispatch_due(engine, make_settings(tmp_path), DUE)
    assert report.deliveries == [] and not list(make_settings(tmp_path).outbox.glob("*.eml"))


def test_a_second_post_still_answers_200_already_unsubscribed(engine, client):
    _, token = add_subscription(engine)
    first = client.post(f"/unsubscribe/{token}", data=ONE_CLICK)
    when = _subscriber(engine).unsubscribed_at
    # multipart/form-data is the other encoding RFC 8058 allows.
    second = client.post(f"/unsubscribe/{token}", files={"List-Unsubscribe": (None, "One-Click")})
    assert (first.status_code, second.status_code) == (200, 200)
    assert "You were already unsubscribed" in second.text
    assert _subscriber(engine).unsubscribed_at == when
    assert "already unsubscribed" in client.get(f"/unsubscribe/{token}").text


def test_the_page_button_posts_an_empty_form_and_that_unsubscribes_too(engine, client):
    _, token = add_subscription(engine)
    reply = client.post(
        f"/unsubscribe/{token}", content=b"", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert reply.status_code == 200 and _subscriber(engine).unsubscribed_at is not None


def test_an_unknown_token_gets_a_404_that_reveals_nothing(engine, client):
    add_subscription(engine)
    unknown = "A" * 43
    for method in ("GET", "POST"):
        reply = client.request(method, f"/unsubscribe/{unknown}")
        assert reply.status_code == 404
        assert unknown not in reply.text and "@" not in reply.text
        assert "链接无效" in reply.text
    assert _subscriber(engine).unsubscribed_at is None


@pytest.mark.parametrize(
    "path",
    [
        "/unsubscribe/short",
        "/unsubscribe/" + "a" * 65,
        "/unsubscribe/abc%27%3B--drop-table-subscriber",
        "/unsubscribe/" + "a" * 40 + "/extra",
        "/unsubscribe/",
        "/confirm/" + "a" * 30 + "%00",
        "/confirm/" + "字" * 20,
    ],
)
def test_a_malformed_token_is_a_404_without_touching_the_database(engine, client, path):
    with _StatementCounter(engine) as counter:
        get, post = client.get(path), client.post(path, data=ONE_CLICK)
    assert (get.status_code, post.status_code) == (404, 404)
    assert counter.count == 0


def test_a_body_over_the_cap_is_refused_and_changes_nothing(engine, client):
    _, token = add_subscription(engine)
    reply = client.post(f"/unsubscribe/{token}", content=b"x" * (MAX_BODY + 1))
    assert reply.status_code == 413
    chunked = client.post(f"/unsubscribe/{token}", content=iter([b"List-Unsubscribe=One-Click"]))
    assert chunked.status_code == 411
    assert _subscriber(engine).unsubscribed_at is None


# ---------------------------------------------------------------------------------------------- confirm


def test_confirm_shows_a_button_on_get_and_confirms_on_post_once(engine, client):
    with session_scope(engine) as session:
        subscriber, _ = get_or_create(session, "new.reader@example.com", confirmed=False)
        token = subscriber.confirm_token
    assert token

    page = client.get(f"/confirm/{token}")
    assert page.status_code == 200 and "确认订阅" in page.text and '<form method="post">' in page.text
    assert "n***r@example.com" in page.text
    assert _subscriber(engine, "new.reader@example.com").confirmed is False

    done = client.post(f"/confirm/{token}")
    assert done.status_code == 200 and "Subscription confirmed" in done.text
    assert _subscriber(engine, "new.reader@example.com").confirmed

    # Idempotent: a second click (or a mail scanner after the reader) says so instead of a 404.
    again = client.post(f"/confirm/{token}")
    assert again.status_code == 200 and "Already confirmed" in again.text
    assert "Already confirmed" in client.get(f"/confirm/{token}").text


def test_an_unknown_confirm_token_is_a_404(engine, client):
    assert client.get("/confirm/" + "B" * 43).status_code == 404
    assert client.post("/confirm/" + "B" * 43).status_code == 404


# -------------------------------------------------------------------------------------- the rest of HTTP


def test_healthz_answers_ok_after_a_database_round_trip(engine, client):
    reply = client.get("/healthz")
    assert reply.status_code == 200
    assert reply.json() == {
        "status": "ok",
        "database": "ok",
        "stale_sources": 0,
        "scheduler": "not in this process",
    }


def test_healthz_is_503_when_the_database_is_down(tmp_path):
    dead = create_engine(f"sqlite:///{tmp_path}/missing/dir/x.db")  # the directory does not exist
    with WebServer(dead, "127.0.0.1", 0) as server:
        reply = httpx.get(server.url + "/healthz")
        page = httpx.get(server.url + "/unsubscribe/" + "C" * 43)
    assert reply.status_code == 503 and "Traceback" not in reply.text
    assert page.status_code == 503 and page.headers["retry-after"] == "60"
    assert "sqlite" not in page.text.lower() and "Traceback" not in page.text


@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        ("GET", "/admin", 404, None),
        ("GET", "/unsubscribe", 404, None),
        ("PUT", "/unsubscribe/" + "a" * 43, 405, "GET, HEAD, POST"),
        ("DELETE", "/confirm/" + "a" * 43, 405, "GET, HEAD, POST"),
        ("POST", "/healthz", 405, "GET, HEAD"),
    ],
)
def test_other_paths_are_404_and_other_methods_405(sqlite_engine, method, path, status, allow):
    with WebServer(sqlite_engine, "127.0.0.1", 0) as server:
        reply = httpx.request(method, server.url + path)
    assert reply.status_code == status
    assert reply.headers.get("allow") == allow


def test_every_response_carries_the_security_headers_and_no_server_version(engine, client):
    _, token = add_subscription(engine)
    replies = [
        client.get(f"/unsubscribe/{token}"),
        client.get("/nowhere"),
        client.put(f"/unsubscribe/{token}"),
        client.get("/healthz"),
        client.post(f"/unsubscribe/{token}", content=b"x" * 10_000),
        client.post(f"/unsubscribe/{token}", data=ONE_CLICK),
    ]
    for reply in replies:
        for name, value in SECURITY.items():
            assert reply.headers[name] == value, (reply.status_code, name)
        assert reply.headers["cache-control"] == "no-store"
        assert reply.headers["server"] == "xznews"


def test_the_token_is_never_logged_in_full(engine, client, caplog):
    _, token = add_subscription(engine)
    with caplog.at_level(logging.INFO):
        client.get(f"/unsubscribe/{token}")
        client.post(f"/unsubscribe/{token}", data=ONE_CLICK)
    # The server's side of the log (the test's own httpx client logs the URLs it requests).
    log = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("xznews", "alerts")))
    assert token not in log
    assert f"/unsubscribe/{token[:6]}…" in log and "via=one-click" in log


def test_pages_escape_what_they_show():
    from starlette.requests import Request

    from xznews.web.render import render_page

    request = Request({"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""})
    html = render_page(request, Page(200, "<b>t</b>", "x", address="<script>alert(1)</script>")).body.decode()
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;" in html
    assert NOT_FOUND.status == 404


@pytest.mark.parametrize(
    ("address", "masked"),
    [("reader@example.com", "r***r@example.com"), ("ab@x.org", "a***@x.org"), ("a@x.org", "a***@x.org")],
)
def test_addresses_are_masked(address, masked):
    assert mask_email(address) == masked


def test_mask_tokens_keeps_a_prefix_only():
    assert mask_tokens("/unsubscribe/AbCdEfGhIjKlMnOp") == "/unsubscribe/AbCdEf…"
    assert mask_tokens("/healthz") == "/healthz"


# ------------------------------------------------------------------------------------------ end to end


def test_the_list_unsubscribe_url_of_a_real_digest_works_end_to_end(engine, web, tmp_path):
    settings = make_settings(tmp_path).model_copy(update={"public_base_url": web.url})
    sub_id, token = add_subscription(engine)
    add_article(engine)
    dispatch_due(engine, settings, DUE)
    [eml] = settings.outbox.glob("*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    [url] = [u for u in re.findall(r"<([^>]+)>", msg["List-Unsubscribe"]) if u.startswith("http")]
    assert url == f"{web.url}/unsubscribe/{token}"
    html_link = re.search(r'href="([^"]*/unsubscribe/[^"]*)"', msg.get_body(("html",)).get_content())
    assert html_link is not None and httpx.get(html_link.group(1)).status_code == 200

    # What a mailbox provider does for RFC 8058: POST the URL with the one-click body.
    reply = httpx.post(
        url,
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert reply.status_code == 200
    assert not _active(engine, sub_id)
    add_article(engine, fetched_at=DUE + timedelta(hours=3))
    assert dispatch_due(engine, settings, DUE + timedelta(days=1)).deliveries == []
    assert len(list(settings.outbox.glob("*.eml"))) == 1


# --------------------------------------------------------------------------------------- daemon and CLI


def test_the_daemon_goes_on_without_the_web_side_when_the_port_is_taken(sqlite_engine, tmp_path, caplog):
    (tmp_path / "sources.toml").write_text("", encoding="utf-8")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = make_settings(tmp_path).model_copy(
            update={"web_port": taken.getsockname()[1], "sources_path": tmp_path / "sources.toml"}
        )
        stop = threading.Event()
        stop.set()
        with caplog.at_level(logging.INFO):
            run_daemon(settings, sqlite_engine, stop)
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("web server not started") for m in messages)
    assert "daemon stopped" in messages


def test_the_daemon_serves_the_web_side_when_enabled(sqlite_engine, tmp_path):
    settings = make_settings(tmp_path).model_copy(update={"web_port": 0})
    server = _start_web(settings, sqlite_engine)
    try:
        assert httpx.get(server.url + "/healthz").json()["status"] == "ok"
    finally:
        server.stop()
    assert _start_web(settings.model_copy(update={"web_enabled": False}), sqlite_engine) is None
    # Beside the scheduler, /healthz reports it: the daemon's own scheduler, here built but not started.
    from xznews.daemon import build_scheduler

    (tmp_path / "sources.toml").write_text("", encoding="utf-8")
    scheduler = build_scheduler(
        settings.model_copy(update={"sources_path": tmp_path / "sources.toml"}), sqlite_engine
    )
    server = _start_web(settings, sqlite_engine, scheduler)
    try:
        reply = httpx.get(server.url + "/healthz")
    finally:
        server.stop()
    assert reply.status_code == 503 and reply.json()["scheduler"] == "stopped"


def test_xznews_web_serves_until_sigterm(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XZNEWS_")}
    env.update(XZNEWS_DATA_DIR=str(tmp_path / "data"), XZNEWS_CONFIG_DIR=str(tmp_path))
    # The command module on its own (the lead registers it in xznews.cli).
    script = (
        "import typer\nfrom xznews.cli import web_cmd\napp = typer.Typer()\n"
        "app.callback()(lambda: None)\nweb_cmd.register(app)\napp()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, "web", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()  # type: ignore[union-attr]
    seen = []
    try:
        while not any("web server listening" in line for line in seen):
            seen.append(lines.get(timeout=60))
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["status"] == "ok"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    while not lines.empty():
        seen.append(lines.get())
    assert "web server stopped" in "".join(seen) and "Traceback" not in "".join(seen)
