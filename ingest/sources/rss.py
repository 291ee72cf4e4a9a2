"""RSS 2.0, RSS 1.0 (RDF) and Atom feeds, parsed with lxml (entities and network access off)."""

from __future__ import annotations

import email.utils
import logging
from datetime import datetime
from typing import Any

from lxml import etree

from core.tz import SHANGHAI
from ingest.fetch import Fetcher, PermanentFetchError
from ingest.sources.base import ArticleRef, parse_date, resolve_link
from ingest.sources.config import SourceConfig

log = logging.getLogger(__name__)

# A feed is data from a stranger: no DTDs, no entity expansion, no network, recover from small breakage.
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, recover=True, huge_tree=False
)


def list_feed(source: SourceConfig, fetcher: Fetcher, *, now: datetime | None = None) -> list[ArticleRef]:
    response = fetcher.get(source.url, source=source)
    return parse_feed(response.content, response.url)


def parse_feed(data: bytes, base_url: str) -> list[ArticleRef]:
    """The items of an RSS or Atom document; raises PermanentFetchError if it is not a feed."""
    try:
        root = etree.fromstring(data.strip(), _PARSER) if data.strip() else None
    except etree.XMLSyntaxError:
        root = None
    if root is None or not isinstance(root.tag, str):
        raise PermanentFetchError(base_url, "not an RSS or Atom feed")
    kind = _local(root.tag)
    if kind == "feed":
        entries = [e for e in root if _local(e.tag) == "entry"]
        return [ref for e in entries if (ref := _atom_entry(e, base_url))]
    if kind in ("rss", "RDF"):
        items = [e for e in root.iter() if isinstance(e.tag, str) and _local(e.tag) == "item"]
        return [ref for e in items if (ref := _rss_item(e, base_url))]
    raise PermanentFetchError(base_url, f"not an RSS or Atom feed (root element <{kind}>)")


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child_text(element: Any, *names: str) -> str | None:
    for name in names:
        for child in element:
            if _local(child.tag) == name and (child.text or "").strip():
                return child.text.strip()
    return None


def _rss_item(item: Any, base_url: str) -> ArticleRef | None:
    link = _child_text(item, "link")
    if not link:
        for child in item:  # <guid isPermaLink="true"> (the default) is the article's URL
            if _local(child.tag) == "guid" and child.get("isPermaLink", "true") != "false" and child.text:
                link = child.text.strip()
    if not link and item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"):
        link = item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about")
    url = resolve_link(base_url, link)
    if not url:
        return None
    return ArticleRef(
        url=url,
        title=_child_text(item, "title"),
        published_at=_feed_date(_child_text(item, "pubDate", "date", "published", "updated")),
        extra={"summary": _child_text(item, "description")} if _child_text(item, "description") else {},
    )


def _atom_entry(entry: Any, base_url: str) -> ArticleRef | None:
    href = None
    for child in entry:
        if _local(child.tag) == "link" and child.get("rel", "alternate") == "alternate" and child.get("href"):
            href = child.get("href")
            break
    url = resolve_link(base_url, href)
    if not url:
        return None
    return ArticleRef(
        url=url,
        title=_child_text(entry, "title"),
        published_at=_feed_date(_child_text(entry, "published", "updated")),
    )


def _feed_date(text: str | None) -> datetime | None:
    """RFC 822 (RSS), ISO 8601 (Atom, dc:date) or a Chinese date; naive times are China time."""
    if not text:
        return None
    try:
        value = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        value = None
    if value is None:
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return parse_date(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value.astimezone(SHANGHAI)
