"""The web app served for real (uvicorn on 127.0.0.1) over SQLite and PostgreSQL: reading, search, feeds, API."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import feedparser
import httpx
import pytest

from store.db import session_scope
from store.models import Article, Source
from tests.alerts_support import T0, add_article, add_story, make_settings
from xznews.web import WebServer

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@contextmanager
def live_app(engine, tmp_path, **kw) -> Iterator[WebServer]:
    """The app on a random port, its links in mail pointing at itself, mail to tmp_path/outbox."""
    with WebServer(engine, "127.0.0.1", 0, make_settings(tmp_path), **kw) as server:
        server.app.state.settings = make_settings(tmp_path).model_copy(update={"public_base_url": server.url})
        yield server


@pytest.fixture
def web(engine, tmp_path) -> Iterator[WebServer]:
    with live_app(engine, tmp_path) as server:
        yield server


@pytest.fixture
def client(web) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web.url, timeout=10, follow_redirects=False) as c:
        yield c


def _three_copies(engine) -> list[int]:
    """One story published by three sites, the last one an update with a new paragraph."""
    first = add_article(engine, title="徐工集团发布新款挖掘机", site="www.xz.gov.cn", published_at=T0)
    copy = add_article(
        engine,
        title="徐工集团发布新款挖掘机",
        site="www.cnxz.com.cn",
        verdict="duplicate",
        duplicate_of_id=first,
    )
    update = add_article(
        engine,
        title="徐工集团发布新款挖掘机（更新）",
        site="news.example.com",
        verdict="update",
        duplicate_of_id=first,
        body="徐工集团今日发布新款电动挖掘机。\n首批二百台已交付客户。",
        new_paragraphs=[1],
    )
    add_story(engine, [first, copy, update])
    return [first, copy, update]


# ------------------------------------------------------------------------------------------------ pages


def test_the_front_page_shows_one_row_per_story_with_its_other_sites_and_update_mark(engine, client):
    first, _, _ = _three_copies(engine)
    add_article(engine, title="协鑫光伏组件出口增长", clusters=["green_energy"], source_name="cnxz")
    page = client.get("/")
    assert page.status_code == 200 and 'name="viewport"' in page.text
    assert page.text.count("徐工集团发布新款挖掘机") == 1  # the story's copies are one row
    assert "另有 2 家网站刊发" in page.text and "有更新" in page.text
    assert f'href="/story/{first}"' in page.text and 'href="https://www.xz.gov.cn/a/' in page.text
    assert "工程机械" in page.text and "协鑫光伏组件出口增长" in page.text


def test_filters_by_cluster_source_and_date_and_paginates(engine, client):
    for n in range(25):
        add_article(engine, title=f"挖掘机新闻{n:02d}", fetched_at=T0 + timedelta(hours=n))
    add_article(engine, title="光伏新闻", clusters=["green_energy"], source_name="cnxz")
    assert "光伏新闻" not in client.get("/?cluster=engineering_machinery").text
    assert "光伏新闻" in client.get("/?cluster=绿色低碳能源").text
    only = client.get("/?source=cnxz").text
    assert "光伏新闻" in only and "挖掘机新闻" not in only
    day = client.get("/?since=2026-11-21&until=2026-11-21").text  # Shanghai day: T0+0h … T0+15h
    assert "挖掘机新闻15" in day and "挖掘机新闻16" not in day
    first, second = client.get("/"), client.get("/?page=2")
    # Newest first: 光伏新闻 and 挖掘机新闻24 … 06 fill the first page of 20.
    assert "下一页" in first.text and "挖掘机新闻06" in first.text and "挖掘机新闻05" not in first.text
    assert "挖掘机新闻05" in second.text and "下一页" not in second.text
    bad = client.get("/?since=yesterday")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text


def test_a_cluster_page_accepts_its_chinese_name(engine, client):
    add_article(engine, title="挖掘机出口")
    by_name = client.get("/cluster/工程机械")
    assert by_name.status_code == 308 and by_name.headers["location"] == "/cluster/engineering_machinery"
    page = client.get("/cluster/engineering_machinery")
    assert page.status_code == 200 and "挖掘机出口" in page.text and "工程机械 · 最新报道" in page.text
    assert client.get("/cluster/nonsense").status_code == 404
    api = client.get("/api/stories", params={"cluster": "工程机械"}).json()
    assert [s["title"] for s in api["stories"]] == ["挖掘机出口"]


def test_the_story_page_shows_the_first_publisher_every_copy_and_the_new_paragraphs(engine, client):
    first, copy, update = _three_copies(engine)
    page = client.get(f"/story/{first}")
    assert page.status_code == 200
    text = page.text
    assert (
        "首发" in text
        and "www.xz.gov.cn" in text
        and "www.cnxz.com.cn" in text
        and "news.example.com" in text
    )
    assert "转载" in text and "更新" in text and "新增：首批二百台已交付客户。" in text
    assert "工程机械" in text and "徐工、挖掘机" in text  # cluster and its evidence
    assert "徐州相关度" in text and "产业发展相关度" in text
    moved = client.get(f"/story/{copy}")  # any copy finds its story
    assert moved.status_code == 308 and moved.headers["location"] == f"/story/{first}"
    assert client.get("/story/999999").status_code == 404 and client.get("/story/abc").status_code == 404


def test_hostile_titles_and_bodies_are_escaped_everywhere(engine, client):
    aid = add_article(
        engine, title="徐工" + HOSTILE, body="徐工" + HOSTILE, url="https://x.example.org/a?<b>"
    )
    for path in ("/", f"/story/{aid}", "/search?q=徐工", "/feed.atom"):
        reply = client.get(path)
        assert reply.status_code == 200, path
        assert "<script>" not in reply.text and "<img" not in reply.text, path
    assert "&lt;script&gt;" in client.get("/").text
    api = client.get("/api/stories")  # data for scripts: JSON, never sniffed as HTML
    assert api.headers["content-type"] == "application/json" and api.json()["stories"][0]["title"].endswith(
        HOSTILE
    )
    query = client.get("/search", params={"q": '"<script>'}).text
    assert "<script>" not in query


# ----------------------------------------------------------------------------------------------- search


def test_search_finds_traditional_and_simplified_alike_with_highlighted_snippets(engine, client):
    add_article(engine, title="徐工集團發佈新款起重機", body="徐工集團今日發佈新款起重機。")
    add_article(
        engine, title="协鑫光伏组件出口", body="协鑫集团光伏组件出口增长。", clusters=["green_energy"]
    )
    page = client.get("/search", params={"q": "徐工 起重机"})
    assert page.status_code == 200
    assert "徐工集團發佈新款起重機" in page.text and "协鑫" not in page.text.split("<main>")[1]
    # The hit is marked as displayed (traditional), found by its normalized form (徐工 ~ 徐工集团 by alias).
    assert "<mark>徐工集團</mark>發佈新款<mark>起重機</mark>" in page.text
    trad = client.get("/search", params={"q": "起重機"})
    assert "徐工集團發佈新款起重機" in trad.text


def test_search_uses_the_query_language_aliases_and_exclusions(engine, client):
    add_article(engine, title="XCMG wins an order", body="XCMG signed.", clusters=[])
    add_article(engine, title="徐工招聘启事", body="徐工招聘技术工人。")
    add_article(engine, title="协鑫光伏", body="协鑫光伏组件。", clusters=["green_energy"])
    results = client.get("/api/stories", params={"q": "徐工 -招聘"}).json()["stories"]
    assert [s["title"] for s in results] == ["XCMG wins an order"]  # alias of 徐工; 招聘 excluded
    either = client.get("/api/stories", params={"q": "徐工 | 协鑫"}).json()["stories"]
    assert len(either) == 3
    single = client.get("/api/stories", params={"q": "鑫"}).json()["stories"]  # one character: a prefix
    assert [s["title"] for s in single] == ["协鑫光伏"]

    def count(q: str) -> int:
        return len(client.get("/api/stories", params={"q": q}).json()["stories"])

    # Exclusions applied in the index (one token, a phrase) and by the matcher (two runs) agree.
    assert count("徐工 | 协鑫 -光伏组件") == 2
    assert count("徐工 -招聘技术") == 1
    assert count("徐工 -xcmg") == 0  # an exclusion excludes the aliases too
    assert count("徐工 -5g基站") == 2


def test_a_bad_query_gets_the_parser_message_with_the_caret(engine, client):
    page = client.get("/search", params={"q": "徐工 (起重机"})
    assert page.status_code == 400
    assert "unclosed parenthesis at 3:" in page.text and "^" in page.text
    api = client.get("/api/stories", params={"q": "-招聘"})
    assert api.status_code == 400 and "only excludes" in api.json()["error"]
    long = client.get("/search", params={"q": "徐工 " * 200})
    assert long.status_code == 400 and "关键词过长" in long.text


def test_search_filters_by_cluster_and_dates(engine, client):
    add_article(engine, title="徐工挖掘机", fetched_at=T0)
    add_article(engine, title="徐工光伏电站", clusters=["green_energy"], fetched_at=T0 + timedelta(days=3))

    def titles(**p):
        return [s["title"] for s in client.get("/api/stories", params={"q": "徐工", **p}).json()["stories"]]

    assert titles(cluster="green_energy") == ["徐工光伏电站"]
    assert titles(until="2026-11-22") == ["徐工挖掘机"]
    assert titles(since="2026-11-23") == ["徐工光伏电站"]


def test_a_search_result_is_one_row_per_story(engine, client):
    _three_copies(engine)
    results = client.get("/api/stories", params={"q": "挖掘机"}).json()["stories"]
    assert len(results) == 1 and results[0]["other_sites"] == 2 and results[0]["updated"] is True


# ------------------------------------------------------------------------------------------------ feeds


def test_feeds_are_valid_atom_with_stable_entry_ids(engine, client):
    first, _, _ = _three_copies(engine)
    add_article(engine, title="光伏新闻", body="光伏组件出口。", clusters=["green_energy"])
    for path, expect in (
        ("/feed.atom", 2),
        ("/cluster/engineering_machinery.atom", 1),
        ("/cluster/工程机械.atom", 1),
        ("/search.atom?q=挖掘机", 1),
    ):
        reply = client.get(path)
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("application/atom+xml")
        feed = feedparser.parse(reply.content)
        assert not feed.bozo, (path, feed.get("bozo_exception"))
        assert feed.version == "atom10" and len(feed.entries) == expect, path
    entry = feedparser.parse(client.get("/cluster/engineering_machinery.atom").content).entries[0]
    assert entry.id == f"tag:xznews,2026:story/{first}"
    assert entry.link.startswith("https://www.xz.gov.cn/")
    add_article(engine, title="挖掘机又一篇")
    again = feedparser.parse(client.get("/feed.atom").content)
    assert f"tag:xznews,2026:story/{first}" in [e.id for e in again.entries]
    assert client.get("/search.atom?q=(").status_code == 400
    assert client.get("/feed/" + "A" * 43 + ".atom").status_code == 404


# ------------------------------------------------------------------------------------ operators and HTTP


def test_healthz_reports_the_scheduler_and_stale_sources(engine, tmp_path):
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler()  # the daemon's kind, not yet started
    with session_scope(engine) as session:
        session.add(Source(name="dead", kind="rss", url="https://x.example.org", flagged="failing"))
    with WebServer(engine, "127.0.0.1", 0, make_settings(tmp_path), scheduler=scheduler) as server:
        stopped = httpx.get(server.url + "/healthz")
        scheduler.start()
        try:
            running = httpx.get(server.url + "/healthz")
        finally:
            scheduler.shutdown()
    assert stopped.status_code == 503 and stopped.json()["scheduler"] == "stopped"
    assert running.status_code == 200 and running.json() == {
        "status": "ok",
        "database": "ok",
        "stale_sources": 1,
        "scheduler": "running",
    }


def test_metrics_are_prometheus_text_read_from_the_database(engine, client):
    add_article(engine)
    add_article(engine, source_name="cnxz", verdict="duplicate")
    with session_scope(engine) as session:
        session.add(
            Source(
                name="cnxz",
                kind="rss",
                url="https://x.example.org",
                consecutive_failures=2,
                last_error="timeout after 30 s",
                last_success_at=T0,
            )
        )
    reply = client.get("/metrics")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    text = reply.text
    assert 'xznews_articles_stored{source="xz_gov",verdict="new"} 1.0' in text
    assert 'xznews_articles_stored{source="cnxz",verdict="duplicate"} 1.0' in text
    assert 'xznews_fetch_errors{kind="timeout",source="cnxz"} 2.0' in text
    assert re.search(r'xznews_source_seconds_since_success\{source="cnxz"\} \d', text)
    assert "xznews_digest_lag_seconds 0.0" in text and "# TYPE xznews_deliveries gauge" in text


def test_the_api_is_json_and_refuses_bad_parameters_in_one_line(engine, client):
    add_article(engine, title="徐工挖掘机")
    data = client.get("/api/stories", params={"limit": 5}).json()
    assert data["page"] == 1 and data["has_more"] is False
    [story] = data["stories"]
    assert set(story) >= {
        "id",
        "title",
        "url",
        "source",
        "published_at",
        "clusters",
        "other_sites",
        "updated",
    }
    for params, needle in (
        ({"limit": "x"}, "limit"),
        ({"cluster": "nope"}, "cluster"),
        ({"since": "1.1."}, "since"),
    ):
        reply = client.get("/api/stories", params=params)
        assert reply.status_code == 400 and needle in reply.json()["error"], params


def test_a_body_shorter_than_its_content_length_gets_a_400_at_once(web):
    with socket.create_connection(("127.0.0.1", web.port), timeout=10) as sock:
        sock.sendall(
            b"POST /subscribe HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 100\r\n\r\nemail=a"
        )
        sock.shutdown(socket.SHUT_WR)  # the client is done, 93 bytes short
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 400 ") and b"x-content-type-options: nosniff" in reply


def test_the_index_is_written_in_the_same_transaction_as_the_article(engine, client):
    aid = add_article(engine, title="新标题里没有那个词")
    assert client.get("/api/stories", params={"q": "起重机"}).json()["stories"] == []
    with session_scope(engine) as session:
        session.get(Article, aid).title = "起重机出口"  # type: ignore[union-attr]
    assert [s["id"] for s in client.get("/api/stories", params={"q": "起重机"}).json()["stories"]] == [aid]
