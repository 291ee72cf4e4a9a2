"""The Fetcher against a real HTTP server on 127.0.0.1: politeness, caps, redirects, retries, caches, robots."""

from __future__ import annotations

import gzip
import ipaddress
import socket
import threading
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from core.errors import PermanentError, TransientError
from core.settings import FetchSettings
from ingest.fetch.http import (
    FetchCancelledError,
    Fetcher,
    FetchError,
    HostDeferredError,
    PermanentFetchError,
    TransientFetchError,
    parse_retry_after,
    resolve_host,
)
from ingest.fetch.ssrf import PinnedBackend, PinnedTransport, check_public_url
from ingest.sources.config import SourceConfig
from tests.servers import Reply, Request

UA = "xznews-test/1.0 (+https://example.org/bot)"


def make_settings(**over: object) -> FetchSettings:
    base: dict[str, object] = dict(
        user_agent=UA, per_host_delay_s=0, allow_private_addresses=True, backoff_s=0.5, retries=2,
        respect_robots=False, connect_timeout_s=5, read_timeout_s=5, max_retry_after_s=60,
    )  # fmt: skip
    base.update(over)
    return FetchSettings(**base)  # type: ignore[arg-type]


class Sleeper:
    """Records requested sleeps instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def source_for(server, **kw) -> SourceConfig:  # type: ignore[no-untyped-def]
    return SourceConfig(name="t", kind="listpage", url=server.url("/"), **kw)


def test_it_fetches_a_page_and_passes_the_http_charset_along(http_server):
    http_server.add("/p", "<p>徐州</p>".encode("gbk"), content_type="text/html; charset=GBK")
    with Fetcher(make_settings()) as fetcher:
        response = fetcher.get(http_server.url("/p"))
    assert response.status == 200
    assert response.charset == "gbk"
    assert response.content == "<p>徐州</p>".encode("gbk")
    assert response.headers["content-type"] == "text/html; charset=GBK"
    assert not response.not_modified


def test_it_sends_a_real_user_agent_and_a_same_origin_referer(http_server):
    http_server.add("/a", "ok")
    with Fetcher(make_settings()) as fetcher:
        fetcher.get(http_server.url("/a"), referer=http_server.url("/list.html"))
        fetcher.get(http_server.url("/a"), referer="https://elsewhere.example/page")
    first, second = http_server.requests
    assert first.headers["User-Agent"] == UA
    assert first.headers["Referer"] == http_server.url("/list.html")
    assert second.headers["Referer"] == http_server.url("/")  # a foreign referer is replaced by the home page


def test_it_refuses_a_declared_body_over_the_byte_cap(http_server):
    fifty_mb = 50 * 1024 * 1024
    http_server.routes["/huge"] = lambda req: Reply(200, b"x" * fifty_mb, {"Content-Type": "text/html"})
    with Fetcher(make_settings(max_bytes=1024 * 1024)) as fetcher, pytest.raises(PermanentFetchError) as err:
        fetcher.get(http_server.url("/huge"))
    assert "response exceeds 1048576 bytes" in str(err.value)
    assert len(http_server.requests) == 1  # not retried


def test_it_stops_reading_a_streamed_body_past_the_cap_even_when_compressed(http_server):
    bomb = gzip.compress(b"\0" * (8 * 1024 * 1024))  # ~8 KB on the wire, 8 MB inflated
    http_server.add("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    with Fetcher(make_settings(max_bytes=1024 * 1024)) as fetcher, pytest.raises(PermanentFetchError) as err:
        fetcher.get(http_server.url("/bomb"))
    assert "exceeds" in str(err.value)


def test_it_follows_redirects_inside_the_allowed_hosts(http_server):
    http_server.add("/old", "", status=301, headers={"Location": "/new"})
    http_server.add("/new", "moved here")
    with Fetcher(make_settings()) as fetcher:
        response = fetcher.get(http_server.url("/old"))
    assert response.url == http_server.url("/new")
    assert response.content == b"moved here"


def test_it_stops_a_redirect_loop(http_server):
    http_server.add("/a", "", status=302, headers={"Location": "/b"})
    http_server.add("/b", "", status=302, headers={"Location": "/a"})
    with Fetcher(make_settings()) as fetcher, pytest.raises(PermanentFetchError) as err:
        fetcher.get(http_server.url("/a"))
    assert "redirect loop" in str(err.value)


def test_it_stops_after_max_redirects(http_server):
    for i in range(10):
        http_server.add(f"/r{i}", "", status=302, headers={"Location": f"/r{i + 1}"})
    with Fetcher(make_settings(max_redirects=3)) as fetcher, pytest.raises(PermanentFetchError) as err:
        fetcher.get(http_server.url("/r0"))
    assert "more than 3 redirects" in str(err.value)


def test_it_refuses_a_redirect_to_a_foreign_host(http_server):
    http_server.add("/go", "", status=302, headers={"Location": "http://evil.example/steal"})
    with Fetcher(make_settings()) as fetcher, pytest.raises(PermanentFetchError) as err:
        fetcher.get(http_server.url("/go"), source=source_for(http_server))
    assert "outside the source" in str(err.value)
    assert "evil.example" in str(err.value)


class _RoutedBackend(PinnedBackend):
    """The pinning backend, with the 'internet' routed to 127.0.0.1: what it opens is recorded."""

    def __init__(self, resolve, *, allow_private):  # type: ignore[no-untyped-def]
        super().__init__(resolve, allow_private=allow_private)
        self.opened: list[str] = []

    def open(self, ip, port, timeout, local_address, socket_options):  # type: ignore[no-untyped-def]
        self.opened.append(ip)
        return super().open("127.0.0.1", port, timeout, local_address, socket_options)


def _fetcher_on_public_test_site(resolve, **settings):  # type: ignore[no-untyped-def]
    backend = _RoutedBackend(resolve, allow_private=False)
    fetcher = Fetcher(
        make_settings(allow_private_addresses=False, **settings), transport=PinnedTransport(backend=backend)
    )
    return fetcher, backend


def test_it_refuses_a_redirect_to_a_private_address_unless_allowed(http_server):
    http_server.add("/go", "", status=302, headers={"Location": "http://10.1.2.3/admin"})

    def resolve(host: str, port: int):  # type: ignore[no-untyped-def]
        # Pretend the test server is a public site, so that only the redirect target is private.
        if host == "127.0.0.1":
            return [ipaddress.ip_address("93.184.216.34")]
        return resolve_host(host, port)

    source = source_for(http_server, allowed_hosts=["127.0.0.1", "10.1.2.3"])
    fetcher, backend = _fetcher_on_public_test_site(resolve)
    with fetcher, pytest.raises(PermanentFetchError) as err:
        fetcher.get(http_server.url("/go"), source=source)
    assert "non-public address 10.1.2.3" in str(err.value)
    assert backend.opened == ["93.184.216.34"]


def test_it_connects_to_the_address_it_checked_and_keeps_the_host_name(http_server):
    http_server.add("/p", "hello")
    asked: list[str] = []

    def resolve(host: str, port: int):  # type: ignore[no-untyped-def]
        asked.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    # news.invalid resolves nowhere but in our resolver: reaching the server proves the connect used it.
    with Fetcher(make_settings(), resolve=resolve) as fetcher:
        response = fetcher.get(f"http://news.invalid:{http_server.port}/p")
    assert response.content == b"hello"
    assert http_server.requests[0].headers["Host"] == f"news.invalid:{http_server.port}"
    assert asked == ["news.invalid"]


def test_a_dns_rebinding_answer_never_gets_a_connection(http_server):
    http_server.add("/p", "secret")
    answers = [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("127.0.0.1")]

    def rebinding(host: str, port: int):  # type: ignore[no-untyped-def]
        return [answers.pop(0) if len(answers) > 1 else answers[0]]  # public once, then loopback

    fetcher, backend = _fetcher_on_public_test_site(rebinding)
    with fetcher:
        check_public_url(f"http://rebind.invalid:{http_server.port}/p", resolve=rebinding)  # says public
        with pytest.raises(PermanentFetchError, match="non-public address 127.0.0.1"):
            fetcher.get(f"http://rebind.invalid:{http_server.port}/p")
    assert backend.opened == [] and http_server.requests == []


def test_check_public_url_names_what_it_refuses():
    with pytest.raises(PermanentFetchError, match="non-public address 127.0.0.1"):
        check_public_url("http://127.0.0.1:5432/x")
    with pytest.raises(PermanentFetchError, match="non-public address 10.0.0.1"):
        check_public_url("https://hook.invalid/x", resolve=lambda h, p: [ipaddress.ip_address("10.0.0.1")])
    with pytest.raises(PermanentFetchError, match="not an http"):
        check_public_url("ftp://example.org/")
    check_public_url("http://127.0.0.1:5432/x", allow_private=True)
    check_public_url("https://hook.invalid/x", resolve=lambda h, p: [ipaddress.ip_address("93.184.216.34")])


def test_it_refuses_loopback_addresses_without_connecting(http_server):
    http_server.add("/p", "secret")
    with Fetcher(make_settings(allow_private_addresses=False)) as fetcher, pytest.raises(PermanentFetchError):
        fetcher.get(http_server.url("/p"))
    assert http_server.requests == []


def test_it_refuses_urls_outside_the_source_and_non_http_schemes(http_server):
    with Fetcher(make_settings()) as fetcher:
        with pytest.raises(PermanentFetchError, match="not among the source's allowed hosts"):
            fetcher.get("http://other.example/x", source=source_for(http_server))
        with pytest.raises(PermanentFetchError, match="not an http"):
            fetcher.get("file:///etc/passwd")


def test_a_slow_server_times_out_as_a_transient_error(http_server):
    release = threading.Event()

    def stall(req: Request) -> Reply:
        release.wait(10)
        return Reply(200, b"late", {"Content-Type": "text/html"})

    http_server.routes["/slow"] = stall
    try:
        with (
            Fetcher(make_settings(read_timeout_s=0.2, retries=0)) as fetcher,
            pytest.raises(TransientFetchError) as err,
        ):
            fetcher.get(http_server.url("/slow"))
    finally:
        release.set()
    assert "timed out" in str(err.value)
    assert isinstance(err.value, TransientError) and err.value.transient


def test_it_honours_retry_after_on_429_then_succeeds(http_server):
    replies = [
        Reply(429, b"slow down", {"Retry-After": "7"}),
        Reply(200, b"ok", {"Content-Type": "text/html"}),
    ]
    http_server.routes["/rate"] = lambda req: replies.pop(0)
    sleeper = Sleeper()
    with Fetcher(make_settings(), sleep=sleeper) as fetcher:
        response = fetcher.get(http_server.url("/rate"))
        assert fetcher.retry_delays == [7.0]
    assert response.content == b"ok"
    assert len(http_server.requests) == 2
    assert sleeper.calls == [7.0]


def test_a_long_retry_after_defers_the_whole_host_without_sleeping(http_server):
    http_server.routes["/a"] = lambda req: Reply(429, b"", {"Retry-After": "86400"})
    http_server.add("/b", "fine")
    sleeper = Sleeper()
    with Fetcher(make_settings(max_retry_after_s=30), sleep=sleeper) as fetcher:
        with pytest.raises(HostDeferredError) as err:
            fetcher.get(http_server.url("/a"))
        assert err.value.retry_after_s == 86400 and err.value.transient
        with pytest.raises(HostDeferredError):  # the host is not asked again in this pass
            fetcher.get(http_server.url("/b"))
    assert sleeper.calls == []
    assert [r.path for r in http_server.requests] == ["/a"]


class TrickleServer:
    """Answers every request with a chunked body that never ends, one byte per chunk (or, `silent`, one chunk
    and then nothing: the client's read blocks)."""

    def __init__(self, *, silent: bool = False) -> None:
        self.silent = silent
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.started = threading.Event()
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n")
            try:
                while not self.stop.is_set():
                    conn.sendall(b"1\r\nx\r\n")
                    self.started.set()
                    if self.silent:
                        self.stop.wait()
            except OSError:
                pass

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def test_a_body_that_trickles_ends_at_the_whole_request_deadline():
    server = TrickleServer()
    ticks = iter(range(10**9))  # a clock that moves one second per look: the trickle outlives any deadline
    try:
        fetcher = Fetcher(
            make_settings(deadline_s=30, max_bytes=200_000, retries=0), clock=lambda: float(next(ticks))
        )
        with fetcher, pytest.raises(TransientFetchError, match="deadline of 30s exceeded"):
            fetcher.get(f"http://127.0.0.1:{server.port}/slow")
    finally:
        server.close()


def test_cancel_stops_a_fetch_blocked_in_a_read():
    server = TrickleServer(silent=True)
    outcome: list[BaseException] = []
    fetcher = Fetcher(make_settings(max_bytes=10**9, retries=0, read_timeout_s=600))

    def fetch() -> None:
        try:
            fetcher.get(f"http://127.0.0.1:{server.port}/slow")
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            outcome.append(exc)

    thread = threading.Thread(target=fetch)
    thread.start()
    try:
        server.started.wait(10)
        fetcher.cancel()
        thread.join(10)  # a bound for a broken build, not a timing assertion
    finally:
        server.close()
        fetcher.close()
    assert [type(e) for e in outcome] == [FetchCancelledError]
    with pytest.raises(FetchCancelledError):
        fetcher.get("http://127.0.0.1:9/")


def test_a_gzip_bomb_is_inflated_incrementally_against_the_cap(http_server):
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    bomb = b"".join(packer.compress(zeros) for _ in range(64)) + packer.flush()  # 64 MiB in ~64 KiB
    http_server.add("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    with Fetcher(make_settings(max_bytes=1 << 20)) as fetcher:
        tracemalloc.start()
        try:
            with pytest.raises(PermanentFetchError, match="exceeds"):
                fetcher.get(http_server.url("/bomb"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 8 << 20, f"peak {peak >> 20} MiB"


def test_deflate_bodies_with_or_without_the_zlib_header_are_decoded(http_server):
    text = "徐州".encode() * 1000
    raw = zlib.compressobj(6, zlib.DEFLATED, -15)
    http_server.add("/z", zlib.compress(text), headers={"Content-Encoding": "deflate"})
    http_server.add("/raw", raw.compress(text) + raw.flush(), headers={"Content-Encoding": "deflate"})
    with Fetcher(make_settings()) as fetcher:
        assert fetcher.get(http_server.url("/z")).content == text
        assert fetcher.get(http_server.url("/raw")).content == text


def test_it_retries_a_500_with_backoff_then_succeeds(http_server):
    replies = [Reply(500, b"oops", {}), Reply(200, b"fine", {})]
    http_server.routes["/flaky"] = lambda req: replies.pop(0)
    sleeper = Sleeper()
    with Fetcher(make_settings(backoff_s=0.5), sleep=sleeper) as fetcher:
        assert fetcher.get(http_server.url("/flaky")).content == b"fine"
    assert sleeper.calls == [0.5]


def test_it_gives_up_after_the_retries_with_a_transient_error(http_server):
    http_server.add("/down", "", status=503)
    sleeper = Sleeper()
    with (
        Fetcher(make_settings(retries=2, backoff_s=1), sleep=sleeper) as fetcher,
        pytest.raises(FetchError) as err,
    ):
        fetcher.get(http_server.url("/down"))
    assert err.value.transient and err.value.status == 503
    assert len(http_server.requests) == 3
    assert sleeper.calls == [1, 2]  # exponential backoff


def test_a_404_is_permanent_and_not_retried(http_server):
    with Fetcher(make_settings()) as fetcher, pytest.raises(PermanentFetchError) as err:
        fetcher.get(http_server.url("/missing"))
    assert err.value.status == 404 and isinstance(err.value, PermanentError)
    assert len(http_server.requests) == 1


def test_conditional_get_sends_the_stored_etag_and_handles_304(http_server, engine):
    def page(req: Request) -> Reply:
        if req.headers.get("If-None-Match") == '"v1"':
            return Reply(304, b"", {"ETag": '"v1"'})
        return Reply(200, b"<p>list</p>", {"ETag": '"v1"', "Last-Modified": "Sun, 12 May 2024 02:00:00 GMT"})

    http_server.routes["/list"] = page
    with Fetcher(make_settings(), engine=engine) as fetcher:
        first = fetcher.get(http_server.url("/list"), conditional=True)
        second = fetcher.get(http_server.url("/list"), conditional=True)
        plain = fetcher.get(http_server.url("/list"))
    assert first.status == 200 and not first.not_modified
    assert second.not_modified and second.content == b""
    assert http_server.requests[1].headers["If-Modified-Since"] == "Sun, 12 May 2024 02:00:00 GMT"
    assert plain.status == 200  # unconditional requests send no validators


def test_robots_txt_disallow_is_respected_and_read_once(http_server):
    http_server.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    http_server.add("/public", "ok")
    http_server.add("/private/x", "no")
    with Fetcher(make_settings(respect_robots=True)) as fetcher:
        assert fetcher.get(http_server.url("/public")).content == b"ok"
        with pytest.raises(PermanentFetchError, match="disallowed by robots.txt"):
            fetcher.get(http_server.url("/private/x"))
        fetcher.get(http_server.url("/public"))
    paths = [r.path for r in http_server.requests]
    assert paths.count("/robots.txt") == 1
    assert "/private/x" not in paths


def test_a_source_with_robots_false_skips_robots_txt(http_server):
    http_server.add("/robots.txt", "User-agent: *\nDisallow: /\n", content_type="text/plain")
    http_server.add("/page", "ok")
    with Fetcher(make_settings(respect_robots=True)) as fetcher:
        assert (
            fetcher.get(http_server.url("/page"), source=source_for(http_server, robots=False)).content
            == b"ok"
        )
    assert [r.path for r in http_server.requests] == ["/page"]


def test_an_unreachable_robots_txt_means_disallow_for_this_run(http_server):
    http_server.add("/robots.txt", "", status=500)
    http_server.add("/page", "ok")
    with (
        Fetcher(make_settings(respect_robots=True, retries=0)) as fetcher,
        pytest.raises(TransientFetchError),
    ):
        fetcher.get(http_server.url("/page"))


def test_cookies_set_by_the_first_response_are_sent_back_to_that_host_only(http_server):
    http_server.add("/first", "hi", headers={"Set-Cookie": "__jsluid_h=abc123; Path=/"})
    http_server.add("/second", "again")
    other = http_server.url("/second").replace("127.0.0.1", "localhost")
    with Fetcher(make_settings()) as fetcher:
        fetcher.get(http_server.url("/first"))
        fetcher.get(http_server.url("/second"))
        fetcher.get(other)
        assert fetcher.cookies_for("127.0.0.1") == {"__jsluid_h": "abc123"}
    assert "Cookie" not in http_server.requests[0].headers
    assert http_server.requests[1].headers["Cookie"] == "__jsluid_h=abc123"
    assert "Cookie" not in http_server.requests[2].headers


def test_requests_to_one_host_keep_the_minimum_delay(http_server):
    http_server.add("/p", "ok")
    sleeper = Sleeper()
    with Fetcher(make_settings(per_host_delay_s=2.0), sleep=sleeper, clock=lambda: 100.0) as fetcher:
        fetcher.get(http_server.url("/p"))
        fetcher.get(http_server.url("/p"))
        fetcher.get(http_server.url("/p").replace("127.0.0.1", "localhost"))  # another host: no wait
    assert sleeper.calls == [2.0]


def test_it_posts_forms_and_json(http_server):
    http_server.routes["/api"] = lambda req: Reply(200, req.body, {"Content-Type": "application/json"})
    with Fetcher(make_settings()) as fetcher:
        form = fetcher.post(http_server.url("/api"), data={"page": "2", "columnid": "33718"})
        body = fetcher.post(http_server.url("/api"), json={"pageIndex": 0})
    assert form.content == b"page=2&columnid=33718"
    assert body.content == b'{"pageIndex":0}' or b'"pageIndex": 0' in body.content
    assert http_server.requests[0].method == "POST"


def test_parse_retry_after_reads_seconds_and_http_dates():
    now = datetime(2024, 5, 12, 2, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=90), usegmt=True), now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_a_host_gets_no_more_simultaneous_requests_than_allowed(http_server):
    arrived, release = threading.Event(), threading.Event()

    def hold(req: Request) -> Reply:
        arrived.set()
        release.wait(10)
        return Reply(200, b"ok", {})

    http_server.routes["/hold"] = hold
    with Fetcher(make_settings(per_host_concurrency=1)) as fetcher:
        worker = threading.Thread(target=fetcher.get, args=(http_server.url("/hold"),))
        worker.start()
        try:
            assert arrived.wait(10)
            gate = fetcher._gate("127.0.0.1")
            assert not gate._slots.acquire(blocking=False)  # the one slot is taken while the request is open
            other = fetcher._gate("localhost")
            assert other._slots.acquire(blocking=False)  # other hosts are not held up
            other._slots.release()
        finally:
            release.set()
            worker.join(10)
        assert gate._slots.acquire(blocking=False)
        gate._slots.release()


def test_a_long_lived_fetcher_reads_robots_txt_again_after_a_day(http_server):
    http_server.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    http_server.add("/public", "ok")
    now = [0.0]
    with Fetcher(make_settings(respect_robots=True, deadline_s=10**9), clock=lambda: now[0]) as fetcher:
        fetcher.get(http_server.url("/public"))
        now[0] += 3600
        fetcher.get(http_server.url("/public"))
        now[0] += 24 * 3600
        fetcher.get(http_server.url("/public"))
    assert [r.path for r in http_server.requests].count("/robots.txt") == 2
