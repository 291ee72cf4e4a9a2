"""Parsers meet whatever a site sends: they return refs or a FetchError, never crash."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.fetch.http import FetchError
from ingest.sources.epoint import parse_govinfo
from ingest.sources.hanweb import discover_params, parse_records
from ingest.sources.listpage import parse_items
from ingest.sources.rss import parse_feed
from ingest.sources.trs import parse_list, parse_pager

_PIECES = st.sampled_from([
    "<record><![CDATA[", "]]></record>", "<a href='", "/art/2024/5/1/art_1_2.html", "'>", "</a>", "<li>", "</li>",
    "<span>2024-05-12</span>", "徐州", "<datastore>", "createPageHTML(3, 0, \"index\", \"shtml\")", "<rss>",
    "<item><link>", "</link></item>", "<!--", "-->", "&#0;", "\x00", "<script>", "javascript:x", "\ufffd",
    '{"custom": {"data": [', '{"infourl": 5}', "]}}", "t20240512_1.shtml", "ajaxParam: {columnid:1, unitid:'",
])  # fmt: skip
_DOCS = st.lists(st.one_of(_PIECES, st.text(max_size=20)), max_size=30).map("".join)
BASE = "http://site.example/list/index.html"


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(_DOCS)
def test_list_parsers_never_crash(doc):
    for refs in (parse_records(doc, BASE), parse_items(doc, BASE, {"item": "li"}), parse_list(doc, BASE, {})):
        assert all(r.url.startswith("http") for r in refs)
    parse_pager(doc)
    discover_params(doc)
    for parse in (lambda: parse_feed(doc.encode("utf-8", "surrogatepass"), BASE),
                  lambda: parse_govinfo(doc.encode("utf-8", "surrogatepass"), BASE)):  # fmt: skip
        with contextlib.suppress(FetchError):
            parse()
