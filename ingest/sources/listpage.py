"""Generic static list pages: CSS selectors for the items, their link, title and date, and a pagination pattern.

options:
  item      = "ul.list li"        # required: one element per article
  link      = "a"                 # inside the item (default "a")
  title     = "a"                 # inside the item; its title attribute or text (default: the link)
  date      = "span"              # inside the item (default: any date in the item's text, then the URL)
  page_url  = "index_{n}.html"    # page n (n = first_page, first_page+1, …), relative to url
  first_page = 1                  # the number of the second listing page (sites start at 1 or 2)
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from ingest.extract import date_from_url
from ingest.fetch import Fetcher, FetchError
from ingest.sources.base import (
    ArticleRef,
    element_text,
    fetch_text,
    link_title,
    parse_date,
    parse_html,
    resolve_link,
    select,
)
from ingest.sources.config import SourceConfig

log = logging.getLogger(__name__)


def list_page(source: SourceConfig, fetcher: Fetcher, *, now: datetime | None = None) -> list[ArticleRef]:
    refs: list[ArticleRef] = []
    for page, url in enumerate(page_urls(source)):
        try:
            text, response = fetch_text(fetcher, url, source, referer=source.url)
        except FetchError:
            if page == 0:
                raise  # the listing itself is dead
            log.info("stopping at missing page source=%s url=%s", source.name, url)
            break
        found = parse_items(text, response.url, source.options)
        if not found:
            break
        refs.extend(found)
    return refs


def page_urls(source: SourceConfig) -> list[str]:
    urls = [source.url]
    pattern = source.options.get("page_url")
    if pattern:
        first = int(source.options.get("first_page", 1))
        urls += [urljoin(source.url, pattern.format(n=first + i)) for i in range(source.max_pages - 1)]
    return urls


def parse_items(text: str, base_url: str, options: dict[str, Any]) -> list[ArticleRef]:
    root = parse_html(text, base_url)
    refs = []
    for item in select(root, options["item"]):
        anchors = select(item, options.get("link", "a")) if options.get("link", "a") != "self" else [item]
        if not anchors and item.tag == "a":
            anchors = [item]
        if not anchors:
            continue
        anchor = anchors[0]
        url = resolve_link(base_url, anchor.get("href"))
        if not url:
            continue
        title_el = select(item, options["title"]) if options.get("title") else [anchor]
        title = link_title(title_el[0]) if title_el else link_title(anchor)
        if options.get("date"):
            date_el = select(item, options["date"])
            date = parse_date(element_text(date_el[0]), month_day=True) if date_el else None
        else:
            date = parse_date(element_text(item))
        refs.append(ArticleRef(url=url, title=title, published_at=date or date_from_url(url)))
    return refs
