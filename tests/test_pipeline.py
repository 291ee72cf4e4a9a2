"""One ingest pass when the web misbehaves: the pass goes on, failures are recorded, nothing is lost."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlmodel import select

from core.settings import FetchSettings, Settings
from ingest.pipeline import run_ingest
from store.db import init_db, make_engine, session_scope
from store.models import Article, Source
from tests.servers import Reply

ARTICLE = """<html><head><meta charset="utf-8"><title>{t}</title></head><body><h1>{t}</h1>
<div class="content"><p>11月20日，徐工集团在徐州经济技术开发区举行新一代起重机下线仪式，首批产品将发往海外风电项目。</p>
<p>徐工起重机械事业部负责人介绍，新机型核心零部件国产化率超过95%，整机能耗比上一代降低12%。</p></div></body></html>"""


def _settings(tmp_path: Path, sources: str) -> Settings:
    path = tmp_path / "sources.toml"
    path.write_text(sources, encoding="utf-8")
    fetch = FetchSettings(
        allow_private_addresses=True, per_host_delay_s=0, retries=0, respect_robots=False, read_timeout_s=5
    )
    return Settings(data_dir=tmp_path, sources_path=path, fetch=fetch)


def _rss(base: str, paths: list[str]) -> str:
    items = "".join(f"<item><title>t{i}</title><link>{base}{p}</link></item>" for i, p in enumerate(paths))
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>x</title>{items}</channel></rss>'


def _source(name: str, url: str) -> str:
    return f'[[sources]]\nname = "{name}"\nkind = "rss"\nurl = "{url}"\nallowed_hosts = ["127.0.0.1"]\nrobots = false\n'


def test_a_dead_source_is_recorded_and_the_pass_goes_on(engine, tmp_path, http_server):
    http_server.add("/dead.xml", "boom", status=500, content_type="text/plain")
    http_server.add("/ok.xml", _rss(http_server.base_url, ["/a1.html"]), content_type="application/rss+xml")
    http_server.add("/a1.html", ARTICLE.format(t="徐工新一代起重机下线"))
    settings = _settings(
        tmp_path, _source("dead", http_server.url("/dead.xml")) + _source("alive", http_server.url("/ok.xml"))
    )

    dead, alive = run_ingest(settings, engine)

    assert dead.error and "500" in dead.error
    assert alive.error is None and alive.new == 1
    with session_scope(engine) as session:
        rows = {s.name: s for s in session.exec(select(Source))}
    assert rows["dead"].consecutive_failures == 1 and "500" in (rows["dead"].last_error or "")
    assert rows["alive"].consecutive_failures == 0 and rows["alive"].last_success_at is not None


def test_a_malformed_page_is_skipped_with_its_reason_logged(sqlite_engine, tmp_path, http_server, caplog):
    http_server.add(
        "/feed.xml",
        _rss(http_server.base_url, ["/empty.html", "/good.html"]),
        content_type="application/rss+xml",
    )
    http_server.add("/empty.html", b"\x00\xff<html><body><div>\x00</div>", content_type="text/html")
    http_server.add("/good.html", ARTICLE.format(t="徐工新一代起重机下线"))
    settings = _settings(tmp_path, _source("feed", http_server.url("/feed.xml")))

    with caplog.at_level(logging.INFO, logger="ingest.pipeline"):
        (report,) = run_ingest(settings, sqlite_engine)

    assert report.new == 1
    assert [(url.rsplit("/", 1)[1], why) for url, why in report.skipped] == [
        ("empty.html", "no article body found")
    ]
    assert "reason=no article body found" in caplog.text


def test_an_article_that_failed_to_fetch_is_tried_again_on_the_next_pass(
    sqlite_engine, tmp_path, http_server
):
    http_server.add(
        "/feed.xml", _rss(http_server.base_url, ["/flaky.html"]), content_type="application/rss+xml"
    )
    http_server.routes["/flaky.html"] = Reply(503, b"busy", {"Content-Type": "text/plain"})
    settings = _settings(
        tmp_path, _source("feed", http_server.url("/flaky.html").replace("flaky.html", "feed.xml"))
    )

    (first,) = run_ingest(settings, sqlite_engine)
    http_server.add("/flaky.html", ARTICLE.format(t="徐工新一代起重机下线"))
    (second,) = run_ingest(settings, sqlite_engine)

    assert first.new == 0 and len(first.skipped) == 1
    assert second.new == 1
    with session_scope(sqlite_engine) as session:
        assert len(session.exec(select(Article)).all()) == 1


def test_the_daemon_leaves_a_failing_source_alone_until_its_backoff_has_passed(
    sqlite_engine, tmp_path, http_server
):
    http_server.add("/dead.xml", "boom", status=500, content_type="text/plain")
    settings = _settings(tmp_path, _source("dead", http_server.url("/dead.xml")))

    run_ingest(settings, sqlite_engine, only_due=True)
    asked = len([r for r in http_server.requests if r.path == "/dead.xml"])
    assert run_ingest(settings, sqlite_engine, only_due=True) == []  # backing off: not even listed
    assert len([r for r in http_server.requests if r.path == "/dead.xml"]) == asked
    (forced,) = run_ingest(settings, sqlite_engine)  # an operator's one-shot pass still tries it
    assert forced.error


HOME_ARTICLE = """<html><head><meta charset="utf-8"><title>我市新签约一批重大产业项目</title></head><body>
<h1>我市新签约一批重大产业项目</h1><div class="content">
<p>本报讯 11月20日，我市举行重大产业项目集中签约活动，12个项目总投资186亿元，涵盖工程机械零部件、储能电池等领域。</p>
<p>市委主要负责同志表示，全市上下要以项目建设为抓手，推动产业集群加快发展，确保签约项目早开工、早投产。</p>
</div></body></html>"""


def test_a_home_source_counts_its_own_city_words_toward_the_xuzhou_score(tmp_path, http_server):
    http_server.add(
        "/feed.xml", _rss(http_server.base_url, ["/home.html"]), content_type="application/rss+xml"
    )
    http_server.add("/home.html", HOME_ARTICLE)
    scores = {}
    for home in (False, True):
        folder = tmp_path / str(home)
        folder.mkdir()
        entry = _source("paper", http_server.url("/feed.xml")) + ("home = true\n" if home else "")
        engine = make_engine(f"sqlite:///{folder / 'x.db'}")  # a database each: the URL is unseen in both
        init_db(engine)
        run_ingest(_settings(folder, entry), engine)
        with session_scope(engine) as session:
            scores[home] = session.exec(select(Article)).one().xuzhou_score
    assert scores[False] < 0.5 <= scores[True]
