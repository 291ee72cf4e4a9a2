"""Polite, bounded HTTP fetching for every source adapter.

One `Fetcher` per run.  It keeps to a few simultaneous requests and a minimum delay per host (across threads),
caps every body, follows redirects itself so that they stay inside the source's allowed hosts and never reach
loopback or private addresses, sends conditional GETs from the validators stored in `HttpCache`, retries
429/5xx/timeouts with backoff honouring Retry-After, keeps a cookie jar per host (anti-bot cookies such as
加速乐 are set on the first answer and expected on the next), reads robots.txt once per host, and sends a real
User-Agent and a same-origin Referer (the city portal's WAF wants both).

Every fetch has a whole-request deadline (per-read timeouts alone let a body trickling one byte a second run
for ever), bodies are decompressed incrementally against the cap (a gzip bomb never inflates past it), a
Retry-After longer than a pass can wait defers the whole host instead of sleeping, and `cancel()` (shutdown)
stops every fetch in flight at its next chunk or sleep.  Connections go through `ssrf.PinnedTransport`: the
address checked is the address connected.
"""

from __future__ import annotations

import email.utils
import logging
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookiejar import CookieJar
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import httpx
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.settings import FetchSettings
from ingest.fetch.errors import (
    FetchCancelledError,
    FetchError,
    HostDeferredError,
    PermanentFetchError,
    TransientFetchError,
)
from ingest.fetch.robots import RobotsCache
from ingest.fetch.ssrf import PinnedTransport, Resolver, UnsafeAddressError, resolve_host
from ingest.fetch.urls import host_allowed, host_of, host_twins
from store import HttpCache

if TYPE_CHECKING:
    from ingest.sources import SourceConfig

log = logging.getLogger(__name__)

__all__ = [
    "Fetcher", "FetchError", "FetchCancelledError", "HostDeferredError", "PermanentFetchError", "Response",
    "TransientFetchError", "parse_retry_after", "resolve_host",
]  # fmt: skip

_REDIRECTS = {301, 302, 303, 307, 308}
_RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524}
_CHARSET_RE = re.compile(r"""charset\s*=\s*["']?([\w\-:.]+)""", re.IGNORECASE)
_ROBOTS_MAX_BYTES = 512 * 1024


