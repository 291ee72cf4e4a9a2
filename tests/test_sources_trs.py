from __future__ import annotations

from datetime import datetime

from core.tz import SHANGHAI
from ingest.sources import list_articles
from ingest.sources.trs import parse_pager
from tests.sources_helpers import source, test_fetcher


def test_it_reads_the_pages_createpagehtml_announces(http_server):
    src = source(http_server, "trs", "/trs/xz/index.shtml", max_pages=10)
    with test_fetcher() as fetcher:
        refs = list_articles(src, fetcher)
    names = [r.url.rsplit("/", 1)[1] for r in refs]
    assert names == ["t20240513_s5f2e9a0c1b2d3e4f5a6b7c8d.shtml", "t20240512_3361201.shtml",
                     "t20240510_3360877.shtml", "t20240508_3360500.shtml"]  # fmt: skip
    assert refs[0].published_at == datetime(2024, 5, 13, 18, 2, tzinfo=SHANGHAI)
    assert refs[0].title == "徐州：“343”创新产业集群建设提速"
    paths = [r.path for r in http_server.requests]
    assert paths == ["/trs/xz/index.shtml", "/trs/xz/index_1.shtml", "/trs/xz/index_2.shtml"]  # count = 3


def test_max_pages_bounds_the_pages_read(http_server):
    with test_fetcher() as fetcher:
        refs = list_articles(source(http_server, "trs", "/trs/xz/index.shtml", max_pages=2), fetcher)
    assert len(refs) == 3
    assert "/trs/xz/index_2.shtml" not in [r.path for r in http_server.requests]


def test_an_item_selector_replaces_the_url_pattern(http_server):
    src = source(http_server, "trs", "/trs/xz/index.shtml", options={"item": ".list_box li"})
    with test_fetcher() as fetcher:
        refs = list_articles(src, fetcher)
    assert len(refs) == 3  # the 专题 link is an item here
    assert refs[-1].published_at is None


def test_the_pager_call_is_parsed():
    assert parse_pager('createPageHTML(12, 0,"index", "shtml");') == (12, "index", "shtml")
    assert parse_pager("no pager") is None
