"""Server-side request forgery guard: only public addresses, and the connection goes to the address checked.

Checking a host name and then letting the HTTP library resolve it again leaves a window: a DNS answer with a
zero TTL can say "public" to the check and "127.0.0.1" to the connect (DNS rebinding).  So the check happens
inside the connect: `PinnedBackend` resolves once, refuses the connection if any address is not public, and
opens the socket to that very address.  httpcore still sends the URL's host name as Host and as TLS SNI (and
verifies the certificate against it), so virtual hosts and HTTPS work as before.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from ingest.fetch.errors import PermanentFetchError, TransientFetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[IPAddress]]


class UnsafeAddressError(PermanentFetchError):
    """The URL's host is, or resolves to, an address that is not on the public internet."""


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """The addresses `host` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def checked_addresses(host: str, port: int, resolve: Resolver, *, allow_private: bool) -> list[IPAddress]:
    """Resolve `host` once; raise UnsafeAddressError if any address is not public (unless allowed)."""
    try:
        addresses = list(resolve(host, port))
    except OSError as exc:
        raise TransientFetchError(f"{host}:{port}", f"cannot resolve {host}: {exc}") from None
    if not addresses:
        raise TransientFetchError(f"{host}:{port}", f"cannot resolve {host}: no address")
    if not allow_private:
        for ip in addresses:
            if not is_public(ip):
                raise UnsafeAddressError(f"{host}:{port}", f"refusing non-public address {ip} of {host}")
    return addresses


def check_public_url(url: str, allow_private: bool = False, *, resolve: Resolver = resolve_host) -> None:
    """Raise a FetchError naming the cause unless `url` is http(s) and its host resolves to public addresses only.

    For URLs checked at entry (bot webhooks); a fetch through `pinned_transport` checks again at connect time.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentFetchError(url, "not an http(s) URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise PermanentFetchError(url, "invalid port") from None
    try:
        checked_addresses(parts.hostname, port, resolve, allow_private=allow_private)
    except (UnsafeAddressError, TransientFetchError) as exc:
        raise type(exc)(url, exc.problem) from None


class PinnedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, but it resolves and checks the host itself and connects to that address."""

    def __init__(self, resolve: Resolver, *, allow_private: bool) -> None:
        self._resolve = resolve
        self._allow_private = allow_private
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()  # open, for abort()
        self._aborted = False

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = checked_addresses(host, port, self._resolve, allow_private=self._allow_private)
        error: Exception | None = None
        for ip in addresses:  # the checked addresses, and only those
            if self._aborted:
                raise httpcore.ConnectError("aborted: shutting down")
            try:
                stream = self.open(str(ip), port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                error = exc
                continue
            sock = stream.get_extra_info("socket")
            if isinstance(sock, socket.socket):
                self._sockets.add(sock)
            return stream
        raise error or httpcore.ConnectError(f"no address for {host}")

    def abort(self) -> None:
        """Shut down every open socket: a read blocked in another thread returns at once (close() would not)."""
        self._aborted = True
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def open(
        self, ip: str, port: int, timeout: float | None, local_address: str | None, socket_options: Any
    ) -> httpcore.NetworkStream:
        """Open the socket to an address already checked."""
        return super().connect_tcp(ip, port, timeout, local_address, socket_options)


class PinnedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool that uses PinnedBackend."""

    def __init__(
        self,
        resolve: Resolver = resolve_host,
        *,
        allow_private: bool = False,
        backend: PinnedBackend | None = None,
    ) -> None:
        super().__init__()
        self.backend = backend or PinnedBackend(resolve, allow_private=allow_private)
        # The same pool httpx builds by default, with the pinning backend under it.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=self.backend,
        )

    def abort(self) -> None:
        self.backend.abort()


def pinned_transport(resolve: Resolver = resolve_host, *, allow_private: bool = False) -> httpx.HTTPTransport:
    """An httpx transport that connects only to checked public addresses (for any client: fetcher, bots)."""
    return PinnedTransport(resolve, allow_private=allow_private)
