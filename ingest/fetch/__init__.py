"""Fetch: polite, capped HTTP with robots.txt, allowed hosts and canonical URLs.  In: a URL; out: a Response."""

from core.lazy import exports

_NAMES = {
    "Fetcher": "http",
    "Response": "http",
    "FetchError": "errors",
    "FetchCancelledError": "errors",
    "HostDeferredError": "errors",
    "PermanentFetchError": "errors",
    "TransientFetchError": "errors",
    "check_public_url": "ssrf",
    "pinned_transport": "ssrf",
    "part_url": "urls",
    "RobotsCache": "robots",
    "absolute_url": "urls",
    "canonical_url": "urls",
    "host_allowed": "urls",
    "host_of": "urls",
    "host_twins": "urls",
}
__all__ = sorted(_NAMES)
__getattr__, __dir__ = exports(__name__, _NAMES)
