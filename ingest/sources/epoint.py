"""Epoint 新点 WebBuilder (EWB) sites: static news columns and the 政务公开 JSON list.

options:
  mode       = "column"    # "column": a static subPage.html/list.html; "govinfo": POST getgovinfolist
  # column mode
  item       = ".module-items a[title]"   # the links; default: that, else table.ewb-trade-tb rows (trading centres)
  page_url   = "{n}.html"  # later static pages, relative to url (unverified on live sites: leave unset)
  first_page = 2
  # govinfo mode
  categorynum = "003006"   # required: the 政务公开 category, 3 digits per level
  siteGuid   = "…"         # per site; read from /js/webBuilderCommon.js when absent
  project    = "EWB-FRONT" # the REST front end's path (projectName); read from webBuilderCommon.js when absent
  deptcode   = ""
  page_size  = 20
  site_root  = "http://www.xz.gov.cn/"   # where the front end and js/ live (default: the url's origin)
  wrap_params = false      # some deployments want {"token": "", "params": {...}}
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from ingest.extract import date_from_url
from ingest.fetch import Fetcher, FetchError, PermanentFetchError
from ingest.sources.base import (
    ArticleRef,
    fetch_text,
    parse_date,
    parse_html,
    refs_from_anchors,
    select,
)
from ingest.sources.config import SourceConfig

log = logging.getLogger(__name__)

GOVINFO_PATH = "rest/lightfrontaction/getgovinfolist"
DEFAULT_PROJECT = "EWB-FRONT"
# Column templates, best first: the news module's items, then the trading centres' table rows.
COLUMN_ITEMS = (".module-items a[title]", "table.ewb-trade-tb tr.ewb-trade-tr a[title]")
_SITE_GUID_RE = re.compile(r"""siteGuid["']?\s*[:=]\s*["']([0-9A-Za-z\-]{8,64})["']""")
_PROJECT_RE = re.compile(r"""projectName["']?\s*[:=]\s*["']/?([\w\-./]{1,80}?)/?["']""")
# Reply shapes seen across EWB versions: rows and total under these keys, in custom or at the top level.
_ROW_KEYS = ("data", "infodata", "Table")
_TOTAL_KEYS = ("total", "count", "RowCount")


def list_epoint(source: SourceConfig, fetcher: Fetcher, *, now: datetime | None = None) -> list[ArticleRef]:
    if source.options.get("mode", "column") == "govinfo":
        return list_govinfo(source, fetcher)
    return list_column(source, fetcher)


def list_column(source: SourceConfig, fetcher: Fetcher) -> list[ArticleRef]:
    selectors = (source.options["item"],) if source.options.get("item") else COLUMN_ITEMS
    urls = [source.url]
    if source.options.get("page_url"):
        first = int(source.options.get("first_page", 2))
        urls += [
            urljoin(source.url, source.options["page_url"].format(n=first + i))
            for i in range(source.max_pages - 1)
        ]
    refs: list[ArticleRef] = []
    for index, url in enumerate(urls):
        try:
            text, response = fetch_text(fetcher, url, source, referer=source.url)
        except FetchError:
            if index == 0:
                raise
            break
        root = parse_html(text, response.url)
        anchors = next((found for sel in selectors if (found := select(root, sel))), [])
        if not anchors:
            break
        # The list's own date sits in the item's row (trade tables) or next to the link; else the URL's date.
        refs.extend(refs_from_anchors(anchors, response.url, context=_item_of))
    return refs


def _item_of(anchor: Any) -> Any:
    """The list item that holds a link: its table row or <li>, else its parent."""
    for ancestor in anchor.iterancestors("tr", "li"):
        return ancestor
    return anchor.getparent()


def site_root(source: SourceConfig) -> str:
    if source.options.get("site_root"):
        return str(source.options["site_root"])
    parts = urlsplit(source.url)
    return f"{parts.scheme}://{parts.netloc}/"


def discover_settings(source: SourceConfig, fetcher: Fetcher) -> tuple[str, str]:
    """(siteGuid, projectName) from the site's /js/webBuilderCommon.js."""
    js_url = urljoin(site_root(source), "js/webBuilderCommon.js")
    response = fetcher.get(js_url, source=source, referer=source.url)
    script = response.content.decode("utf-8", errors="replace")
    guid = _SITE_GUID_RE.search(script)
    if not guid:
        raise PermanentFetchError(js_url, "no siteGuid in webBuilderCommon.js: set options.siteGuid")
    project = _PROJECT_RE.search(script)
    return guid.group(1), project.group(1) if project else DEFAULT_PROJECT


def list_govinfo(source: SourceConfig, fetcher: Fetcher) -> list[ArticleRef]:
    opts = source.options
    if opts.get("siteGuid"):
        guid, project = str(opts["siteGuid"]), str(opts.get("project") or DEFAULT_PROJECT)
    else:
        guid, project = discover_settings(source, fetcher)
        project = str(opts.get("project") or project)
    api = urljoin(site_root(source), f"{project.strip('/')}/{GOVINFO_PATH}")
    size = int(opts.get("page_size", 20))
    refs: list[ArticleRef] = []
    for page in range(source.max_pages):
        params = {"deptcode": opts.get("deptcode", ""), "categorynum": opts["categorynum"], "pageIndex": page,
                  "pageSize": size, "siteGuid": guid}  # fmt: skip
        body = {"token": "", "params": params} if opts.get("wrap_params") else params
        try:
            response = fetcher.post(api, json=body, source=source, referer=source.url)
        except FetchError:
            if page == 0:
                raise
            break
        data, total = parse_govinfo(response.content, site_root(source))
        refs.extend(data)
        if not data or (total is not None and (page + 1) * size >= total):
            break
    return refs


def parse_govinfo(content: bytes, base_url: str) -> tuple[list[ArticleRef], int | None]:
    """(refs, total) from a getgovinfolist reply: rows under custom.data / custom.infodata / Table, the total
    under custom.total / custom.count / RowCount; each row's title, infourl and infodate."""
    try:
        reply = json.loads(content.decode("utf-8-sig"))
        custom: Any = reply.get("custom", {}) if isinstance(reply, dict) else {}
        if isinstance(custom, str):  # some versions double-encode the payload
            custom = json.loads(custom) if custom.strip() else {}
        holders = [h for h in (custom, reply) if isinstance(h, dict)]
        rows = next((h[k] for h in holders for k in _ROW_KEYS if isinstance(h.get(k), list)), None)
        total = next((h[k] for h in holders for k in _TOTAL_KEYS if h.get(k) is not None), None)
    except (ValueError, AttributeError) as exc:
        raise PermanentFetchError(base_url, f"unexpected getgovinfolist reply: {exc}") from None
    if rows is None:
        keys = ", ".join(sorted({k for h in holders for k in h})) or "none"
        raise PermanentFetchError(base_url, f"getgovinfolist reply has no rows (keys: {keys})")
    refs = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        link = row.get("infourl") or row.get("href") or row.get("url")
        if not link:
            continue
        url = urljoin(base_url, str(link).strip())
        extra = {"category": row["categoryname"]} if row.get("categoryname") else {}
        date = parse_date(str(row.get("infodate") or row.get("date") or "")) or date_from_url(url)
        title = str(row.get("title") or row.get("infotitle") or "").strip() or None
        refs.append(ArticleRef(url=url, title=title, published_at=date, extra=extra))
    return refs, int(total) if str(total or "").isdigit() else None