@dataclass
class Response:
    url: str  # final URL after allowed redirects
    status: int  # 200, or 304 when not modified
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)  # lower-case keys
    charset: str | None = None  # from Content-Type, passed on to ingest.extract.charset

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class _Retry(Exception):
    """Internal: this attempt failed in a way worth retrying."""

    def __init__(self, problem: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.status = status
        self.retry_after = retry_after


class _NoCookies(CookieJar):
    """The client's own jar stays empty: cookies live in per-host jars managed by the Fetcher."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def set_cookie(self, cookie: Any) -> None:
        return None


class _HostGate:
    """At most `concurrency` requests in flight to one host, and request starts at least `delay` apart."""

    def __init__(
        self, concurrency: int, delay: float, clock: Callable[[], float], sleep: Callable[[float], Any]
    ):
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self._next_start = 0.0
        self._delay = delay
        self._clock = clock
        self._sleep = sleep

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._slots:
            with self._lock:
                now = self._clock()
                start = max(now, self._next_start)
                self._next_start = start + self._delay
            if start > now:
                self._sleep(start - now)
            yield


class _Inflater:
    """Decodes a Content-Encoding incrementally, never holding more than `limit` bytes of output.

    zlib's `max_length` bounds each step's output, so a small compressed chunk that would inflate to gigabytes
    stops at the cap instead of being inflated whole first.
    """

    def __init__(self, url: str, encoding: str, limit: int, status: int) -> None:
        self.url, self.limit, self.status = url, limit, status
        self.codings = [
            c.strip().lower() for c in encoding.split(",") if c.strip().lower() not in ("", "identity")
        ]
        if len(self.codings) > 1 or any(c not in ("gzip", "x-gzip", "deflate") for c in self.codings):
            raise PermanentFetchError(url, f"unsupported Content-Encoding {encoding!r}", status=status)
        self._zlib: Any = None
        if self.codings:
            # gzip, or zlib-wrapped deflate (auto-detected); raw deflate is tried if the header is not zlib.
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 32)
        self._out: list[bytes] = []
        self._size = 0
        self._first = True

    def feed(self, data: bytes) -> None:
        if self._zlib is None:
            self._add(data)
            return
        try:
            while data:
                out = self._zlib.decompress(data, self.limit - self._size + 1)
                self._add(out)
                data = self._zlib.unconsumed_tail
                if self._zlib.eof and self._zlib.unused_data:  # a second gzip member
                    data = self._zlib.unused_data + data
                    self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 32)
                self._first = False
        except zlib.error as exc:
            if self._first and self.codings == ["deflate"]:  # raw deflate without the zlib header
                self._zlib, self._first = zlib.decompressobj(-zlib.MAX_WBITS), False
                self.feed(data)
                return
            raise PermanentFetchError(self.url, f"undecodable body: {exc}", status=self.status) from None

    def _add(self, out: bytes) -> None:
        self._size += len(out)
        if self._size > self.limit:  # counted after decompression: a gzip bomb stops here
            raise PermanentFetchError(self.url, f"response exceeds {self.limit} bytes", status=self.status)
        if out:
            self._out.append(out)

    def finish(self) -> bytes:
        if self._zlib is not None:
            self._add(self._zlib.flush())
        return b"".join(self._out)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _charset(content_type: str | None) -> str | None:
    match = _CHARSET_RE.search(content_type or "")
    return match.group(1).lower() if match else None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Fetcher:
    """HTTP for one run. Thread-safe: the daemon runs each source's job in its own thread."""

    def __init__(
        self,
        settings: FetchSettings,
        *,
        engine: Engine | None = None,
        sleep: Callable[[float], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        resolve: Resolver = resolve_host,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._engine = engine
        self._cancelled = threading.Event()
        # The default sleep wakes up at once on cancel(), so shutdown never waits out a delay.
        self._sleep = sleep or self._cancelled.wait
        self._clock = clock
        # Delays asked for between retries (after Retry-After and the cap): for logs and tests.
        self.retry_delays: list[float] = []
        self._deferred: dict[str, float] = {}  # host → clock time before which it is not asked again
        self._transport = transport or PinnedTransport(
            resolve, allow_private=settings.allow_private_addresses
        )
        self._client = httpx.Client(
            timeout=httpx.Timeout(
                connect=settings.connect_timeout_s,
                read=settings.read_timeout_s,
                write=settings.read_timeout_s,
                pool=settings.connect_timeout_s + settings.read_timeout_s,
            ),
            follow_redirects=False,  # followed by hand, see _follow
            cookies=_NoCookies(),
            headers={
                "User-Agent": settings.user_agent,
                "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5",
                # Only what _Inflater decodes incrementally (httpx would inflate each network chunk whole).
                "Accept-Encoding": "gzip, deflate",
            },
            # Proxies from the environment would also catch 127.0.0.1 fixture sites; a proxy, if ever
            # needed, belongs in settings.
            trust_env=False,
            transport=self._transport,
        )
        self._gates: dict[str, _HostGate] = {}
        self._jars: dict[str, httpx.Cookies] = {}
        self._lock = threading.Lock()
        self._robots = RobotsCache(self._read_robots, settings.user_agent, clock)

    def cancel(self) -> None:
        """Abandon every fetch in flight and refuse new ones: for shutdown. Sleeps wake up, and blocked reads
        return at once (their sockets are shut down), so no thread waits out a timeout."""
        self._cancelled.set()
        if isinstance(self._transport, PinnedTransport):
            self._transport.abort()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    # -- public API -------------------------------------------------------------------------------------------

    def get(
        self,
        url: str,
        *,
        source: SourceConfig | None = None,
        conditional: bool = False,
        referer: str | None = None,
    ) -> Response:
        """GET `url`. With `conditional`, send the stored validators; a 304 comes back as `not_modified`."""
        return self._fetch("GET", url, source=source, conditional=conditional, referer=referer)

    def post(
        self,
        url: str,
        *,
        data: Any = None,
        json: Any = None,
        source: SourceConfig | None = None,
        referer: str | None = None,
    ) -> Response:
        """POST a form (`data`) or a JSON body (`json`); list APIs (Hanweb dataproxy, Epoint) are read this way."""
        return self._fetch("POST", url, source=source, referer=referer, data=data, json=json)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one logical request: retries around redirects ---------------------------------------------------------

    def _fetch(
        self,
        method: str,
        url: str,
        *,
        source: SourceConfig | None,
        conditional: bool = False,
        referer: str | None = None,
        data: Any = None,
        json: Any = None,
    ) -> Response:
        allowed = (
            list(source.allowed_hosts) if source is not None and source.allowed_hosts else [host_of(url)]
        )
        use_robots = self.settings.respect_robots and (source is None or source.robots)
        headers: dict[str, str] = {}
        if conditional and method == "GET":
            headers.update(self._validators(url))
        host = host_of(url)
        self._check_deferred(url, host)
        deadline = self._clock() + self.settings.deadline_s
        attempts = self.settings.retries + 1
        for attempt in range(attempts):
            try:
                response = self._follow(
                    method, url, allowed, headers,
                    referer=referer, data=data, json=json, robots=use_robots, deadline=deadline,
                )  # fmt: skip
            except _Retry as exc:
                if self.cancelled:  # the failure was our own abort()
                    raise FetchCancelledError(url, "cancelled (shutting down)") from None
                if exc.retry_after is not None and exc.retry_after > self.settings.max_retry_after_s:
                    # Longer than a pass can wait: skip the host until then instead of sleeping (per URL).
                    with self._lock:
                        self._deferred[host] = self._clock() + exc.retry_after
                    raise HostDeferredError(
                        url, f"{exc.problem}, Retry-After {exc.retry_after:.0f}s: host deferred",
                        retry_after_s=exc.retry_after, status=exc.status,
                    ) from None  # fmt: skip
                if attempt + 1 >= attempts:
                    raise TransientFetchError(url, exc.problem, status=exc.status) from None
                delay = (
                    exc.retry_after if exc.retry_after is not None else self.settings.backoff_s * 2**attempt
                )
                if self._clock() + delay > deadline:
                    raise TransientFetchError(
                        url, f"{exc.problem}; no time left for a retry within {self.settings.deadline_s:.0f}s",
                        status=exc.status,
                    ) from None  # fmt: skip
                log.info(
                    "retrying url=%s problem=%s delay=%.1fs attempt=%d", url, exc.problem, delay, attempt + 1
                )
                self.retry_delays.append(delay)
                self._sleep(delay)
                if self.cancelled:
                    raise FetchCancelledError(url, "cancelled (shutting down)") from None
                continue
            if conditional and method == "GET" and response.status == 200:
                self._store_validators(url, response.headers)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _follow(
        self,
        method: str,
        url: str,
        allowed: list[str],
        headers: dict[str, str],
        *,
        referer: str | None,
        data: Any,
        json: Any,
        robots: bool,
        deadline: float,
        max_bytes: int | None = None,
    ) -> Response:
        """One attempt: send, then follow redirects inside `allowed`; checks every hop before connecting."""
        seen: set[str] = set()
        current = url
        for _hop in range(self.settings.max_redirects + 1):
            seen.add(current)
            self._check_target(current, allowed, robots=robots)
            status, resp_headers, content = self._send(
                method, current, headers,
                referer=referer, data=data, json=json, max_bytes=max_bytes, deadline=deadline,
            )  # fmt: skip
            if status in _REDIRECTS and "location" in resp_headers:
                target = urljoin(current, resp_headers["location"].strip())
                if target in seen:
                    raise PermanentFetchError(url, f"redirect loop at {target}", status=status)
                if not host_allowed(host_of(target), allowed):
                    raise PermanentFetchError(
                        url, f"redirect to a host outside the source: {target}", status=status
                    )
                if status == 303 or (status in (301, 302) and method == "POST"):
                    method, data, json = "GET", None, None
                referer, current = current, target
                continue
            if status == 304:
                return Response(current, 304, b"", resp_headers, _charset(resp_headers.get("content-type")))
            if status in _RETRY_STATUSES:
                raise _Retry(f"HTTP {status}", status, parse_retry_after(resp_headers.get("retry-after")))
            if status >= 400:
                raise PermanentFetchError(url, f"HTTP {status}", status=status)
            if status in _REDIRECTS:
                raise PermanentFetchError(url, f"HTTP {status} without Location", status=status)
            return Response(
                current, status, content, resp_headers, _charset(resp_headers.get("content-type"))
            )
        raise PermanentFetchError(url, f"more than {self.settings.max_redirects} redirects")

    # -- checks before connecting ----------------------------------------------------------------------------

    def _check_target(self, url: str, allowed: list[str], *, robots: bool) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PermanentFetchError(url, "not an http(s) URL")
        host = host_of(url)
        if not host_allowed(host, allowed):
            raise PermanentFetchError(url, f"host {host} is not among the source's allowed hosts")
        # Addresses are checked where the socket is opened (ssrf.PinnedBackend), so DNS cannot change in between.
        if robots:
            verdict = self._robots.check(url)
            if not verdict.allowed:
                if (
                    verdict.reason == "robots.txt unreachable"
                ):  # say why: "cannot resolve HOST" names the cause
                    raise TransientFetchError(url, verdict.cause or verdict.reason)
                raise PermanentFetchError(url, verdict.reason)

    # -- the wire ----------------------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        *,
        referer: str | None,
        data: Any,
        json: Any,
        max_bytes: int | None,
        deadline: float,
    ) -> tuple[int, dict[str, str], bytes]:
        limit = max_bytes or self.settings.max_bytes
        host = host_of(url)
        request = self._client.build_request(
            method, url, headers={**headers, "Referer": self._referer(url, referer)}, data=data, json=json
        )
        jar = self._jar(host)
        jar.set_cookie_header(request)
        with self._gate(host).slot():
            self._check_deferred(url, host)  # the host may have said "later" while we waited for the slot
            self._check_time(url, deadline)
            # No single wait may outlast the deadline either.
            left = max(0.1, deadline - self._clock())
            request.extensions["timeout"] = httpx.Timeout(
                connect=min(self.settings.connect_timeout_s, left),
                read=min(self.settings.read_timeout_s, left),
                write=min(self.settings.read_timeout_s, left),
                pool=left,
            ).as_dict()
            try:
                response = self._client.send(request, stream=True)
            except UnsafeAddressError as exc:
                raise PermanentFetchError(url, exc.problem) from None
            except TransientFetchError as exc:  # the name did not resolve
                raise _Retry(exc.problem) from None
            except httpx.TimeoutException as exc:
                raise _Retry(f"timed out ({exc.__class__.__name__})") from None
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                raise PermanentFetchError(url, f"bad URL: {exc}") from None
            except httpx.TransportError as exc:
                raise _Retry(f"network error: {exc.__class__.__name__}: {exc}") from None
            try:
                jar.extract_cookies(response)
                resp_headers = {k.lower(): v for k, v in response.headers.items()}
                declared = resp_headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise PermanentFetchError(
                        url, f"response exceeds {limit} bytes", status=response.status_code
                    )
                body = self._read_body(url, response, resp_headers, limit, deadline)
            finally:
                response.close()
        log.debug("fetched url=%s status=%s bytes=%d", url, response.status_code, len(body))
        return response.status_code, resp_headers, body

    def _read_body(
        self, url: str, response: httpx.Response, headers: dict[str, str], limit: int, deadline: float
    ) -> bytes:
        """The decoded body, read chunk by chunk against the cap, the deadline and cancel()."""
        inflater = _Inflater(url, headers.get("content-encoding", ""), limit, response.status_code)
        try:
            for chunk in response.iter_raw():
                inflater.feed(chunk)
                self._check_time(url, deadline)
        except httpx.TimeoutException as exc:
            raise _Retry(f"timed out reading body ({exc.__class__.__name__})") from None
        except httpx.TransportError as exc:
            raise _Retry(f"network error reading body: {exc.__class__.__name__}") from None
        return inflater.finish()

    def _check_time(self, url: str, deadline: float) -> None:
        if self.cancelled:
            raise FetchCancelledError(url, "cancelled (shutting down)")
        if self._clock() > deadline:
            raise TransientFetchError(url, f"deadline of {self.settings.deadline_s:.0f}s exceeded")

    def _check_deferred(self, url: str, host: str) -> None:
        if self.cancelled:
            raise FetchCancelledError(url, "cancelled (shutting down)")
        with self._lock:
            until = self._deferred.get(host)
        if until is not None:
            left = until - self._clock()
            if left > 0:
                raise HostDeferredError(url, f"host {host} deferred by Retry-After", retry_after_s=left)

    def _referer(self, url: str, referer: str | None) -> str:
        # A same-origin Referer: the caller's page when it is on the same site, else the site's home page.
        if referer and "{" not in referer and _origin(referer) == _origin(url):  # "{": an e-paper template
            return referer
        return _origin(url) + "/"

    def _gate(self, host: str) -> _HostGate:
        with self._lock:
            gate = self._gates.get(host)
            if gate is None:
                gate = _HostGate(
                    self.settings.per_host_concurrency,
                    self.settings.per_host_delay_s,
                    self._clock,
                    self._sleep,
                )
                self._gates[host] = gate
            return gate

    def _jar(self, host: str) -> httpx.Cookies:
        with self._lock:
            return self._jars.setdefault(host, httpx.Cookies())

    def cookies_for(self, host: str) -> dict[str, str]:
        """The cookies held for `host` (for diagnostics)."""
        return {cookie.name: cookie.value or "" for cookie in self._jar(host).jar}

    def _read_robots(self, robots_url: str) -> tuple[int, bytes]:
        host = host_of(robots_url)
        try:
            response = self._follow(
                "GET", robots_url, host_twins(host), {},
                referer=None, data=None, json=None, robots=False, max_bytes=_ROBOTS_MAX_BYTES,
                deadline=self._clock() + self.settings.deadline_s,
            )  # fmt: skip
        except PermanentFetchError as exc:
            if exc.status is not None:
                return exc.status, b""
            raise
        except _Retry as exc:
            if exc.status is None:  # no answer at all (cannot resolve, refused, timed out): say why
                raise TransientFetchError(robots_url, exc.problem) from None
            return exc.status, b""
        return response.status, response.content

    # -- conditional GET ---------------------------------------------------------------------------------------

    def _validators(self, url: str) -> dict[str, str]:
        if self._engine is None:
            return {}
        with Session(self._engine) as session:
            row = session.get(HttpCache, url)
            if row is None:
                return {}
            headers = {}
            if row.etag:
                headers["If-None-Match"] = row.etag
            if row.last_modified:
                headers["If-Modified-Since"] = row.last_modified
            return headers

    def forget_validators(self, url: str) -> None:
        """Drop the validators stored for `url`: its next conditional GET reads it in full."""
        if self._engine is None:
            return
        with Session(self._engine) as session:
            row = session.get(HttpCache, url)
            if row is not None:
                session.delete(row)
                session.commit()

    def _store_validators(self, url: str, headers: dict[str, str]) -> None:
        if self._engine is None:
            return
        etag = headers.get("etag")
        last_modified = headers.get("last-modified")
        if not etag and not last_modified:
            return
        row = HttpCache(url=url, etag=(etag or None) and etag[:500], last_modified=(last_modified or None) and last_modified[:100],
                        fetched_at=datetime.now(UTC))  # fmt: skip
        try:
            with Session(self._engine) as session:
                session.merge(row)
                session.commit()
        except IntegrityError:  # another thread stored the same URL a moment ago: its validators will do
            log.debug("validators already stored url=%s", url)
