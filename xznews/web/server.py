"""Serving the app with uvicorn in a background thread (beside the scheduler) or in the foreground.

The socket is bound here, before the thread starts, so a taken port fails at once with OSError.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from typing import Any

import uvicorn
from sqlalchemy import Engine

from core.settings import Settings
from xznews.lifecycle import wait_for_stop
from xznews.web.app import Limits, create_app
from xznews.web.protocol import XznewsH11Protocol

log = logging.getLogger("xznews.web")


class WebServer:
    """The app bound to host:port; `start()` serves it in a thread, `stop()` ends it (letting requests finish)."""

    def __init__(
        self,
        engine: Engine,
        host: str,
        port: int,
        settings: Settings | None = None,
        *,
        limits: Limits | None = None,
        scheduler: Any = None,
    ) -> None:
        self.app = create_app(engine, settings, limits=limits, scheduler=scheduler)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, port))
        except OSError:
            self.sock.close()
            raise
        self.sock.listen(128)
        config = uvicorn.Config(
            self.app,
            log_config=None,  # our logging; uvicorn's access log would print full tokens
            access_log=False,
            server_header=False,
            date_header=True,
            timeout_keep_alive=15,
            timeout_graceful_shutdown=10,
            lifespan="off",
            http=XznewsH11Protocol,
        )
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # the caller handles signals
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def url(self) -> str:
        host = str(self.sock.getsockname()[0])
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def start(self) -> WebServer:
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])), name="xznews-web", daemon=True
        )
        self._thread.start()
        log.info("web server listening url=%s", self.url)
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.server.should_exit = True
            self._thread.join()
            self._thread = None
        self.sock.close()
        log.info("web server stopped")

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_web_server(
    settings: Settings,
    engine: Engine,
    host: str | None = None,
    port: int | None = None,
    *,
    scheduler: Any = None,
) -> WebServer:
    """Bind and serve in a background thread; raises OSError when the address cannot be bound."""
    host = host or settings.web_host
    port = settings.web_port if port is None else port
    return WebServer(engine, host, port, settings, scheduler=scheduler).start()


def serve(
    settings: Settings,
    engine: Engine,
    host: str | None = None,
    port: int | None = None,
    stop: threading.Event | None = None,
) -> None:
    """`xznews web`: serve until SIGTERM/SIGINT (or `stop` is set)."""
    stop = stop or threading.Event()
    server = start_web_server(settings, engine, host, port)
    try:
        wait_for_stop(stop, "stopping the web server")
    finally:
        server.stop()
