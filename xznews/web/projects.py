"""The investment projects (ingest.projects): /projects (filtered, sorted, paged), /project/{id} (the timeline)
and /projects.atom (new projects and stage changes; entry ids per project and stage never change)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlmodel import Session, col
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alerts import web_pages
from alerts.clusters import cluster_info
from ingest.projects import (
    SORTS,
    STAGE_ZH,
    STAGES,
    ProjectFilter,
    list_projects,
    load_gazetteer,
    project_changes,
    project_timeline,
)
from store import Article
from xznews.web.feeds import ATOM, FEED_SIZE, iso
from xznews.web.params import BadParam, cluster_param, page_param, parse_day
from xznews.web.render import env, render, render_page

PER_PAGE = 50
SORT_ZH = {"recent": "最近报道", "amount": "投资额", "name": "名称", "stage": "进度"}
# Chinese stage words a reader may type: 签约 → signed.
_STAGE_WORDS = {w: s for s, zh in STAGE_ZH.items() for w in zh.split("/")} | {"在建": "started"}
_FILTER_KEYS = ("cluster", "stage", "place", "since", "min_amount")
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class ProjectQuery:
    filters: ProjectFilter
    sort: str
    page: int
    raw: dict[str, str]  # as typed, for the form and the links


def _stages(values: list[str]) -> tuple[str, ...]:
    words = [w.strip() for v in values for w in v.replace("，", ",").split(",") if w.strip()]
    stages = tuple(dict.fromkeys(_STAGE_WORDS.get(w, w) for w in words))
    bad = [s for s in stages if s not in STAGES]
    if bad:
        raise BadParam(f"stage: 未知的项目阶段 {'、'.join(bad)[:60]!r}，可选 {', '.join(STAGES)}")
    return stages


def _min_amount(value: str) -> float | None:
    if not value.strip():
        return None
    try:
        amount = float(value)
    except ValueError:
        amount = math.nan
    if not math.isfinite(amount) or amount < 0:
        raise BadParam(f"min_amount: 应为不小于 0 的数（亿元），收到 {value.strip()[:40]!r}")
    return amount


def _raw(request: Request) -> dict[str, str]:
    qp = request.query_params
    raw = {k: qp.get(k, "") for k in (*_FILTER_KEYS, "sort")}
    raw["stage"] = ",".join(v for v in qp.getlist("stage") if v.strip())
    return raw


def project_query(request: Request) -> ProjectQuery:
    """Filters from ?cluster=&stage=&place=&since=&min_amount=&sort=&page= (raises BadParam)."""
    raw = _raw(request)
    sort = raw["sort"].strip() or "recent"
    if sort not in SORTS:
        raise BadParam(f"sort: 未知的排序 {sort[:40]!r}，可选 {', '.join(SORTS)}")
    place = raw["place"].strip()
    if len(place) > 100:
        raise BadParam("place: 地点过长（最多 100 个字符）")
    filters = ProjectFilter(
        cluster=cluster_param(raw["cluster"]),
        stages=_stages([raw["stage"]]),
        place=place or None,
        since=parse_day(raw["since"], "since"),
        min_amount=_min_amount(raw["min_amount"]),
    )
    return ProjectQuery(filters, sort, page_param(request.query_params.get("page")), raw)


def _query_string(raw: dict[str, str], **changes: str) -> str:
    return urlencode({k: v for k, v in {**raw, **changes}.items() if v})


def _amount(value: float | None) -> str:
    return f"{value:g}" if value is not None else "—"


def _http(url: str | None) -> str | None:
    """Only web links go into an href."""
    return url if url and url.startswith(("https://", "http://")) else None


def _clusters(ids: list[str] | None) -> list[tuple[str, str]]:
    return [(cid, cluster_info(cid).name_zh) for cid in ids or []]


# ------------------------------------------------------------------------------------------------ list


async def projects_page(request: Request) -> Response:
    return await run_in_threadpool(_projects_page, request)


def _projects_page(request: Request) -> Response:
    error, status, rows, total = "", 200, [], 0
    try:
        q = project_query(request)
    except BadParam as exc:
        q, error, status = ProjectQuery(ProjectFilter(), "recent", 1, _raw(request)), str(exc), 400
    if not error:
        with Session(request.app.state.engine) as session:
            found = list_projects(session, q.filters, q.sort)
        total = len(found)
        rows = found[(q.page - 1) * PER_PAGE : q.page * PER_PAGE]
    here = _query_string(q.raw)
    filters_only = _query_string({k: q.raw[k] for k in _FILTER_KEYS})
    return render(
        request,
        "projects.html",
        status=status,
        rows=rows,
        total=total,
        page=q.page,
        has_more=total > q.page * PER_PAGE,
        base=f"/projects?{here}&" if here else "/projects?",
        sort_links=[(s, SORT_ZH[s], "/projects?" + _query_string(q.raw, sort=s)) for s in SORTS],
        sort=q.sort,
        raw=q.raw,
        stage_values=set(q.filters.stages),
        stages=[(s, STAGE_ZH[s]) for s in STAGES],
        stage_zh=STAGE_ZH,
        places=list(load_gazetteer().places),
        amount=_amount,
        clusters_of=_clusters,
        error=error,
        feed_url="/projects.atom" + (f"?{filters_only}" if filters_only else ""),
    )


# -------------------------------------------------------------------------------------------- timeline


def _story_keys(session: Session, articles: list[Article]) -> dict[int, int]:
    """Article id → its story's key (the smallest article id of the story), in one query."""
    story_ids = {a.story_id for a in articles if a.story_id is not None}
    first: dict[int, int] = {}
    if story_ids:
        stmt = (
            select(Article.story_id, func.min(Article.id))
            .where(col(Article.story_id).in_(story_ids))
            .group_by(Article.story_id)
        )
        first = {sid: aid for sid, aid in session.execute(stmt)}
    return {a.id or 0: first.get(a.story_id or 0, a.id or 0) for a in articles}


