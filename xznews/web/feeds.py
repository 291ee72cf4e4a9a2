"""Atom 1.0 feeds: latest, per cluster, per search, and a private one per subscriber (/feed/{token}.atom).

Entry ids are tag URIs of the story key (tag:xznews,2026:story/123): they never change, whatever the base URL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alerts import web_pages
from alerts.clusters import cluster_info, resolve_cluster
from alerts.query import parse_query
from xznews.web import stories
from xznews.web.params import BadParam, listing, query_param
from xznews.web.render import env, render_page
from xznews.web.security import is_token

FEED_SIZE = 50
ATOM = "application/atom+xml; charset=utf-8"


def iso(value: datetime | None) -> str:
    return (value or datetime(2000, 1, 1, tzinfo=UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _feed(request: Request, rows: list, title: str, feed_id: str, html_path: str) -> Response:
    base = request.app.state.settings.public_base_url.rstrip("/")
    updated = max((r.when for r in rows if r.when), default=None)
    xml = (
        env()
        .get_template("feed.xml")
        .render(
            rows=rows,
            title=title,
            feed_id=feed_id,
            updated=iso(updated),
            iso=iso,
            base=base,
            self_url=base + request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            html_url=base + html_path,
        )
    )
    return Response(xml, media_type=ATOM)


def _latest(request: Request, cid: str | None) -> Response:
    params = listing(request, cluster=cid)
    with Session(request.app.state.engine) as session:
        rows, _ = stories.list_stories(session, params.filters, 1, FEED_SIZE)
    if cid:
        return _feed(
            request,
            rows,
            f"徐州产业动态 · {cluster_info(cid).name_zh}",
            f"tag:xznews,2026:cluster/{cid}",
            f"/cluster/{cid}",
        )
    return _feed(request, rows, "徐州产业动态 · 最新报道", "tag:xznews,2026:latest", "/")


async def latest_feed(request: Request) -> Response:
    return await _guarded(request, _latest, request, None)


async def cluster_feed(request: Request) -> Response:
    cid = resolve_cluster(request.path_params["cluster"])
    if cid is None:
        return render_page(request, web_pages.NOT_FOUND)
    return await _guarded(request, _latest, request, cid)


def _search(request: Request) -> Response:
    query = query_param(request.query_params.get("q"))
    if query is None:
        raise BadParam("q: 请给出关键词")
    params = listing(request)
    with Session(request.app.state.engine) as session:
        rows, _ = stories.search_stories(session, query, params.filters, 1, FEED_SIZE)
    q = request.query_params["q"].strip()
    return _feed(
        request,
        rows,
        f"徐州产业动态 · 搜索：{q}",
        "tag:xznews,2026:search/" + urlencode({"q": q}),
        "/search?" + urlencode({"q": q}),
    )


async def search_feed(request: Request) -> Response:
    return await _guarded(request, _search, request)


def _private(request: Request, token: str) -> Response:
    """What the subscriber's active subscriptions would bring: their clusters, then their keyword queries."""
    with Session(request.app.state.engine) as session:
        subscriber = web_pages.subscriber_by_manage_token(session, token)
        if subscriber is None:
            return render_page(request, web_pages.NOT_FOUND)
        rows_by_key: dict[int, stories.StoryRow] = {}
        for sub in web_pages.subscriptions_of(session, subscriber):
            if not sub.active:
                continue
            for cid in sub.clusters or [None]:
                filters = stories.Filters(cluster=cid)
                if sub.keywords:
                    rows, _ = stories.search_stories(
                        session, parse_query(sub.keywords), filters, 1, FEED_SIZE
                    )
                else:
                    rows, _ = stories.list_stories(session, filters, 1, FEED_SIZE)
                rows_by_key.update((r.key, r) for r in rows)
    rows = sorted(rows_by_key.values(), key=lambda r: r.key, reverse=True)[:FEED_SIZE]
    return _feed(request, rows, "徐州产业动态 · 我的订阅", f"tag:xznews,2026:subscriber/{subscriber.id}", "/")


async def private_feed(request: Request) -> Response:
    token = request.path_params["token"]
    if not is_token(token):
        return render_page(request, web_pages.NOT_FOUND)
    return await _guarded(request, _private, request, token)


async def _guarded(request: Request, fn, *args) -> Response:  # type: ignore[no-untyped-def]
    try:
        return await run_in_threadpool(fn, *args)
    except BadParam as exc:
        return Response(f"{exc}\n", status_code=400, media_type="text/plain; charset=utf-8")


routes = [
    Route("/feed.atom", latest_feed, methods=["GET"]),
    Route("/search.atom", search_feed, methods=["GET"]),
    Route("/cluster/{cluster}.atom", cluster_feed, methods=["GET"]),
    Route("/feed/{token}.atom", private_feed, methods=["GET"]),
]
