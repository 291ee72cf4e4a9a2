"""Hanweb 大汉 JCMS columns ("jpage"): the first page inline as <datastore> XML, later pages from dataproxy.jsp.

options (all optional; discovered from the column page's jpage script or <nextgroup> link when absent):
  columnid, unitid, webid, webname, path, appid, permissiontype   # dataproxy.jsp fields
  perpage    = 15          # records per later page (default: the number of inline records)
  proxy_url  = "/module/web/jpage/dataproxy.jsp"
  method     = "post"      # "post": startrecord/endrecord/perpage in the query + a form; "get": all in the query

Newer deployments honour only `page`, older ones only `startrecord`/`endrecord`: every request sends both.
Records repeat when a server ignores the paging fields; the listing stops at the first page with nothing new.
"""

from __future__ import annotations

import html
import logging
import re
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from ingest.extract import date_from_url, decode_html
from ingest.fetch import Fetcher, FetchError
from ingest.sources.base import (
    ArticleRef,
    element_text,
    fetch_text,
    link_title,
    parse_date,
    parse_html,
    resolve_link,
)
from ingest.sources.config import SourceConfig

log = logging.getLogger(__name__)

_RECORD_RE = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.DOTALL | re.IGNORECASE)
_NEXTGROUP_RE = re.compile(r"<nextgroup>\s*<!\[CDATA\[(.*?)\]\]>\s*</nextgroup>", re.DOTALL | re.IGNORECASE)
_TOTAL_RE = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>", re.IGNORECASE)
_AJAX_PARAM_RE = re.compile(r"ajaxParam\s*:\s*\{([^}]*)\}", re.DOTALL)
_PAIR_RE = re.compile(r"""(\w+)\s*:\s*(?:'([^']*)'|"([^"]*)"|([^,\s}]+))""")
_PERPAGE_RE = re.compile(r"perPage\s*:\s*['\"]?(\d+)")
_PROXY_RE = re.compile(r"proxyUrl\s*:\s*['\"]([^'\"]+)['\"]")
_COLUMN_NAME_RE = re.compile(r"""<meta\s+name=["']ColumnName["']\s+content=["']([^"']*)["']""", re.IGNORECASE)
_FIELDS = (
    "col",
    "appid",
    "webid",
    "path",
    "columnid",
    "sourceContentType",
    "unitid",
    "webname",
    "permissiontype",
)
_REQUIRED = ("columnid", "unitid", "webid")
_DEFAULT_PROXY = "/module/web/jpage/dataproxy.jsp"


def list_column(source: SourceConfig, fetcher: Fetcher, *, now: datetime | None = None) -> list[ArticleRef]:
    text, response = fetch_text(fetcher, source.url, source)
    refs = parse_records(text, response.url)
    column = _COLUMN_NAME_RE.search(text)
    for ref in refs:
        if column:
            ref.extra["column"] = html.unescape(column.group(1))
    if source.max_pages <= 1:
        return refs
    params, hints = discover_params(text)
    params.update({k: str(v) for k, v in source.options.items() if k in _FIELDS})
    missing = [k for k in _REQUIRED if not params.get(k)]
    if missing:
        log.warning("hanweb paging needs %s source=%s: only the inline page is read", missing, source.name)
        return refs
    # The inline page may hold several display pages (jpage groupSize × perPage): ask for what follows it.
    perpage = int(source.options.get("perpage") or max(len(refs), int(hints.get("perpage", 0))) or 15)
    proxy = urljoin(source.url, source.options.get("proxy_url") or hints.get("proxy_url") or _DEFAULT_PROXY)
    seen = {r.url for r in refs}
    previous = [r.url for r in refs]
    for page in range(2, source.max_pages + 1):
        try:
            reply = _fetch_page(fetcher, source, proxy, params, page, perpage)
        except FetchError as exc:
            log.info("hanweb page failed source=%s page=%d error=%s", source.name, page, exc)
            break
        records = parse_records(reply, proxy)
        urls = [r.url for r in records]
        if not records or urls == previous:  # the end, or a server that ignores the paging fields
            break
        previous = urls
        refs.extend(r for r in records if r.url not in seen)
        seen.update(urls)
        total = _TOTAL_RE.search(reply)
        if total and page * perpage >= int(total.group(1)):
            break
    return refs


def _fetch_page(
    fetcher: Fetcher, source: SourceConfig, proxy: str, params: dict[str, str], page: int, perpage: int
) -> str:
    paging = {"startrecord": (page - 1) * perpage + 1, "endrecord": page * perpage, "perpage": perpage}
    if source.options.get("method", "post").lower() == "get":
        url = f"{proxy}?{urlencode({'page': page, **params, **paging})}"
        response = fetcher.get(url, source=source, referer=source.url)
    else:
        url = f"{proxy}?{urlencode(paging)}"
        response = fetcher.post(url, data={**params, "page": str(page)}, source=source, referer=source.url)
    text, _ = decode_html(response.content, response.charset)
    return text


def parse_records(text: str, base_url: str) -> list[ArticleRef]:
    """ArticleRefs from the <record> CDATA blocks of a datastore (column page or dataproxy reply)."""
    refs = []
    for record in _RECORD_RE.findall(text):
        if not record.strip():
            continue
        fragment = parse_html(record, base_url)
        anchor = next((a for a in fragment.iter("a") if a.get("href")), None)
        if anchor is None:
            continue
        url = resolve_link(base_url, anchor.get("href"))
        if not url:
            continue
        date = parse_date(element_text(fragment))
        refs.append(ArticleRef(url=url, title=link_title(anchor), published_at=date or date_from_url(url)))
    return refs


def discover_params(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """dataproxy fields from the <nextgroup> link and the jpage script's ajaxParam (which wins), and hints
    (perpage, proxy_url) from the jpage call."""
    params: dict[str, str] = {}
    hints: dict[str, str] = {}
    nextgroup = _NEXTGROUP_RE.search(text)
    if nextgroup:
        href = re.search(r"""href\s*=\s*["']([^"']+)["']""", nextgroup.group(1))
        if href:
            for key, value in parse_qsl(urlsplit(html.unescape(href.group(1))).query):
                if key in _FIELDS:
                    params[key] = value
    ajax = _AJAX_PARAM_RE.search(text)
    if ajax:
        for key, *values in _PAIR_RE.findall(ajax.group(1)):
            if key in _FIELDS:
                params[key] = next((v for v in values if v), "")
    perpage = _PERPAGE_RE.search(text)
    if perpage:
        hints["perpage"] = perpage.group(1)
    proxy = _PROXY_RE.search(text)
    if proxy:
        hints["proxy_url"] = "/" + proxy.group(1).lstrip("/")
    return params, hints
