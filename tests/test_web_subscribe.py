"""Self-service subscriptions over real HTTP: the form, CSRF, rate limits, double opt-in from the outbox, manage."""

from __future__ import annotations

import email
import email.policy
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import Session, select

from alerts.dispatch import dispatch_due
from store.models import Subscriber, Subscription
from tests.alerts_support import SETTLE, add_article, add_subscription, make_settings
from tests.test_web_app import live_app
from xznews.web import Limits, WebServer
from xznews.web.security import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def web(engine, tmp_path, clock) -> Iterator[WebServer]:
    limits = Limits(RateLimiter(5, 600, clock), RateLimiter(2, 3600, clock))
    with live_app(engine, tmp_path, limits=limits) as server:
        yield server


@pytest.fixture
def client(web) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web.url, timeout=10, follow_redirects=False) as c:
        yield c


def _csrf(client: httpx.Client, path: str = "/subscribe") -> str:
    page = client.get(path)
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]


def _subscribe(client: httpx.Client, address: str = "reader@example.com", **fields) -> httpx.Response:
    data = {
        "csrf": _csrf(client),
        "email": address,
        "cluster": ["engineering_machinery"],
        "keywords": "",
        "frequency": "daily",
        "at_time": "08:00",
        "weekday": "0",
        "timezone": "Asia/Shanghai",
    }
    data.update(fields)
    return client.post("/subscribe", data=data)


def _mails(tmp_path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted((tmp_path / "outbox").glob("*.eml"))
    ]


def _confirm_link(msg) -> str:
    html = msg.get_body(("html",)).get_content()
    return re.search(r'href="([^"]*/confirm/[^"]+)"', html).group(1)  # type: ignore[union-attr]


def _subs(engine) -> list[Subscription]:
    with Session(engine) as session:
        return list(session.exec(select(Subscription).order_by(Subscription.id)))


def test_the_form_lists_clusters_in_chinese_and_documents_the_grammar(client):
    page = client.get("/subscribe")
    assert page.status_code == 200
    assert 'value="engineering_machinery"> 工程机械' in page.text and 'name="keywords"' in page.text
    assert "“并且”比“或者”结合得更紧" in page.text and "-(招聘 | 广告)" in page.text
    assert (
        "samesite=strict" in page.headers["set-cookie"].lower()
        and "httponly" in page.headers["set-cookie"].lower()
    )


def test_subscribe_confirm_from_the_outbox_then_digests_flow(engine, client, tmp_path):
    reply = _subscribe(client, cluster=["工程机械"])  # a Chinese name is accepted as well
    assert reply.status_code == 200 and "已向其发送一封确认邮件" in reply.text
    [sub] = _subs(engine)
    assert sub.active is False and sub.clusters == ["engineering_machinery"]

    [msg] = _mails(tmp_path)
    link = _confirm_link(msg)
    assert link.startswith(client.base_url.__str__().rstrip("/") + "/confirm/")
    assert "/manage/" in msg.get_body(("html",)).get_content()  # the footer links to the manage page
    assert client.get(link).status_code == 200 and _subs(engine)[0].active is False  # GET changes nothing
    done = client.post(link)
    assert done.status_code == 200 and "订阅已确认" in done.text and "/manage/" in done.text
    assert _subs(engine)[0].active is True
    again = client.post(link)
    assert again.status_code == 200 and "订阅早已确认" in again.text

    now = datetime.now(UTC)  # the subscription was created now: its first daily slot is within a day
    add_article(engine, fetched_at=now + timedelta(minutes=1))
    report = dispatch_due(engine, make_settings(tmp_path), now + timedelta(days=1, hours=1) + SETTLE)
    assert len(report.deliveries) == 1 and report.sent == 1


