"""The ASGI app: routes from the small route modules, one middleware for what every response needs.

The middleware (pure ASGI, outermost) refuses oversized, chunked or short bodies before any route runs (a body
shorter than its Content-Length is a 400 at once, a stalled one a 408 after BODY_TIMEOUT), adds the security
headers to every response, turns a database outage into a 503 page and any other error into a 500 page with
no stack trace, and logs each request with tokens cut to a prefix.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from alerts import web_pages
from core.settings import Settings
from xznews.web import feeds, ops, pages, projects, subscribe
from xznews.web.render import render_page
from xznews.web.security import MAX_BODY, SECURITY_HEADERS, RateLimiter, mask_tokens

log = logging.getLogger("xznews.web")
BODY_TIMEOUT = 15.0  # seconds a client may take to send its body
_METHOD_ORDER = ("GET", "HEAD", "POST")


class Limits:
    """Rate limits of the subscribe form: per client address and per e-mail address."""

    def __init__(self, per_client: RateLimiter | None = None, per_address: RateLimiter | None = None) -> None:
        self.per_client = per_client or RateLimiter(10, 3600)
        self.per_address = per_address or RateLimiter(3, 3600)


def create_app(
    engine: Engine, settings: Settings | None = None, *, limits: Limits | None = None, scheduler: Any = None
) -> Starlette:
    app = Starlette(
        routes=[*feeds.routes, *projects.routes, *pages.routes, *subscribe.routes, *ops.routes],
        exception_handlers={
            HTTPException: _http_error,
            OperationalError: _db_down,
            PoolTimeout: _db_down,
            Exception: _server_error,  # Starlette re-raises after this: _Guard logs it once
        },
    )
    app.state.engine = engine
    app.state.settings = settings or Settings()
    app.state.limits = limits or Limits()
    app.state.scheduler = scheduler
    return _Guard(app)  # type: ignore[return-value]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allowed = {m.strip() for m in (exc.headers or {}).get("Allow", "").split(",")}
        allow = ", ".join(m for m in _METHOD_ORDER if m in allowed)
        return render_page(request, web_pages.METHOD_NOT_ALLOWED, {"Allow": allow})
    return render_page(request, web_pages.NOT_FOUND if exc.status_code == 404 else web_pages.BAD_REQUEST)


async def _db_down(request: Request, exc: Exception) -> Response:
    """The database is down or saturated: try later."""
    log.error(
        "database unavailable method=%s path=%s error=%s",
        request.method,
        mask_tokens(request.url.path),
        type(exc).__name__,
    )
    return render_page(request, web_pages.UNAVAILABLE, {"Retry-After": "60"})


async def _server_error(request: Request, exc: Exception) -> Response:
    return render_page(request, web_pages.SERVER_ERROR)


class _Guard:
    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.state = app.state

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = mask_tokens(scope.get("path", ""))
        started: dict[str, int] = {}

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                started["status"] = message["status"]
                names = {n for n, _ in SECURITY_HEADERS}
                message["headers"] = [
                    (n, v) for n, v in message.get("headers", []) if n.lower() not in names
                ] + SECURITY_HEADERS
            await send(message)

        refused = _check_body(scope)
        try:
            if refused is not None:
                await self._page(scope, refused, send_with_headers, drain=receive)
            else:
                await self.app(scope, _receive_guard(receive, scope), send_with_headers)
        except _ShortBody:
            if "status" not in started:
                await self._page(scope, web_pages.BAD_REQUEST, send_with_headers)
        except TimeoutError:
            if "status" not in started:
                await self._page(scope, web_pages.Page(408, "请求超时", "Request timeout"), send_with_headers)
        except (OperationalError, PoolTimeout) as exc:
            log.error(
                "database unavailable method=%s path=%s error=%s", scope["method"], path, type(exc).__name__
            )
            if "status" not in started:
                await self._page(scope, web_pages.UNAVAILABLE, send_with_headers, {"Retry-After": "60"})
        except Exception:  # never a stack trace to the client; the log has it
            log.exception("request failed method=%s path=%s", scope["method"], path)
            if "status" not in started:
                await self._page(scope, web_pages.SERVER_ERROR, send_with_headers)
        client = (scope.get("client") or ("-",))[0]
        log.info(
            "request method=%s path=%s status=%s client=%s",
            scope["method"],
            path,
            started.get("status"),
            client,
        )

    async def _page(
        self, scope: dict, page: web_pages.Page, send: Any, headers: dict | None = None, drain: Any = None
    ) -> None:
        if drain is not None:  # read an oversized body a little, so the reply reaches the client (no RST)
            left = 64 * 1024
            while left > 0:
                message = await asyncio.wait_for(drain(), BODY_TIMEOUT)
                left -= len(message.get("body", b""))
                if not message.get("more_body"):
                    break
        response = render_page(Request(scope), page, headers)
        await response(scope, _no_body, send)


async def _no_body() -> dict:
    return {"type": "http.request", "body": b"", "more_body": False}


class _ShortBody(Exception):
    """The client ended the request before sending the Content-Length it announced."""


def _check_body(scope: dict) -> web_pages.Page | None:
    headers = {k.lower(): v for k, v in scope.get("headers", [])}
    if b"transfer-encoding" in headers:
        return web_pages.LENGTH_REQUIRED  # bodies are small: ask for a Content-Length
    raw = headers.get(b"content-length", b"0").strip()
    if not raw.isdigit():
        return web_pages.BAD_REQUEST
    if int(raw) > MAX_BODY:
        return web_pages.TOO_LARGE
    return None


def _receive_guard(receive: Any, scope: dict) -> Any:
    headers = {k.lower(): v for k, v in scope.get("headers", [])}
    expected = int(headers.get(b"content-length", b"0") or 0)
    got = 0

    async def guarded() -> dict:
        nonlocal got
        message = await asyncio.wait_for(receive(), BODY_TIMEOUT)
        if message["type"] == "http.disconnect" and got < expected:
            raise _ShortBody
        got += len(message.get("body", b""))
        return message

    return guarded
