"""What every adapter returns (ArticleRef), the dispatcher, and the helpers the adapters share."""

from __future__ import annotations

import functools
import importlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import lxml.html
from lxml import etree
from lxml.cssselect import CSSSelector

from core.tz import SHANGHAI
from ingest.extract import date_from_url, decode_html
from ingest.fetch import absolute_url, canonical_url, host_allowed, host_of
from ingest.sources.config import SourceConfig

if TYPE_CHECKING:
    from ingest.fetch import Fetcher, Response

log = logging.getLogger(__name__)


@dataclass
class ArticleRef:
    url: str  # absolute, canonical (urls.canonical_url)
    title: str | None = None
    published_at: datetime | None = None  # the list page's date, aware Asia/Shanghai
    extra: dict[str, Any] = field(default_factory=dict)


# Links read from one listing at most: a page of 100,000 links is an attack or a sitemap, not a column.
MAX_LINKS_PER_LISTING = 2000

Seen = Callable[[list[str]], set[str]]  # canonical URLs → the ones already stored


@dataclass
class Listing:
    refs: list[ArticleRef]  # unseen (when a `seen` check was given), newest first, at most max_items
    listed: int = 0  # distinct links on the listing, before dropping seen ones
    more: bool = False  # unseen links were cut by max_items: a backlog remains
    not_modified: bool = False  # the first listing page answered 304: nothing changed since it was read


class _Unchanged(Exception):
    """Internal: the first listing page was not modified."""


class _ConditionalFirstPage:
    """The fetcher, except that the source's own listing URL is fetched conditionally (ETag/Last-Modified)."""

    def __init__(self, fetcher: Fetcher, url: str) -> None:
        self._fetcher, self._url = fetcher, url

    def get(self, url: str, **kw: Any) -> Response:
        if url != self._url:
            return self._fetcher.get(url, **kw)
        response = self._fetcher.get(url, conditional=True, **kw)
        if response.not_modified:
            raise _Unchanged
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fetcher, name)


def list_articles(source: SourceConfig, fetcher: Fetcher, *, now: datetime | None = None) -> list[ArticleRef]:
    """The article links a source lists now: canonical, inside its allowed hosts, matching its title filter,
    de-duplicated, newest first, at most `max_items`. Raises FetchError when the listing itself is dead."""
    return read_listing(source, fetcher, now=now).refs


def read_listing(
    source: SourceConfig,
    fetcher: Fetcher,
    *,
    seen: Seen | None = None,
    conditional: bool = False,
    now: datetime | None = None,
) -> Listing:
    """Like list_articles, but seen URLs are dropped *before* the cut to `max_items`, so a backlog is caught up
    over the next passes; while even the oldest link read is unseen, the listing is read deeper (up to
    `max_backlog_pages` pages), since a source that was down or backed off has more news than one page holds.
    With `conditional`, an unchanged first page (HTTP 304) ends the listing at once."""
    adapter = _adapter(source.kind)
    pages = source.max_pages
    reader: Any = _ConditionalFirstPage(fetcher, source.url) if conditional else fetcher
    previous = -1
    while True:
        try:
            raw = adapter(replace(source, max_pages=pages), reader, now=now)[:MAX_LINKS_PER_LISTING]
        except _Unchanged:
            return Listing([], not_modified=True)
        reader = fetcher  # deeper reads must see the first page again, not a 304
        refs = finish_refs(source, raw, cut=False)  # newest first
        known = seen([r.url for r in refs]) if seen is not None and refs else set()
        unseen = [r for r in refs if r.url not in known]
        deeper = (
            seen is not None
            and _pages(source)
            and bool(refs)
            and refs[-1].url not in known  # even the oldest link read is news: there may be more below
            and len(unseen) < source.max_items
            and len(refs) > previous  # the adapter pages at all (a feed gives the same items again)
            and pages < max(source.max_pages, source.max_backlog_pages)
        )
        if not deeper:
            return Listing(unseen[: source.max_items], len(refs), len(unseen) > source.max_items)
        log.info("listing deeper source=%s pages=%d unseen=%d", source.name, pages * 2, len(unseen))
        previous = len(refs)
        pages = min(pages * 2, max(source.max_pages, source.max_backlog_pages))


def _pages(source: SourceConfig) -> bool:
    """Whether more listing pages exist to read for this source (a feed is one document)."""
    return source.kind in ("hanweb", "epoint", "trs") or (
        source.kind == "listpage" and bool(source.options.get("page_url"))
    )


def _aliases(source: SourceConfig) -> dict[str, str] | None:
    return source.options.get("host_aliases")


def finish_refs(source: SourceConfig, raw: list[ArticleRef], *, cut: bool = True) -> list[ArticleRef]:
    pattern = source.title_pattern
    aliases = _aliases(source)
    seen: set[str] = set()
    refs: list[ArticleRef] = []
    for ref in raw:
        url = canonical_url(ref.url, aliases)
        if url in seen:
            continue
        if not host_allowed(host_of(url), source.allowed_hosts):
            log.debug("skipping off-site link source=%s url=%s", source.name, url)
            continue
        if pattern and not (ref.title and pattern.search(ref.title)):
            continue
        seen.add(url)
        ref.url = url
        refs.append(ref)
    # Stable sort: list order breaks ties and undated items keep their place after the dated ones.
    refs.sort(key=lambda r: r.published_at.timestamp() if r.published_at else float("-inf"), reverse=True)
    return refs[: source.max_items] if cut else refs


