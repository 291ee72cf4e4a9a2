"""Server-side HTML: one Jinja2 environment (autoescaped, strict), the CSRF cookie that goes with every form."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from alerts.clusters import cluster_table
from alerts.digest import BRAND
from alerts.web_pages import Page
from core.tz import SHANGHAI
from xznews.web.security import CSRF_COOKIE, new_csrf

TEMPLATES = Path(__file__).resolve().parent / "templates"


def local_time(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else ""


@cache
def env() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["local"] = local_time
    environment.globals.update(brand=BRAND, clusters=cluster_table)
    return environment


def render(
    request: Request, name: str, status: int = 200, headers: dict[str, str] | None = None, **ctx: Any
) -> HTMLResponse:
    """Render a page; forms on it get the CSRF token, which is also (re)set as a SameSite=Strict cookie."""
    token = request.cookies.get(CSRF_COOKIE) or new_csrf()
    html = env().get_template(name).render(request=request, csrf=token, **ctx)
    response = HTMLResponse(html, status_code=status, headers=headers)
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")
    return response


def render_page(request: Request, page: Page, headers: dict[str, str] | None = None) -> HTMLResponse:
    """A message page (confirm, unsubscribe, errors) from alerts.web_pages."""
    return render(request, "message.html", status=page.status, headers=headers, page=page)
