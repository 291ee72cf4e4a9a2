"""The reading pages: latest stories, search, one cluster, one story."""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy import select
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from alerts import web_pages
from alerts.clusters import cluster_info, resolve_cluster
from store import Source
from xznews.web import stories
from xznews.web.params import MAX_SEARCH_PAGE, BadParam, empty_listing, listing, query_param
from xznews.web.render import render, render_page


def _base(request: Request, path: str) -> str:
    """The current URL's path and query without `page`, ready for '&page=N'."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "page" and v]
    return f"{path}?{urlencode(kept)}&" if kept else f"{path}?"


def _sources(session: Session) -> list[str]:
    """The watched sources (a small table; a DISTINCT over the articles would read them all)."""
    return sorted(session.execute(select(Source.name)).scalars())


async def index(request: Request) -> Response:
    return await run_in_threadpool(_listing_page, request, None)


async def cluster_page(request: Request) -> Response:
    value = request.path_params["cluster"]
    cid = resolve_cluster(value)
    if cid is None:
        return render_page(request, web_pages.NOT_FOUND)
    if cid != value:  # a Chinese name: one canonical URL per cluster
        return RedirectResponse(
            f"/cluster/{cid}" + (f"?{request.url.query}" if request.url.query else ""), 308
        )
    return await run_in_threadpool(_listing_page, request, cid)


def _listing_page(request: Request, cid: str | None) -> Response:
    engine = request.app.state.engine
    error, status = "", 200
    try:
        params = listing(request, cluster=cid)
    except BadParam as exc:
        params, error, status = empty_listing(request, cid), str(exc), 400
    with Session(engine) as session:
        rows, more = stories.list_stories(session, params.filters, params.page)
        sources = _sources(session)
    heading = f"{cluster_info(cid).name_zh} · 最新报道" if cid else "最新报道"
    path = f"/cluster/{cid}" if cid else "/"
    return render(
        request,
        "stories.html",
        status=status,
        heading=heading,
        rows=rows,
        has_more=more,
        page=params.page,
        base=_base(request, path),
        action=path,
        search=False,
        q="",
        fixed_cluster=cid,
        cluster=params.filters.cluster or "",
        source=params.raw["source"],
        since=params.raw["since"],
        until=params.raw["until"],
        sources=sources,
        error=error,
        feed_url=f"/cluster/{cid}.atom" if cid else "/feed.atom",
    )


async def search(request: Request) -> Response:
    return await run_in_threadpool(_search_page, request)


def _search_page(request: Request) -> Response:
    raw_q = request.query_params.get("q", "")
    rows: list = []
    more, error, status = False, "", 200
    try:
        params = listing(request)
        query = query_param(raw_q)
    except BadParam as exc:
        params, query, error, status = empty_listing(request, None), None, str(exc), 400
    if query is not None:
        params.page = min(params.page, MAX_SEARCH_PAGE)
        with Session(request.app.state.engine) as session:
            rows, more = stories.search_stories(session, query, params.filters, params.page)
        more = more and params.page < MAX_SEARCH_PAGE
    return render(
        request,
        "stories.html",
        status=status,
        heading=f"搜索：{raw_q}" if raw_q else "搜索",
        rows=rows,
        has_more=more,
        page=params.page,
        base=_base(request, "/search"),
        action="/search",
        search=True,
        q=raw_q,
        fixed_cluster=None,
        cluster=params.filters.cluster or "",
        source="",
        since=params.raw["since"],
        until=params.raw["until"],
        sources=[],
        error=error,
        feed_url="/search.atom?" + urlencode({"q": raw_q}),
    )


async def story_page(request: Request) -> Response:
    return await run_in_threadpool(_story_page, request)


def _story_page(request: Request) -> Response:
    try:
        article_id = int(request.path_params["id"])
    except ValueError:
        return render_page(request, web_pages.NOT_FOUND)
    with Session(request.app.state.engine) as session:
        row = stories.story(session, article_id) if 0 < article_id < 2**62 else None
    if row is None:
        return render_page(request, web_pages.NOT_FOUND)
    if row.key != article_id:
        return RedirectResponse(f"/story/{row.key}", 308)

    def evidence_of(cid: str) -> list[str]:
        """The terms that put the story in a cluster (items are terms or [term, weight] pairs)."""
        value = row.evidence.get(cid, [])
        items = value if isinstance(value, list) else [value]
        return [str(v[0] if isinstance(v, list | tuple) and v else v) for v in items][:8]

    return render(request, "story.html", row=row, evidence_of=evidence_of)


routes = [
    Route("/", index, methods=["GET"]),
    Route("/search", search, methods=["GET"]),
    Route("/story/{id}", story_page, methods=["GET"]),
    Route("/cluster/{cluster}", cluster_page, methods=["GET"]),
]
