"""Epoint 新点 WebBuilder (EWB) sites: static news columns and the 政务公开 JSON list.

options:
  mode       = "column"    # "column": a static subPage.html/list.html; "govinfo": POST getgovinfolist
  # column mode
  item       = ".module-items a[title]"   # the links (the date is in the article URL: /YYYYMMDD/uuid.html)
  page_url   = "{n}.html"  # later static pages, relative to url (unverified on live sites: leave unset)
  first_page = 2
  # govinfo mode
  categorynum = "003006"   # required: the 政务公开 category, 3 digits per level
  siteGuid   = "…"         # per site; read from /js/webBuilderCommon.js when absent
  deptcode   = ""
  page_size  = 20
  site_root  = "http://www.xz.gov.cn/"   # where EWB-FRONT and js/ live (default: the url's origin)
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

GOVINFO_PATH = "EWB-FRONT/rest/lightfrontaction/getgovinfolist"
_SITE_GUID_RE = re.compile(r"""siteGuid["']?\s*[:=]\s*["']([0-9A-Za-z\-]{8,64})["']""")


def list_epoint(source: SourceConfig, fetcher: Fetcher, *, now: datetime | None = None) -> list[ArticleRef]:
    if source.options.get("mode", "column") == "govinfo":
        return list_govinfo(source, fetcher)
    return list_column(source, fetcher)


def list_column(source: SourceConfig, fetcher: Fetcher) -> list[ArticleRef]:
    selector = source.options.get("item", ".module-items a[title]")
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
        anchors = select(parse_html(text, response.url), selector)
        if not anchors:
            break
        # The list's own date sits next to the link in some templates; the URL's date is always there.
        refs.extend(refs_from_anchors(anchors, response.url))
    return refs


def site_root(source: SourceConfig) -> str:
    if source.options.get("site_root"):
        return str(source.options["site_root"])
    parts = urlsplit(source.url)
    return f"{parts.scheme}://{parts.netloc}/"


def discover_site_guid(source: SourceConfig, fetcher: Fetcher) -> str:
    js_url = urljoin(site_root(source), "js/webBuilderCommon.js")
    response = fetcher.get(js_url, source=source, referer=source.url)
    match = _SITE_GUID_RE.search(response.content.decode("utf-8", errors="replace"))
    if not match:
        raise PermanentFetchError(js_url, "no siteGuid in webBuilderCommon.js: set options.siteGuid")
    return match.group(1)


def list_govinfo(source: SourceConfig, fetcher: Fetcher) -> list[ArticleRef]:
    opts = source.options
    guid = opts.get("siteGuid") or discover_site_guid(source, fetcher)
    api = urljoin(site_root(source), GOVINFO_PATH)
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
    """(refs, total) from a getgovinfolist reply: custom.data[] with title/infourl/infodate, custom.total."""
    try:
        reply = json.loads(content.decode("utf-8-sig"))
        custom: Any = reply.get("custom", {})
        if isinstance(custom, str):  # some versions double-encode the payload
            custom = json.loads(custom)
        rows = custom.get("data") or []
    except (ValueError, AttributeError) as exc:
        raise PermanentFetchError(base_url, f"unexpected getgovinfolist reply: {exc}") from None
    refs = []
    for row in rows:
        if not isinstance(row, dict) or not row.get("infourl"):
            continue
        url = urljoin(base_url, str(row["infourl"]).strip())
        extra = {"category": row["categoryname"]} if row.get("categoryname") else {}
        date = parse_date(str(row.get("infodate") or "")) or date_from_url(url)
        refs.append(
            ArticleRef(
                url=url, title=(row.get("title") or "").strip() or None, published_at=date, extra=extra
            )
        )
    total = custom.get("total")
    return refs, int(total) if str(total or "").isdigit() else None
