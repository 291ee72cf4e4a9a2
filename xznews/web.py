"""The small web side: the confirm and unsubscribe links that every mail carries, and a health check.

Routes (nothing else exists; other methods get 405):

- ``GET /unsubscribe/{token}`` shows a page with a button; ``POST`` unsubscribes. The POST is also RFC 8058's
  one-click unsubscribe (body ``List-Unsubscribe=One-Click``). GET never changes anything: mail scanners and
  link previews fetch every URL in a message.
- ``GET /confirm/{token}`` shows a page with a button; ``POST`` confirms the subscription.
- ``GET /healthz`` answers ``ok`` after a database round trip, 503 when the database is unreachable.

The standard library serves it (wsgiref on a threading server): a handful of requests a day needs no
framework. Tokens are checked by shape before any database lookup, bodies are capped, every response
carries the security headers, a client never sees a stack trace, and tokens are logged only as a prefix.
"""

from __future__ import annotations

import logging
import re
import socket
import socketserver
import sys
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session

from alerts import web_pages
from alerts.web_pages import Page
from core.settings import Settings
from store import session_scope
from xznews.lifecycle import wait_for_stop

log = logging.getLogger(__name__)

MAX_BODY = 4096  # a one-click POST is 26 bytes; a form post with no fields is empty
_DRAIN_LIMIT = 64 * 1024  # read an oversized body this far so the 413 reaches the client (no RST)
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")  # secrets.token_urlsafe(32) is 43; the column holds 64
_TOKENISH = re.compile(r"([A-Za-z0-9_-]{6})[A-Za-z0-9_%-]{6,}")
SECURITY_HEADERS = [
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),  # the token is in the URL: never pass it on
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-store"),
    ("Server", "xznews"),
]
PAGE_METHODS = ("GET", "HEAD", "POST")
HEALTH_METHODS = ("GET", "HEAD")
# route → (prompt for GET, action for POST)
_ACTIONS: dict[str, tuple[Callable[[Session, str], Page], Callable[[Session, str, str], Page]]] = {
    "unsubscribe": (web_pages.unsubscribe_prompt, web_pages.unsubscribe),
    "confirm": (
        web_pages.confirm_prompt,
        lambda session, token, _via: web_pages.confirm_subscription(session, token),
    ),
}

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def mask_tokens(value: str) -> str:
    """Log-safe: any token-like run keeps its first 6 characters ('/unsubscribe/AbCdEf…')."""
    return _TOKENISH.sub(r"\1…", value)


class _Reply:
    def __init__(self, status: int, body: bytes, content_type: str, headers: Iterable[tuple[str, str]] = ()):
        self.status, self.body, self.content_type, self.headers = status, body, content_type, list(headers)

    @classmethod
    def page(cls, page: Page, headers: Iterable[tuple[str, str]] = ()) -> _Reply:
        return cls(page.status, page.html().encode("utf-8"), "text/html; charset=utf-8", headers)

    @classmethod
    def plain(cls, status: int, body: str) -> _Reply:
        return cls(status, body.encode("utf-8"), "text/plain; charset=utf-8")


