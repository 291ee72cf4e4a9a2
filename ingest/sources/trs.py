"""TRS-style static sites (jschina and many others): index.shtml, index_1.shtml, … with a createPageHTML pager.

options:
  item            = "ul.list li"    # optional: CSS selector for list items (default: every article-looking link)
  article_pattern = "…"             # regex for article links when no item selector is given; the default
                                    # takes both ./t20240514_123.shtml and ./t1234567.htm
The page count comes from `createPageHTML(count, current, "index", "shtml")` on the first page.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from urllib.parse import urljoin

from ingest.fetch import Fetcher, FetchError
from ingest.sources.base import ArticleRef, fetch_text, parse_html, refs_from_anchors, select
from ingest.sources.config import SourceConfig

log = logging.getLogger(__name__)

_PAGER_RE = re.compile(
    r"""createPageHTML\(\s*(\d+)\s*,\s*(\d+)\s*,\s*["']([\w\-]+)["']\s*,\s*["'](\w+)["']"""
)
# tYYYYMMDD_N.shtml (dated names) or tNNNNNNN.htm (a bare document id), as a file name of the column's folder.
DEFAULT_ARTICLE_RE = r"(?:^|/)t(?:20\d{6}_[^/]+|\d{5,12})\.s?html?$"


def list_trs(source: SourceConfig, fetcher: Fetcher, *, now: datetime | None = None) -> list[ArticleRef]:
    text, response = fetch_text(fetcher, source.url, source)
    refs = parse_list(text, response.url, source.options)
    pager = parse_pager(text)
    if pager is None:
        return refs
    count, prefix, ext = pager
    # index.shtml is page 0; index_1.shtml is the second page.
    for n in range(1, min(count, source.max_pages)):
        url = urljoin(response.url, f"{prefix}_{n}.{ext}")
        try:
            page_text, page_response = fetch_text(fetcher, url, source, referer=source.url)
        except FetchError as exc:
            log.info("trs page failed source=%s url=%s error=%s", source.name, url, exc)
            break
        refs.extend(parse_list(page_text, page_response.url, source.options))
    return refs


def parse_pager(text: str) -> tuple[int, str, str] | None:
    """(page count, file prefix, extension) from createPageHTML(count, current, prefix, ext)."""
    match = _PAGER_RE.search(text)
    if not match:
        return None
    return int(match.group(1)), match.group(3), match.group(4)


def parse_list(text: str, base_url: str, options: dict[str, str]) -> list[ArticleRef]:
    root = parse_html(text, base_url)
    if options.get("item"):
        anchors = [a for item in select(root, options["item"]) for a in (select(item, "a[href]")[:1] or [])]
        return refs_from_anchors(anchors, base_url)
    pattern = re.compile(options.get("article_pattern") or DEFAULT_ARTICLE_RE)
    anchors = [a for a in root.iter("a") if pattern.search((a.get("href") or "").split("?", 1)[0])]
    return refs_from_anchors(anchors, base_url)
