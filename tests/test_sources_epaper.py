from __future__ import annotations

from datetime import datetime

import pytest

from core.tz import SHANGHAI
from ingest.fetch.http import FetchError
from ingest.sources import list_articles
from ingest.sources.config import SourceConfig
from ingest.sources.epaper import issue_url
from tests.sources_helpers import source, test_fetcher

LAYOUT = "/epaper/xzrb/pc/layout/{date:%Y%m/%d}/node_1.html"
ISSUE_DAY = datetime(2024, 5, 12, 7, 0, tzinfo=SHANGHAI)


def test_it_fills_the_date_template():
    src = SourceConfig(name="paper", kind="epaper", url="http://szb.example.cn" + LAYOUT)
    assert issue_url(src, ISSUE_DAY) == "http://szb.example.cn/epaper/xzrb/pc/layout/202405/12/node_1.html"


def test_it_walks_the_days_pages_and_collects_their_articles(http_server):
    src = source(http_server, "epaper", LAYOUT, max_pages=12)
    with test_fetcher() as fetcher:
        refs = list_articles(src, fetcher, now=ISSUE_DAY)
    assert [r.url.rsplit("/", 1)[1] for r in refs] == ["content_1.html", "content_2.html", "content_3.html"]
    assert refs[0].title == "徐州工程机械产业集群入选国家先进制造业集群"  # the image-map link gave no title
    assert refs[0].url == http_server.url("/epaper/xzrb/pc/con/202405/12/content_1.html")
    assert refs[2].title == "新材料企业加快技术改造"  # the pad/ copy collapsed into the pc/ link
    assert all(r.published_at == datetime(2024, 5, 12, tzinfo=SHANGHAI) for r in refs)
    assert refs[0].extra["page"].startswith("第01版")
    nodes = [r.path for r in http_server.requests if "node_" in r.path]
    assert len(nodes) == 2


def test_max_pages_limits_the_newspaper_pages(http_server):
    with test_fetcher() as fetcher:
        refs = list_articles(source(http_server, "epaper", LAYOUT, max_pages=1), fetcher, now=ISSUE_DAY)
    assert len(refs) == 2


def test_before_the_issue_is_up_it_reads_yesterdays(http_server):
    src = source(http_server, "epaper", LAYOUT, max_pages=12)
    with test_fetcher() as fetcher:
        refs = list_articles(src, fetcher, now=datetime(2024, 5, 13, 0, 30, tzinfo=SHANGHAI))
    assert len(refs) == 3
    assert "/epaper/xzrb/pc/layout/202405/13/node_1.html" in [r.path for r in http_server.requests]


def test_no_issue_at_all_raises(http_server):
    with test_fetcher() as fetcher, pytest.raises(FetchError):
        list_articles(
            source(http_server, "epaper", LAYOUT), fetcher, now=datetime(2024, 6, 1, tzinfo=SHANGHAI)
        )
