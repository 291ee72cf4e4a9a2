"""Ingest that never loses, repeats or stops: backlogs, multi-article pages, URLs met twice, bad articles, garbage."""

from __future__ import annotations

import contextlib
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

import ingest.pipeline as pipeline
from ingest.extract import MAX_PARTS
from ingest.pipeline import run_ingest
from store import Article, HttpCache, Source, job_lock, session_scope
from tests.servers import Reply, Request
from tests.test_pipeline import ARTICLE, _rss, _settings, _source

_CITIES = "鼓楼云龙贾汪泉山铜山丰县沛县睢宁新沂邳州"


def article_page(i: int) -> str:
    """A distinct article: its own title and its own sentences, so dedupe calls each one new."""
    rng = random.Random(i)
    words = [rng.choice(_CITIES) + rng.choice("区县镇") for _ in range(12)]
    body = "".join(
        f"<p>{i}号项目在{w}开工建设，总投资{rng.randint(2, 900)}亿元，预计年产值{rng.randint(10, 999)}亿元。</p>"
        for w in words
    )
    return f'<html><head><meta charset="utf-8"><title>项目{i}</title></head><body><h1>项目{i}开工</h1><div class="content">{body}</div></body></html>'


def stored_urls(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return sorted(a.url or "" for a in session.exec(select(Article).where(Article.is_seed == False)))  # noqa: E712


def test_a_backlog_beyond_max_items_is_caught_up_over_the_next_passes(engine, tmp_path, http_server):
    paths = [f"/a{i}.html" for i in range(120)]
    http_server.add("/feed.xml", _rss(http_server.base_url, paths), content_type="application/rss+xml")
    for i, path in enumerate(paths):
        http_server.add(path, article_page(i))
    settings = _settings(tmp_path, _source("feed", http_server.url("/feed.xml")) + "max_items = 50\n")

    first, second, third = (run_ingest(settings, engine)[0] for _ in range(3))

    assert (first.fetched, second.fetched, third.fetched) == (50, 50, 20)
    assert first.backlog and second.backlog and not third.backlog
    assert len(stored_urls(engine)) == 120


def _list_page(base: str, page: int, per_page: int = 10) -> str:
    items = "".join(
        f'<li><a href="{base}/n{page * per_page + k}.html">新闻{page * per_page + k}</a></li>'
        for k in range(per_page)
    )
    return f"<html><body><ul class='list'>{items}</ul></body></html>"


def test_a_listing_whose_every_link_is_new_is_read_deeper(engine, tmp_path, http_server):
    for page in range(8):
        name = "/list/index.html" if page == 0 else f"/list/index_{page}.html"
        http_server.add(name, _list_page(http_server.base_url, page))
    for n in range(80):
        http_server.add(f"/n{n}.html", article_page(n))
    entry = (
        f'[[sources]]\nname = "col"\nkind = "listpage"\nurl = "{http_server.url("/list/index.html")}"\n'
        'allowed_hosts = ["127.0.0.1"]\nrobots = false\nmax_items = 50\nmax_backlog_pages = 4\n'
        '[sources.options]\nitem = "ul.list li"\npage_url = "index_{n}.html"\n'
    )
    settings = _settings(tmp_path, entry)

    (first,) = run_ingest(settings, engine)
    (second,) = run_ingest(settings, engine)

    assert first.fetched == 40  # four pages deep (the bound), not the one page configured
    assert second.fetched == 0  # the newest page is all seen: nothing more to catch up below it
    assert len(stored_urls(engine)) == 40


MULTI = (
    """<html><head><meta charset="utf-8"><title>徐州日报 第01版</title></head><body>{parts}</body></html>"""
)
PART = """<h2>{title}</h2><!--enpcontent--><p>{body}</p><!--/enpcontent-->"""


def _multi_page(n: int) -> str:
    parts = "".join(
        PART.format(
            title=f"第{i}条新闻标题",
            body=f"本报讯 {i}日，{_CITIES[i % 10]}区第{i}个重点项目签约落地，计划投资{i + 3}亿元建设生产线和研发中心。",
        )
        for i in range(n)
    )
    return MULTI.format(parts=parts)


def test_each_article_of_a_multi_article_page_is_its_own_article(engine, tmp_path, http_server):
    http_server.add(
        "/feed.xml", _rss(http_server.base_url, ["/page1.html"]), content_type="application/rss+xml"
    )
    http_server.add("/page1.html", _multi_page(3))
    settings = _settings(tmp_path, _source("paper", http_server.url("/feed.xml")))

    (first,) = run_ingest(settings, engine)
    (second,) = run_ingest(settings, engine)

    assert (first.new, first.duplicates) == (3, 0)
    assert [u.rsplit("/", 1)[1] for u in stored_urls(engine)] == [
        "page1.html#1",
        "page1.html#2",
        "page1.html#3",
    ]
    assert second.fetched == 0  # the page counts as seen


def test_splitting_a_page_is_capped(sqlite_engine, tmp_path, http_server):
    http_server.add(
        "/feed.xml", _rss(http_server.base_url, ["/huge.html"]), content_type="application/rss+xml"
    )
    http_server.add("/huge.html", _multi_page(MAX_PARTS * 3))
    settings = _settings(tmp_path, _source("paper", http_server.url("/feed.xml")))

    run_ingest(settings, sqlite_engine)

    assert len(stored_urls(sqlite_engine)) == MAX_PARTS


def test_a_url_stored_meanwhile_by_another_source_is_a_clean_skip(engine, tmp_path, http_server):
    http_server.add(
        "/one.xml", _rss(http_server.base_url, ["/same.html"]), content_type="application/rss+xml"
    )
    http_server.add(
        "/two.xml",
        _rss(http_server.base_url, ["/same.html", "/other.html"]),
        content_type="application/rss+xml",
    )
    http_server.add("/other.html", article_page(2))
    settings = _settings(
        tmp_path, _source("one", http_server.url("/one.xml")) + _source("two", http_server.url("/two.xml"))
    )
    served: list[int] = []

    def same(req: Request) -> Reply:
        # Source two has listed /same.html as unseen; before it gets the page, source one stores it.
        served.append(1)
        if len(served) == 1:
            run_ingest(settings, engine, ["one"])
        return Reply(200, article_page(1).encode(), {"Content-Type": "text/html; charset=utf-8"})

    http_server.routes["/same.html"] = same

    (two,) = run_ingest(settings, engine, ["two"])

    assert two.error is None
    assert [(u.rsplit("/", 1)[1], why) for u, why in two.skipped] == [("same.html", "already stored")]
    assert two.new == 1  # the rest of the pass goes on
    assert [u.rsplit("/", 1)[1] for u in stored_urls(engine)] == ["other.html", "same.html"]


def test_a_one_shot_ingest_takes_the_sources_job_lock(engine, tmp_path, http_server):
    http_server.add("/feed.xml", _rss(http_server.base_url, ["/a.html"]), content_type="application/rss+xml")
    http_server.add("/a.html", ARTICLE.format(t="徐工新一代起重机下线"))
    settings = _settings(tmp_path, _source("feed", http_server.url("/feed.xml")))

    with job_lock(engine, "ingest:feed") as held:  # the daemon (or another ingest) is reading this source
        assert held
        (report,) = run_ingest(settings, engine)

    assert report.locked and http_server.requests == []
    (later,) = run_ingest(settings, engine)
    assert later.new == 1


def test_one_article_that_fails_never_ends_the_pass_and_is_tried_again(
    engine, tmp_path, http_server, monkeypatch
):
    paths = ["/a0.html", "/a1.html", "/a2.html"]
    http_server.add("/feed.xml", _rss(http_server.base_url, paths), content_type="application/rss+xml")
    for i, path in enumerate(paths):
        http_server.add(path, article_page(i))
    settings = _settings(tmp_path, _source("feed", http_server.url("/feed.xml")))
    real_classify = pipeline.classify

    def classify_fails_on_one(title, body, *args, **kw):  # type: ignore[no-untyped-def]
        if title.startswith("项目1"):
            raise RecursionError("maximum recursion depth exceeded")  # any bug deep in a stage
        return real_classify(title, body, *args, **kw)

    monkeypatch.setattr(pipeline, "classify", classify_fails_on_one)
    (first,) = run_ingest(settings, engine)
    monkeypatch.setattr(pipeline, "classify", real_classify)
    (second,) = run_ingest(settings, engine)

    assert first.error is None and first.new == 2
    assert [(u.rsplit("/", 1)[1], why) for u, why in first.failed] == [
        ("a1.html", "RecursionError: maximum recursion depth exceeded")
    ]
    assert second.fetched == 1 and second.new == 1
    assert len(stored_urls(engine)) == 3


def test_a_pass_that_fails_on_the_database_still_records_the_sources_health(
    sqlite_engine, tmp_path, http_server
):
    http_server.add(
        "/feed.xml", _rss(http_server.base_url, ["/a.html", "/b.html"]), content_type="application/rss+xml"
    )
    http_server.add("/a.html", article_page(1))
    http_server.add("/b.html", article_page(2))
    settings = _settings(tmp_path, _source("feed", http_server.url("/feed.xml")))
    with sqlite_engine.begin() as conn:
        conn.execute(text("DROP TABLE chunk_hashes"))  # the store breaks; the sources table still works

    (report,) = run_ingest(settings, sqlite_engine)

    assert report.error and report.error.startswith("database error:") and "chunk_hashes" in report.error
    assert report.fetched == 1  # it stopped at the first article instead of failing every one
    with session_scope(sqlite_engine) as session:
        row = session.exec(select(Source).where(Source.name == "feed")).one()
    assert row.consecutive_failures == 1 and "chunk_hashes" in (row.last_error or "")


def test_random_bytes_are_not_stored_as_news(engine, tmp_path, http_server):
    noise = random.Random(7).randbytes(200_000)
    http_server.add(
        "/feed.xml",
        _rss(http_server.base_url, ["/noise.html", "/good.html"]),
        content_type="application/rss+xml",
    )
    http_server.add("/noise.html", noise, content_type="text/html")
    http_server.add("/good.html", ARTICLE.format(t="徐工新一代起重机下线"))
    settings = _settings(tmp_path, _source("feed", http_server.url("/feed.xml")))

    (report,) = run_ingest(settings, engine)

    assert report.new == 1
    ((url, why),) = report.skipped
    assert url.endswith("/noise.html") and why.startswith("not text:")


def test_a_long_retry_after_defers_the_source_instead_of_sleeping(engine, tmp_path, http_server):
    paths = ["/a0.html", "/a1.html", "/a2.html"]
    http_server.add("/feed.xml", _rss(http_server.base_url, paths), content_type="application/rss+xml")
    http_server.routes["/a0.html"] = Reply(429, b"", {"Retry-After": "86400"})
    settings = _settings(tmp_path, _source("feed", http_server.url("/feed.xml")))
    settings.fetch.retries = 3

    before = datetime.now(UTC)
    (report,) = run_ingest(settings, engine)

    assert report.retry_after_s == 86400 and report.error and "deferred" in report.error
    paths = [r.path for r in http_server.requests]
    assert paths.count("/a0.html") == 1 and "/a2.html" not in paths  # no retry; the host is left alone after
    with session_scope(engine) as session:
        row = session.exec(select(Source).where(Source.name == "feed")).one()
    assert row.next_try_at is not None and row.next_try_at >= before + timedelta(seconds=86400)


def test_an_unchanged_listing_is_read_with_a_conditional_get(engine, tmp_path, http_server):
    def feed(req: Request) -> Reply:
        if req.headers.get("If-None-Match") == '"v1"':
            return Reply(304, b"", {"ETag": '"v1"'})
        body = _rss(http_server.base_url, ["/a.html"]).encode()
        return Reply(200, body, {"ETag": '"v1"', "Content-Type": "application/rss+xml"})

    http_server.routes["/feed.xml"] = feed
    http_server.add("/a.html", ARTICLE.format(t="徐工新一代起重机下线"))
    settings = _settings(tmp_path, _source("feed", http_server.url("/feed.xml")))

    (first,) = run_ingest(settings, engine)
    (second,) = run_ingest(settings, engine)

    assert first.new == 1 and not first.not_modified
    assert second.not_modified and second.error is None
    with session_scope(engine) as session:
        row = session.exec(select(Source).where(Source.name == "feed")).one()
    assert row.flagged is None and row.last_items == 1  # a 304 is not "the listing had no links"


def test_a_pass_that_leaves_a_backlog_reads_the_listing_in_full_next_time(engine, tmp_path, http_server):
    paths = [f"/a{i}.html" for i in range(4)]

    def feed(req: Request) -> Reply:
        if req.headers.get("If-None-Match") == '"v1"':
            return Reply(304, b"", {"ETag": '"v1"'})
        return Reply(200, _rss(http_server.base_url, paths).encode(), {"ETag": '"v1"'})

    http_server.routes["/feed.xml"] = feed
    for i, path in enumerate(paths):
        http_server.add(path, article_page(i))
    settings = _settings(tmp_path, _source("feed", http_server.url("/feed.xml")) + "max_items = 2\n")

    (first,) = run_ingest(settings, engine)
    with session_scope(engine) as session:
        assert session.get(HttpCache, http_server.url("/feed.xml")) is None  # validators dropped
    (second,) = run_ingest(settings, engine)

    assert first.fetched == 2 and second.fetched == 2 and not second.not_modified
    assert len(stored_urls(engine)) == 4


@pytest.mark.parametrize("links", [20_000])
def test_a_listing_with_a_flood_of_links_is_bounded(sqlite_engine, tmp_path, http_server, links):
    from ingest.sources.base import MAX_LINKS_PER_LISTING

    items = "".join(f'<li><a href="/x/{i}.html">新闻{i}</a></li>' for i in range(links))
    http_server.add("/list/index.html", f"<html><body><ul class='list'>{items}</ul></body></html>")
    entry = (
        f'[[sources]]\nname = "col"\nkind = "listpage"\nurl = "{http_server.url("/list/index.html")}"\n'
        'allowed_hosts = ["127.0.0.1"]\nrobots = false\nmax_items = 1\nmax_backlog_pages = 1\n'
        '[sources.options]\nitem = "ul.list li"\n'
    )
    http_server.add("/x/0.html", article_page(0))
    settings = _settings(tmp_path, entry)

    (report,) = run_ingest(settings, sqlite_engine)

    assert report.listed == MAX_LINKS_PER_LISTING


def test_text_in_a_human_language_passes_and_byte_noise_does_not():
    from ingest.textcheck import not_text_reason

    rng = random.Random(3)
    assert not_text_reason(article_page(5)) is None
    assert (
        not_text_reason(
            "徐州經濟技術開發區舉行集成電路產業項目簽約活動，總投資45億元的先進封裝測試項目正式落戶。" * 3
        )
        is None
    )
    assert (
        not_text_reason("The county government said a new industrial park will open near the station. " * 3)
        is None
    )
    assert not_text_reason(rng.randbytes(5000).decode("gb18030", errors="replace")).startswith("not text")
    assert not_text_reason("R" * 5000) == "not text: 100% of it is the character 'R'"
    rare = "".join(
        c
        for c in bytes(
            b for _ in range(3000) for b in (rng.randint(0x81, 0xA0), rng.randint(0x40, 0x7E))
        ).decode("gb18030", errors="ignore")
    )
    assert "common Chinese characters" in (not_text_reason(rare) or "")


def test_source_jobs_sharing_a_fetcher_share_its_per_host_limit(engine, tmp_path, http_server):
    import threading

    from ingest.fetch import Fetcher

    for n in (1, 2):
        http_server.add(
            f"/feed{n}.xml", _rss(http_server.base_url, [f"/p{n}.html"]), content_type="application/rss+xml"
        )
    # Two requests in flight at once meet at the barrier; with one slot per host the second never arrives
    # while the first is inside, so the first gives up waiting and goes on alone.
    barrier = threading.Barrier(2, timeout=2)
    in_flight: list[int] = [0]
    most: list[int] = []

    def page(req: Request) -> Reply:
        in_flight[0] += 1
        most.append(in_flight[0])
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        in_flight[0] -= 1
        return Reply(
            200, article_page(int(req.path[2])).encode(), {"Content-Type": "text/html; charset=utf-8"}
        )

    for n in (1, 2):
        http_server.routes[f"/p{n}.html"] = page
    settings = _settings(
        tmp_path,
        _source("one", http_server.url("/feed1.xml")) + _source("two", http_server.url("/feed2.xml")),
    )
    settings.fetch.per_host_concurrency = 1
    with Fetcher(settings.fetch, engine=engine) as shared:  # the daemon's: one per process
        threads = [
            threading.Thread(target=run_ingest, args=(settings, engine, [name]), kwargs={"fetcher": shared})
            for name in ("one", "two")
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(most) == 2 and max(most) == 1
    assert len(stored_urls(engine)) == 2


def test_the_next_articles_are_fetched_while_one_is_processed(sqlite_engine, tmp_path, http_server):
    import threading

    paths = ["/a0.html", "/a1.html", "/a2.html"]
    http_server.add("/feed.xml", _rss(http_server.base_url, paths), content_type="application/rss+xml")
    # /a0.html is answered only once /a1.html has been asked for too: a pass that fetches one page at a time
    # breaks the barrier instead.
    barrier = threading.Barrier(2, timeout=5)
    met: list[bool] = []

    def together(req: Request) -> Reply:
        try:
            barrier.wait()
            met.append(True)
        except threading.BrokenBarrierError:
            met.append(False)
        n = int(req.path[2])
        return Reply(200, article_page(n).encode(), {"Content-Type": "text/html; charset=utf-8"})

    http_server.routes["/a0.html"] = http_server.routes["/a1.html"] = together
    http_server.add("/a2.html", article_page(2))
    settings = _settings(tmp_path, _source("feed", http_server.url("/feed.xml")))

    (report,) = run_ingest(settings, sqlite_engine)

    assert met == [True, True] and report.new == 3
    assert [u.rsplit("/", 1)[1] for u in stored_urls(sqlite_engine)] == ["a0.html", "a1.html", "a2.html"]
