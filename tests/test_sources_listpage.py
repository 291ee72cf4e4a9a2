from __future__ import annotations

from datetime import datetime

import pytest

from core.tz import SHANGHAI
from ingest.fetch.http import FetchError
from ingest.sources import list_articles
from tests.sources_helpers import source, test_fetcher

NEWS_OPTIONS = {"item": "ul.news-list li", "date": "span.date", "page_url": "index_{n}.html"}


def test_it_reads_items_across_pages(http_server):
    src = source(http_server, "listpage", "/listpage/news/index.html", max_pages=3, options=NEWS_OPTIONS)
    with test_fetcher() as fetcher:
        refs = list_articles(src, fetcher)
    base = http_server.base_url + "/listpage/news/202405/"
    assert [r.url for r in refs] == [base + "t20240513_0002.html", base + "t20240512_0001.html",
                                     base + "t20240510_0000.html"]  # fmt: skip
    assert (
        refs[0].title == "徐州市召开数字经济发展大会，推动产业数字化转型"
    )  # the title attribute, not the truncated text
    assert refs[1].published_at == datetime(2024, 5, 12, tzinfo=SHANGHAI)
    assert refs[2].published_at == datetime(2024, 5, 10, tzinfo=SHANGHAI)
    # page 3 (index_2.html) does not exist: the listing stops there without failing
    assert [r.path for r in http_server.requests][-1] == "/listpage/news/index_2.html"


def test_it_skips_script_links_and_foreign_hosts(http_server):
    src = source(http_server, "listpage", "/listpage/news/index.html", options=NEWS_OPTIONS)
    with test_fetcher() as fetcher:
        refs = list_articles(src, fetcher)
    assert all(r.url.startswith(http_server.base_url) for r in refs)
    assert len(refs) == 2


def test_it_decodes_a_gbk_list_page(http_server):
    src = source(http_server, "listpage", "/listpage/gbk/index.html", options={"item": "table.list tr"})
    with test_fetcher() as fetcher:
        refs = list_articles(src, fetcher)
    assert refs[0].title == "邳州市银杏产业园项目开工 镕铸新动能"
    assert refs[1].title == "新沂市纺织服装产业集群加快转型"
    assert refs[1].published_at == datetime(2024, 5, 11, tzinfo=SHANGHAI)


def test_a_dead_listing_raises(http_server):
    src = source(http_server, "listpage", "/listpage/nowhere/index.html", options=NEWS_OPTIONS)
    with test_fetcher() as fetcher, pytest.raises(FetchError):
        list_articles(src, fetcher)


def test_list_dates_come_in_many_spellings():
    from ingest.sources.base import parse_date

    today = datetime(2024, 5, 13, 12, 0, tzinfo=SHANGHAI)
    assert parse_date("2024年5月12日 10时30分") == datetime(2024, 5, 12, 10, 30, tzinfo=SHANGHAI)
    assert parse_date("[2024.05.12]") == datetime(2024, 5, 12, tzinfo=SHANGHAI)
    assert parse_date("发布于20240512") == datetime(2024, 5, 12, tzinfo=SHANGHAI)
    assert parse_date("1-4月全市工业产值") is None  # a bare month-day only where a date is expected
    assert parse_date("[05-12]", month_day=True, today=today) == datetime(2024, 5, 12, tzinfo=SHANGHAI)
    assert parse_date("12-30", month_day=True, today=today) == datetime(2023, 12, 30, tzinfo=SHANGHAI)
    assert parse_date("2024-02-30") is None