class WebApp:
    """The WSGI application. One instance serves every thread; each request opens its own session."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO") or "/"
        try:
            # Read the body first, whatever the route: closing a socket with unread data makes the kernel
            # reset the connection, and the client might lose the reply.
            body = _read_body(environ)
            reply = body if isinstance(body, _Reply) else self._route(method, path, body)
        except (OperationalError, PoolTimeout) as exc:  # the database is down or saturated: try later
            log.error(
                "database unavailable method=%s path=%s error=%s",
                method,
                mask_tokens(path),
                type(exc).__name__,
            )
            reply = _Reply.page(web_pages.UNAVAILABLE, [("Retry-After", "60")])
        except Exception:  # never a stack trace to the client; the log has it
            log.exception("request failed method=%s path=%s", method, mask_tokens(path))
            reply = _Reply.page(web_pages.SERVER_ERROR)
        headers = [
            ("Content-Type", reply.content_type),
            ("Content-Length", str(len(reply.body))),
            *SECURITY_HEADERS,
            *reply.headers,
        ]
        start_response(f"{reply.status} {HTTPStatus(reply.status).phrase}", headers)
        return [b"" if method == "HEAD" else reply.body]

    def _route(self, method: str, path: str, body: bytes) -> _Reply:
        if path == "/healthz":
            if method not in HEALTH_METHODS:
                return _Reply.page(web_pages.METHOD_NOT_ALLOWED, [("Allow", ", ".join(HEALTH_METHODS))])
            return self._health()
        kind, _, token = path.removeprefix("/").partition("/")
        if kind not in _ACTIONS:
            return _Reply.page(web_pages.NOT_FOUND)
        if method not in PAGE_METHODS:
            return _Reply.page(web_pages.METHOD_NOT_ALLOWED, [("Allow", ", ".join(PAGE_METHODS))])
        if not TOKEN.fullmatch(token):
            return _Reply.page(web_pages.NOT_FOUND)  # no database lookup for what cannot be a token
        prompt, act = _ACTIONS[kind]
        if method != "POST":
            with Session(self.engine) as session:
                return _Reply.page(prompt(session, token))
        via = "one-click" if b"List-Unsubscribe=One-Click" in body else "page"
        with session_scope(self.engine) as session:
            page = act(session, token, via)
        return _Reply.page(page)

    def _health(self) -> _Reply:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure to reach the database is "not healthy"
            log.warning("health check failed error=%s", type(exc).__name__)
            return _Reply.plain(503, "database unavailable\n")
        return _Reply.plain(200, "ok\n")


def _read_body(environ: dict[str, Any]) -> bytes | _Reply:
    """The request body, at most MAX_BODY bytes; a 400, 411 or 413 reply otherwise."""
    if environ.get("HTTP_TRANSFER_ENCODING"):
        return _Reply.page(web_pages.LENGTH_REQUIRED)  # wsgiref does not decode chunked bodies
    raw = (environ.get("CONTENT_LENGTH") or "0").strip()
    if not raw.isdigit():
        return _Reply.page(web_pages.BAD_REQUEST)
    length = int(raw)
    stream = environ["wsgi.input"]
    if length > MAX_BODY:
        left = min(length, _DRAIN_LIMIT)
        while left > 0 and (chunk := stream.read(min(left, 8192))):
            left -= len(chunk)
        return _Reply.page(web_pages.TOO_LARGE)
    return stream.read(length) if length else b""


# ----------------------------------------------------------------------------------------------- serving


class _Handler(WSGIRequestHandler):
    timeout = 15  # seconds a client may take to send its request: a slow client cannot hold a thread long

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.info(
            "request method=%s path=%s status=%s client=%s",
            self.command,
            mask_tokens(self.path.split("?", 1)[0]),
            code,
            self.client_address[0],
        )

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        log.warning("http client=%s %s", self.client_address[0], mask_tokens(format % args))


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a hung client never blocks shutdown

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN (a DNS lookup that can hang); it is not needed.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)
        self.setup_environ()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that times out or drops the connection is routine: one line, no traceback on stderr.
        log.warning("connection error client=%s error=%r", client_address[0], sys.exc_info()[1])


class _Server6(_Server):
    address_family = socket.AF_INET6


class WebServer:
    """The app bound to host:port (binding happens here, so a taken port fails at once with OSError)."""

    def __init__(self, engine: Engine, host: str, port: int) -> None:
        cls = _Server6 if ":" in host else _Server
        self.httpd = cls((host, port), _Handler)
        self.httpd.set_app(WebApp(engine))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        host = str(self.httpd.server_address[0])
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def start(self) -> WebServer:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="xznews-web", daemon=True
        )
        self._thread.start()
        log.info("web server listening url=%s", self.url)
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.httpd.server_close()
        log.info("web server stopped")

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_web_server(
    settings: Settings, engine: Engine, host: str | None = None, port: int | None = None
) -> WebServer:
    """Bind and serve in a background thread; raises OSError when the address cannot be bound."""
    return WebServer(engine, host or settings.web_host, settings.web_port if port is None else port).start()


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
