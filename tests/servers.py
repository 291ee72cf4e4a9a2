"""Real servers for tests: an HTTP server on 127.0.0.1 serving fixture routes, and an aiosmtpd SMTP sink."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["Request"], Reply]


@dataclass
class Request:
    method: str
    path: str  # with query string
    headers: dict[str, str]
    body: bytes


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up early (the byte-cap and timeout tests do so on purpose) is not an error here.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FixtureHTTPServer:
    """Serves `routes` (path with query → Reply or handler) and, below `root`, files from a folder.

    Every request is recorded in `requests`, so tests can assert on what was fetched and how.
    """

    def __init__(self, root: Path | None = None) -> None:
        self.root = root
        self.routes: dict[str, Reply | Handler] = {}
        self.requests: list[Request] = []
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
                outer.requests.append(req)
                reply = outer._reply(req)
                self.send_response(reply.status)
                headers = {k.lower(): v for k, v in reply.headers.items()}
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if "content-length" not in headers:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)

            do_GET = do_POST = do_HEAD = _serve

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

        self._server = _QuietServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(
        self,
        path: str,
        body: bytes | str = b"",
        status: int = 200,
        content_type: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Reply(status, data, {"Content-Type": content_type, **(headers or {})})

    def _reply(self, req: Request) -> Reply:
        route = self.routes.get(req.path) or self.routes.get(req.path.split("?", 1)[0])
        if route is not None:
            return route(req) if callable(route) else route
        if self.root is not None:
            rel = req.path.split("?", 1)[0].lstrip("/")
            target = (self.root / rel).resolve()
            if target.is_dir():
                target = target / "index.html"
            if self.root.resolve() in target.parents and target.is_file():
                ctype = "application/xml" if target.suffix in {".xml", ".rss"} else "text/html"
                return Reply(200, target.read_bytes(), {"Content-Type": ctype})
        return Reply(404, b"not found", {"Content-Type": "text/plain"})

    def start(self) -> FixtureHTTPServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def free_port() -> int:
    """A port nothing listens on right now (aiosmtpd's controller cannot bind port 0 and report it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Sink:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        # Replies to give instead of accepting, consumed in order: e.g. ["451 4.3.0 try later"].
        self.fail_with: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd API)
        if self.fail_with:
            return self.fail_with.pop(0)
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(msg)  # type: ignore[arg-type]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


class SMTPSink:
    """An aiosmtpd server on 127.0.0.1 that keeps what it receives."""

    def __init__(self, port: int | None = None) -> None:
        self.handler = _Sink()
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=port or free_port())

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages

    @property
    def port(self) -> int:
        return self._controller.port

    def start(self) -> SMTPSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