_ADAPTERS = {
    "rss": "ingest.sources.rss:list_feed",
    "listpage": "ingest.sources.listpage:list_page",
    "hanweb": "ingest.sources.hanweb:list_column",
    "epoint": "ingest.sources.epoint:list_epoint",
    "trs": "ingest.sources.trs:list_trs",
    "epaper": "ingest.sources.epaper:list_epaper",
}


def _adapter(kind: str) -> Callable[..., list[ArticleRef]]:
    # Imported on use: the adapters import this module for ArticleRef and the helpers.
    module_name, function = _ADAPTERS[kind].split(":")
    return getattr(importlib.import_module(module_name), function)


# -- helpers --------------------------------------------------------------------------------------------------


def fetch_text(
    fetcher: Fetcher, url: str, source: SourceConfig, referer: str | None = None
) -> tuple[str, Response]:
    """GET a listing page and decode it (ingest.extract.charset: BOM → HTTP → meta → UTF-8 → GB18030)."""
    response = fetcher.get(url, source=source, referer=referer)
    text, _encoding = decode_html(response.content, response.charset)
    return text, response


_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def parse_html(text: str, base_url: str) -> lxml.html.HtmlElement:
    text = _CONTROL_RE.sub("", text)  # lxml refuses NUL and other C0 controls
    if not text.strip():
        text = "<html></html>"
    # lxml refuses str input that carries an XML encoding declaration.
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    try:
        return lxml.html.document_fromstring(text, base_url=base_url)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):  # nothing parseable: an empty page
        return lxml.html.document_fromstring("<html></html>", base_url=base_url)


def select(root: Any, selector: str) -> list[Any]:
    """The elements matching a CSS selector, at most MAX_LINKS_PER_LISTING: every adapter's loop is bounded."""
    return _compiled(selector)(root)[:MAX_LINKS_PER_LISTING]


@functools.lru_cache(maxsize=256)
def _compiled(selector: str) -> CSSSelector:
    return CSSSelector(selector)


def element_text(element: Any) -> str:
    return re.sub(r"\s+", " ", element.text_content() or "").strip()


def link_title(anchor: Any) -> str | None:
    """A link's title: the title attribute (lists truncate the visible text with …) or the text."""
    title = (anchor.get("title") or "").strip() or element_text(anchor)
    return title or None


def resolve_link(base: str, href: str | None) -> str | None:
    return absolute_url(base, href or "")


_DATE_RES = (
    # 2024-05-12 10:30[:00], 2024/5/12, 2024.05.12, 2024年5月12日 10时30分
    re.compile(
        r"(?P<y>(?:19|20)\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
        r"(?:\s*(?P<H>\d{1,2})\s*[:时]\s*(?P<M>\d{1,2})(?:\s*[:分]\s*(?P<S>\d{1,2}))?)?"
    ),
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)(?!\d)"),  # 20240512
)


_MONTH_DAY_RE = re.compile(r"(?<![\d-])(?P<m>[01]?\d)\s*[-/月]\s*(?P<d>[0-3]?\d)(?![\d-])")


def parse_date(
    text: str | None, *, month_day: bool = False, today: datetime | None = None
) -> datetime | None:
    """The first date (and time) in `text`, as an aware Asia/Shanghai datetime; None if there is none.

    With `month_day`, a bare "05-12" (common in list date cells) counts too, in the year that puts it
    no later than tomorrow. Only for text known to be a date: in a title "1-4月" is not a date.
    """
    if not text:
        return None
    if month_day and not any(regex.search(text) for regex in _DATE_RES):
        match = _MONTH_DAY_RE.search(text)
        if match:
            now = (today or datetime.now(SHANGHAI)).astimezone(SHANGHAI)
            try:
                value = datetime(now.year, int(match["m"]), int(match["d"]), tzinfo=SHANGHAI)
            except ValueError:
                return None
            if value - now > timedelta(days=1):
                value = value.replace(year=now.year - 1)
            return value
    for regex in _DATE_RES:
        for match in regex.finditer(text):
            parts = match.groupdict()
            try:
                return datetime(
                    int(parts["y"]), int(parts["m"]), int(parts["d"]),
                    int(parts.get("H") or 0), int(parts.get("M") or 0), int(parts.get("S") or 0),
                    tzinfo=SHANGHAI,
                )  # fmt: skip
            except ValueError:
                continue
    return None


def refs_from_anchors(
    anchors: list[Any], base_url: str, *, context: Callable[[Any], Any] | None = None
) -> list[ArticleRef]:
    """ArticleRefs from <a> elements; the date is looked for in the anchor's container, then in the URL."""
    refs = []
    for anchor in anchors:
        url = resolve_link(base_url, anchor.get("href"))
        if not url:
            continue
        holder = context(anchor) if context else anchor.getparent()
        holder_text = element_text(holder) if holder is not None else ""
        # Only a small container is the item's own: a big one holds the dates of other items too.
        date = parse_date(holder_text) if len(holder_text) <= 300 else None
        refs.append(ArticleRef(url=url, title=link_title(anchor), published_at=date or date_from_url(url)))
    return refs
