"""Founder-style digital newspapers (徐州日报 xzrb, 都市晨报 dscb on szb.cnxz.com.cn).

`url` is the day's first page node with a date template, e.g.
  http://szb.cnxz.com.cn/xzrb/pc/layout/{date:%Y%m/%d}/node_1.html   (or …/html/{date:%Y-%m/%d}/node_1.htm)
Article links come from the page's image map (<area href="content_N.htm?div=0">) and its title list
(?div=-1); both name one article, which keeps the list's title.  `xznews sources check --date` reads a past issue.
The node page links the day's other page nodes (node_2.html, …) and its articles (…/pc/con/YYYYMM/DD/content_N.html).
`max_pages` bounds the newspaper pages read per run (a daily has 8–16).

options:
  fallback_days = 1   # if today's issue is not up yet (404 before dawn), read the previous day's
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from core.tz import SHANGHAI
from ingest.fetch import Fetcher, FetchError
from ingest.sources.base import ArticleRef, element_text, fetch_text, parse_html, resolve_link
from ingest.sources.config import SourceConfig

log = logging.getLogger(__name__)

_CONTENT_RE = re.compile(r"content_\d+\.html?$")
_NODE_RE = re.compile(r"node_\d+\.html?$")


def issue_url(source: SourceConfig, day: datetime) -> str:
    """The source URL with its {date:…} template filled for `day`."""
    return source.url.format(date=day)


def list_epaper(source: SourceConfig, fetcher: Fetcher, *, now: datetime | None = None) -> list[ArticleRef]:
    today = (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI)
    fallback = int(source.options.get("fallback_days", 1))
    last_error: FetchError | None = None
    for back in range(fallback + 1):
        day = today - timedelta(days=back)
        try:
            return _list_issue(source, fetcher, issue_url(source, day), day)
        except FetchError as exc:
            if exc.status != 404:
                raise
            log.info("no issue yet source=%s day=%s", source.name, day.date())
            last_error = exc
    assert last_error is not None
    raise last_error


def _list_issue(source: SourceConfig, fetcher: Fetcher, first_node: str, day: datetime) -> list[ArticleRef]:
    day_start = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
    queue = [first_node]
    visited: set[str] = set()
    refs: dict[str, ArticleRef] = {}
    while queue and len(visited) < source.max_pages:
        node = queue.pop(0)
        if node in visited:
            continue
        visited.add(node)
        try:
            text, response = fetch_text(fetcher, node, source, referer=first_node)
        except FetchError:
            if node == first_node:
                raise
            continue
        root = parse_html(text, response.url)
        page_name = _page_name(root)
        for anchor in root.iter("a", "area"):
            url = resolve_link(response.url, anchor.get("href"))
            if not url:
                continue
            path = url.split("?", 1)[0]
            if _NODE_RE.search(path) and url not in visited and url not in queue:
                queue.append(url)
            elif _CONTENT_RE.search(path):
                url = article_url(url)
                title = element_text(anchor) or (anchor.get("title") or "").strip() or None
                known = refs.get(url)
                if known is None:
                    extra = {"page": page_name} if page_name else {}
                    refs[url] = ArticleRef(url=url, title=title, published_at=day_start, extra=extra)
                elif not known.title and title:  # image-map <area> links come first and carry no text
                    known.title = title
    return list(refs.values())


def article_url(url: str) -> str:
    """One URL per article: the image map (?div=0) and the title list (?div=-1) link the same page."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() != "div"]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _page_name(root: object) -> str | None:
    # "第01版：要闻" in the page header; its exact markup differs between papers.
    match = re.search(r"第\s*\d+\s*版\s*[:：]?\s*\S*", element_text(root))
    return match.group(0) if match else None
