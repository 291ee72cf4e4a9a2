from __future__ import annotations

from datetime import datetime

import pytest

from core.tz import SHANGHAI
from ingest.fetch.http import PermanentFetchError
from ingest.sources import list_articles
from ingest.sources.rss import parse_feed
from tests.sources_helpers import source, test_fetcher


def test_it_lists_an_rss_feed_newest_first_with_canonical_urls(http_server):
    with test_fetcher() as fetcher:
        refs = list_articles(source(http_server, "rss", "/feeds/rss2.xml"), fetcher)
    base = http_server.base_url
    assert [r.url for r in refs] == [
        f"{base}/news/2024/05/13/1002.html",
        f"{base}/news/2024/05/12/1001.html",  # utm_* dropped
        f"{base}/news/2024/05/11/1000.html",  # fragment dropped
    ]
    assert refs[0].published_at == datetime(2024, 5, 13, 10, 0, tzinfo=SHANGHAI)
    assert refs[1].title == "徐工集团新一代大吨位起重机下线"
    assert refs[1].extra["summary"] == "徐州工程机械集群再添新品。"
    assert refs[2].published_at == datetime(2024, 5, 11, 8, 0, tzinfo=SHANGHAI)


def test_it_lists_an_atom_feed_using_the_alternate_link(http_server):
    with test_fetcher() as fetcher:
        refs = list_articles(source(http_server, "rss", "/feeds/atom.xml"), fetcher)
    assert [r.url.rsplit("/", 1)[1] for r in refs] == ["a2.html", "a1.html"]
    assert refs[0].published_at == datetime(2024, 5, 13, 9, 0, tzinfo=SHANGHAI)
    assert refs[1].published_at == datetime(2024, 5, 12, 9, 0, tzinfo=SHANGHAI)


def test_title_filter_and_max_items_apply_to_feeds(http_server):
    with test_fetcher() as fetcher:
        refs = list_articles(
            source(http_server, "rss", "/feeds/rss2.xml", title_filter="徐工|集成电路"), fetcher
        )
        assert [r.title for r in refs] == ["徐工集团新一代大吨位起重机下线", "市集成电路产业推进会召开"]
        refs = list_articles(source(http_server, "rss", "/feeds/rss2.xml", max_items=1), fetcher)
        assert len(refs) == 1


def test_it_does_not_expand_entities_in_hostile_feeds():
    hostile = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY a "aaaaaaaaaa">]>
<rss><channel><item><title>&xxe;&a;</title><link>http://x.example/1</link></item></channel></rss>"""
    refs = parse_feed(hostile, "http://x.example/feed")
    assert refs[0].url == "http://x.example/1"
    assert "root:" not in (refs[0].title or "")


def test_a_page_that_is_not_a_feed_is_a_permanent_error():
    with pytest.raises(PermanentFetchError, match="not an RSS or Atom feed"):
        parse_feed(b"<html><body>hi</body></html>", "http://x.example/")
    with pytest.raises(PermanentFetchError):
        parse_feed(b"", "http://x.example/")
