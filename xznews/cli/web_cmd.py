"""`xznews web`: serve the web app alone (`xznews run` also serves it, beside the scheduler)."""

from __future__ import annotations

from typing import Annotated

import typer

from core.errors import XznewsError
from xznews.cli.common import get_engine, get_settings


def register(app: typer.Typer) -> None:
    app.command("web")(web)


def web(
    host: Annotated[
        str | None, typer.Option("--host", help="Address to listen on (default: web_host, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", help="Port to listen on (default: web_port, 8080).", min=0, max=65535),
    ] = None,
) -> None:
    """Serve the web app: latest stories, search, story pages, feeds, subscribe and manage pages,
    the links in mail (/confirm, /unsubscribe with RFC 8058 one-click), /healthz, /metrics and /api/stories.

    Runs until SIGTERM or Ctrl-C. `xznews run` already serves it beside the scheduler.
    """
    from xznews.web import serve

    settings = get_settings()
    engine = get_engine(settings)
    host = host or settings.web_host
    port = settings.web_port if port is None else port
    try:
        serve(settings, engine, host, port)
    except OSError as exc:
        raise XznewsError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
