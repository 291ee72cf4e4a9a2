"""For operators and scripts: /healthz, /metrics (Prometheus) and /api/stories (JSON)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, func, select, text
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from store import Article, Delivery, Source
from xznews.web import stories
from xznews.web.params import MAX_SEARCH_PAGE, BadParam, listing, query_param

API_MAX = 200


def _scheduler_ok(scheduler: Any) -> bool | None:
    """None when this process runs no scheduler (`xznews web` alone)."""
    return None if scheduler is None else bool(getattr(scheduler, "running", False))


def _health(engine: Engine, scheduler: Any) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"database": "ok"}
    try:
        with engine.connect() as conn:
            body["stale_sources"] = int(
                conn.execute(text("SELECT count(*) FROM sources WHERE flagged IS NOT NULL")).scalar_one()
            )
    except Exception as exc:  # any failure to reach the database is "not healthy"
        body = {"database": f"unavailable ({type(exc).__name__})"}
    running = _scheduler_ok(scheduler)
    body["scheduler"] = "not in this process" if running is None else ("running" if running else "stopped")
    healthy = body["database"] == "ok" and running is not False
    body["status"] = "ok" if healthy else "unhealthy"
    return (200 if healthy else 503), body


async def healthz(request: Request) -> Response:
    status, body = await run_in_threadpool(_health, request.app.state.engine, request.app.state.scheduler)
    return JSONResponse(body, status_code=status)


_KIND = re.compile(r"^([A-Za-z][A-Za-z0-9_]{1,40})")


def error_kind(message: str | None) -> str:
    """A low-cardinality label for a fetch error: its leading word ('timeout', 'HTTPStatusError', …)."""
    m = _KIND.match((message or "").strip())
    return m.group(1).lower() if m else "other"


class _StoreCollector:
    """Reads the database at each scrape, so the figures are right whichever process did the work."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self):  # type: ignore[no-untyped-def]
        now = datetime.now(UTC)
        stored = GaugeMetricFamily("xznews_articles_stored", "Articles stored", labels=["source", "verdict"])
        errors = GaugeMetricFamily(
            "xznews_fetch_errors",
            "Consecutive failed runs of a source, by the kind of its last error",
            labels=["source", "kind"],
        )
        since = GaugeMetricFamily(
            "xznews_source_seconds_since_success",
            "Seconds since the source's last successful run",
            labels=["source"],
        )
        deliveries = GaugeMetricFamily("xznews_deliveries", "Digest deliveries", labels=["status"])
        lag = GaugeMetricFamily(
            "xznews_digest_lag_seconds", "Age of the oldest digest not yet sent (0 when none waits)"
        )
        with Session(self.engine) as session:
            for source, verdict, n in session.execute(
                select(Article.source_name, Article.verdict, func.count()).group_by(
                    Article.source_name, Article.verdict
                )
            ):
                stored.add_metric([source, verdict], n)
            for row in session.execute(select(Source)).scalars():
                if row.consecutive_failures:
                    errors.add_metric([row.name, error_kind(row.last_error)], row.consecutive_failures)
                if row.last_success_at:
                    since.add_metric([row.name], (now - row.last_success_at).total_seconds())
            for status, n in session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)):
                deliveries.add_metric([status], n)
            oldest = session.execute(
                select(func.min(Delivery.window_end)).where(Delivery.status.in_(["pending", "sending"]))  # type: ignore[attr-defined]
            ).scalar_one()
        lag.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        yield from (stored, errors, since, deliveries, lag)


def _metrics(engine: Engine) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_StoreCollector(engine))  # type: ignore[arg-type]
    return generate_latest(registry)


async def metrics(request: Request) -> Response:
    return Response(
        await run_in_threadpool(_metrics, request.app.state.engine), media_type=CONTENT_TYPE_LATEST
    )


def _api(request: Request) -> dict[str, Any]:
    params = listing(request)
    query = query_param(request.query_params.get("q"))
    try:
        limit = min(max(int(request.query_params.get("limit") or 20), 1), API_MAX)
    except ValueError:
        raise BadParam(f"limit: 应为 1 到 {API_MAX} 的整数") from None
    with Session(request.app.state.engine) as session:
        if query is not None:
            page = min(params.page, MAX_SEARCH_PAGE)
            rows, more = stories.search_stories(session, query, params.filters, page, limit)
            more = more and page < MAX_SEARCH_PAGE
        else:
            page = params.page
            rows, more = stories.list_stories(session, params.filters, page, limit)
    return {"stories": [r.to_json() for r in rows], "page": page, "has_more": more}


async def api_stories(request: Request) -> Response:
    try:
        return JSONResponse(await run_in_threadpool(_api, request))
    except BadParam as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/api/stories", api_stories, methods=["GET"]),
]
