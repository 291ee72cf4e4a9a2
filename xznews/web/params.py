"""Query-string parameters shared by the pages, the feeds and the API: one clear message for bad input."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from starlette.requests import Request

from alerts.clusters import resolve_cluster
from alerts.query import Query, QueryError, parse_query
from core.tz import SHANGHAI
from xznews.web.stories import Filters

MAX_PAGE = 500
MAX_SEARCH_PAGE = 50  # each search page re-checks every match before it: deep pages cost linear time
MAX_QUERY = 500  # characters; a watched-keyword query is a line, not a document


class BadParam(ValueError):
    """A parameter the reader can fix; the message says which and how."""


def parse_day(value: str | None, name: str, *, end: bool = False) -> datetime | None:
    """'2026-01-31' as the start (or, for `until`, the end) of that day in Shanghai, in UTC."""
    if not value or not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise BadParam(
            f"{name}: 日期格式应为 YYYY-MM-DD（如 2026-01-31），收到 {value.strip()[:40]!r}"
        ) from None
    start = datetime.combine(day + timedelta(days=1) if end else day, time(), SHANGHAI)
    return start.astimezone(UTC)


def cluster_param(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    cid = resolve_cluster(value)
    if cid is None:
        raise BadParam(f"cluster: 未知的产业集群 {value.strip()[:40]!r}")
    return cid


def page_param(value: str | None) -> int:
    try:
        page = int(value or 1)
    except ValueError:
        return 1
    return min(max(page, 1), MAX_PAGE)


@dataclass
class Listing:
    filters: Filters
    page: int
    raw: dict[str, str]


def listing(request: Request, *, cluster: str | None = None) -> Listing:
    """Filters from ?cluster=&source=&since=&until=&page= (raises BadParam)."""
    qp = request.query_params
    raw = {k: qp.get(k, "") for k in ("cluster", "source", "since", "until", "q")}
    filters = Filters(
        cluster=cluster or cluster_param(raw["cluster"]),
        source=raw["source"].strip() or None,
        since=parse_day(raw["since"], "since"),
        until=parse_day(raw["until"], "until", end=True),
    )
    return Listing(filters, page_param(qp.get("page")), raw)


def empty_listing(request: Request, cluster: str | None = None) -> Listing:
    """No filters but the path's cluster: what a page shows beside the message about a bad parameter."""
    raw = {k: request.query_params.get(k, "") for k in ("cluster", "source", "since", "until", "q")}
    return Listing(Filters(cluster=cluster), 1, raw)


def query_param(value: str | None) -> Query | None:
    """The watched-keyword query, parsed by the subscriptions' parser; its message (with the caret) on error."""
    if value is None or not value.strip():
        return None
    if len(value) > MAX_QUERY:
        raise BadParam(f"q: 关键词过长（{len(value)} 个字符，最多 {MAX_QUERY} 个）")
    try:
        return parse_query(value.strip())
    except QueryError as exc:
        raise BadParam(f"关键词有误：{exc}") from None