def test_list_unsubscribe_offers_a_mailto_only_when_a_mailbox_acts_on_it(engine, web, client, tmp_path):
    _subscribe(client, "first@example.com")
    web.app.state.settings = web.app.state.settings.model_copy(
        update={"unsubscribe_mailbox": "unsub@example.org"}
    )
    _subscribe(client, "second@example.com")
    first, second = _mails(tmp_path)
    assert first["List-Unsubscribe"].count("<") == 1 and "mailto:" not in first["List-Unsubscribe"]
    assert second["List-Unsubscribe"].endswith(", <mailto:unsub@example.org?subject=unsubscribe>")
    assert second["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_answer_is_the_same_whether_or_not_the_address_is_known(engine, client, tmp_path):
    add_subscription(engine, "known@example.com")
    known = _subscribe(client, "known@example.com")
    unknown = _subscribe(client, "stranger@example.com")
    strip = lambda r: re.sub(r'name="csrf" value="[^"]+"', "", r.text)  # noqa: E731
    assert (known.status_code, strip(known)) == (unknown.status_code, strip(unknown))
    # The known address's new subscription waits for its owner; the existing one is untouched.
    subs = {s.id: s for s in _subs(engine)}
    assert [s.active for s in subs.values()] == [True, False, False]
    assert len(_mails(tmp_path)) == 2


def test_a_post_without_the_csrf_token_is_refused(engine, client):
    client.get("/subscribe")  # the cookie is set, but the field is missing or wrong
    for data in ({"email": "a@example.com"}, {"email": "a@example.com", "csrf": "forged"}):
        reply = client.post("/subscribe", data=data)
        assert reply.status_code == 403 and "表单已过期" in reply.text
    fresh = httpx.post(str(client.base_url) + "/subscribe", data={"email": "a@example.com", "csrf": "x"})
    assert fresh.status_code == 403  # no cookie at all (a cross-site form)
    assert _subs(engine) == []


def test_a_bad_keyword_query_is_shown_with_the_caret_and_nothing_is_created(engine, client, tmp_path):
    reply = _subscribe(client, keywords="徐工 | ")
    assert reply.status_code == 400
    assert "expected a term after &#39;|&#39;" in reply.text and "^" in reply.text
    assert 'value="徐工 |"' in reply.text  # the form keeps what was typed
    bad_address = _subscribe(client, "not-an-address")
    assert bad_address.status_code == 400 and "invalid email address" in bad_address.text
    assert _subs(engine) == [] and not list((tmp_path / "outbox").glob("*.eml"))


def test_subscribing_is_rate_limited_per_address_and_per_client(engine, client, clock):
    assert _subscribe(client, "a@example.com").status_code == 200
    assert _subscribe(client, "A@example.com").status_code == 200
    limited = _subscribe(client, "a@example.com")
    assert limited.status_code == 429 and 0 < int(limited.headers["retry-after"]) <= 3600
    for n in range(2):
        assert _subscribe(client, f"other{n}@example.com").status_code == 200
    per_client = _subscribe(client, "yet.another@example.com")  # the sixth request from this client
    assert per_client.status_code == 429 and int(per_client.headers["retry-after"]) <= 600
    clock.now += 601
    assert _subscribe(client, "yet.another@example.com").status_code == 200
    assert len(_subs(engine)) == 5


# ----------------------------------------------------------------------------------------------- manage


def _manage(engine, client) -> tuple[str, int]:
    sub_id, token = add_subscription(engine, clusters=["engineering_machinery"])
    return token, sub_id


def test_manage_edits_pauses_resumes_and_deletes_one_subscription(engine, client):
    token, sub_id = _manage(engine, client)
    other_id, _ = add_subscription(engine, keywords="协鑫")
    page = client.get(f"/manage/{token}")
    assert page.status_code == 200 and "r***r@example.com" in page.text and f"订阅 #{other_id}" in page.text
    csrf = _csrf(client, f"/manage/{token}")
    form = {
        "csrf": csrf,
        "cluster": ["green_energy", "新材料"],
        "keywords": "光伏 | 储能",
        "frequency": "weekly",
        "at_time": "09:30",
        "weekday": "4",
        "timezone": "Asia/Shanghai",
        "action": "save",
    }
    saved = client.post(f"/manage/{token}/{sub_id}", data=form)
    assert saved.status_code == 303 and saved.headers["location"].startswith(f"/manage/{token}?done=save")
    [sub, other] = _subs(engine)
    assert (sub.clusters, sub.keywords, sub.frequency, sub.at_time, sub.weekday) == (
        ["green_energy", "new_materials"],
        "光伏 | 储能",
        "weekly",
        "09:30",
        4,
    )
    assert client.get(saved.headers["location"]).text.count("已保存") == 1

    assert client.post(f"/manage/{token}/{sub_id}", data={**form, "action": "pause"}).status_code == 303
    assert _subs(engine)[0].active is False
    assert client.post(f"/manage/{token}/{sub_id}", data={**form, "action": "resume"}).status_code == 303
    assert _subs(engine)[0].active is True
    bad = client.post(f"/manage/{token}/{sub_id}", data={**form, "keywords": "((光伏"})
    assert bad.status_code == 400 and "unclosed parenthesis" in bad.text
    assert client.post(f"/manage/{token}/{sub_id}", data={**form, "action": "delete"}).status_code == 303
    assert [s.id for s in _subs(engine)] == [other_id]  # the other subscription and the address stay


def test_manage_refuses_without_csrf_and_hides_other_subscribers(engine, client):
    token, sub_id = _manage(engine, client)
    stranger_sub, _ = add_subscription(engine, "stranger@example.com")
    assert client.post(f"/manage/{token}/{sub_id}", data={"action": "delete"}).status_code == 403
    csrf = _csrf(client, f"/manage/{token}")
    theirs = client.post(f"/manage/{token}/{stranger_sub}", data={"csrf": csrf, "action": "delete"})
    assert theirs.status_code == 404
    assert len(_subs(engine)) == 2


def test_unsubscribe_from_everything_on_the_manage_page(engine, client):
    token, _ = _manage(engine, client)
    add_subscription(engine, keywords="协鑫")
    csrf = _csrf(client, f"/manage/{token}")
    done = client.post(f"/manage/{token}/unsubscribe", data={"csrf": csrf})
    assert done.status_code == 200 and "已退订" in done.text
    assert all(not s.active for s in _subs(engine))
    with Session(engine) as session:
        assert session.exec(select(Subscriber)).one().unsubscribed_at is not None
    assert client.get(f"/manage/{token}").status_code == 404


def test_unknown_tokens_are_404_and_logged_only_as_a_prefix(engine, client, caplog):
    unknown = "Zz9" * 14 + "Q"
    with caplog.at_level(logging.INFO):
        replies = [
            client.get(f"/manage/{unknown}"),
            client.get(f"/feed/{unknown}.atom"),
            client.post(f"/confirm/{unknown}"),
            client.get(f"/unsubscribe/{unknown}"),
        ]
    assert [r.status_code for r in replies] == [404, 404, 404, 404]
    log = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("xznews", "alerts")))
    assert unknown not in log and f"/manage/{unknown[:6]}…" in log