async def project_page(request: Request) -> Response:
    return await run_in_threadpool(_project_page, request)


def _project_page(request: Request) -> Response:
    try:
        project_id = int(request.path_params["id"])
    except ValueError:
        return render_page(request, web_pages.NOT_FOUND)
    if not 0 < project_id < 2**62:
        return render_page(request, web_pages.NOT_FOUND)
    with Session(request.app.state.engine) as session:
        found = project_timeline(session, project_id)
        if found is None:
            return render_page(request, web_pages.NOT_FOUND)
        project, entries = found
        keys = _story_keys(session, [e.article for e in entries])
    by_article = {e.article.id: e.article for e in entries}
    # Every other stated figure, with the article that stated it, beside the largest one.
    others = [
        (a["amount_yi"], by_article.get(a.get("article_id")), keys.get(a.get("article_id") or 0))
        for a in project.amounts or []
        if a["amount_yi"] != project.amount_yi
    ]
    sources: dict[str, str | None] = {}
    for e in entries:
        sources.setdefault(
            e.article.site or e.article.source_name, _http(e.article.url or e.article.canonical_url)
        )
    return render(
        request,
        "project.html",
        project=project,
        entries=entries,
        story_key=keys,
        others=others,
        sources=sources,
        stage_zh=STAGE_ZH,
        amount=_amount,
        clusters=_clusters(project.clusters),
        http=_http,
    )


# ------------------------------------------------------------------------------------------------ feed


def _feed(request: Request) -> Response:
    q = project_query(request)
    # The stage filter applies to the change (a stage reached), the others to the project.
    flt = ProjectFilter(cluster=q.filters.cluster, place=q.filters.place, min_amount=q.filters.min_amount)
    start = q.filters.since or _EPOCH
    latest: dict[str, tuple] = {}  # entry id (project/stage) → its latest (report, project, article)
    with Session(request.app.state.engine) as session:
        for report, project, article in project_changes(session, start, datetime.now(UTC)):
            if q.filters.stages and report.stage not in q.filters.stages:
                continue
            if flt.admits(project):
                latest[f"{project.id}/{report.stage or 'new'}"] = (report, project, article)
    entries = sorted(latest.items(), key=lambda kv: (kv[1][0].seen_at or _EPOCH, kv[1][0].id), reverse=True)
    entries = entries[:FEED_SIZE]
    base = request.app.state.settings.public_base_url.rstrip("/")
    updated = max((r.seen_at for _, (r, _, _) in entries if r.seen_at), default=None)
    filters_only = _query_string({k: q.raw[k] for k in _FILTER_KEYS})
    xml = (
        env()
        .get_template("projects.xml")
        .render(
            entries=entries,
            updated=iso(updated),
            iso=iso,
            base=base,
            self_url=base + request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            html_url=base + "/projects" + (f"?{filters_only}" if filters_only else ""),
            stage_zh=STAGE_ZH,
            amount=_amount,
            clusters_of=_clusters,
            http=_http,
        )
    )
    return Response(xml, media_type=ATOM)


async def projects_feed(request: Request) -> Response:
    try:
        return await run_in_threadpool(_feed, request)
    except BadParam as exc:
        return Response(f"{exc}\n", status_code=400, media_type="text/plain; charset=utf-8")


routes = [
    Route("/projects", projects_page, methods=["GET"]),
    Route("/projects.atom", projects_feed, methods=["GET"]),
    Route("/project/{id}", project_page, methods=["GET"]),
]
