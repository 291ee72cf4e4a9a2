"""A small fixture site on 127.0.0.1 for `xznews demo`: pages shaped like the real CMS families.

The pages in `demo_site/` were written for the project from the seed texts plus a few new articles: a Hanweb-style
column with its inline `<datastore>` (and a repost of a seed article), TRS-style static pages (one GBK-encoded),
and an RSS feed. `DEMO_HOST` in feeds is replaced by the server's address.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SITE = Path(__file__).resolve().parent / "demo_site"
_TYPES = {".xml": "application/rss+xml; charset=utf-8", ".html": "text/html", ".shtml": "text/html"}


class DemoSite:
    def __init__(self, root: Path = SITE) -> None:
        self.root = root.resolve()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                body, ctype = site.page(self.path.split("?", 1)[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", ctype)
                data = body if body is not None else b"not found"
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def page(self, path: str) -> tuple[bytes | None, str]:
        target = (self.root / path.lstrip("/")).resolve()
        if target.is_dir():
            target = target / "index.html"
        if self.root not in target.parents or not target.is_file():
            return None, "text/plain"
        data = target.read_bytes()
        if target.suffix == ".xml":
            data = data.replace(b"DEMO_HOST", self.base_url.removeprefix("http://").encode())
        return data, _TYPES.get(target.suffix, "application/octet-stream")

    def __enter__(self) -> DemoSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
