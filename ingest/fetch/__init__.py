"""Fetch: polite, capped HTTP with robots.txt, allowed hosts and canonical URLs.  In: a URL; out: a Response."""

from core.lazy import exports

_NAMES = {
    "Fetcher": "http",
    "Response": "http",
    "FetchError": "http",
    "PermanentFetchError": "http",
    "TransientFetchError": "http",
    "RobotsCache": "robots",
    "absolute_url": "urls",
    "canonical_url": "urls",
    "check_public_url": "urls",
    "UnsafeURLError": "urls",
    "host_allowed": "urls",
    "host_of": "urls",
    "host_twins": "urls",
}
__all__ = sorted(_NAMES)
__getattr__, __dir__ = exports(__name__, _NAMES)
