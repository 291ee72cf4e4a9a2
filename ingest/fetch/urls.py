"""Canonical article URLs: one spelling per article, so "seen before?" is a string comparison.

The same article is linked as http and https with a default port, with `utm_*` or share parameters, with a
fragment, from a mobile host, and (on the e-paper) under `pad/` as well as `pc/`.  The canonical form keeps the
URL fetchable: it never changes the scheme (some bureau sites answer only over http) and never guesses a host
that was not configured as an alias.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

# Query parameters that identify the click, not the page.
_TRACKING_EXACT = {
    "spm", "from", "isappinstalled", "share_token", "sharer", "share_from", "shareid", "wxfrom", "wxshare_count",
    "scene", "clicktime", "enterid", "timestamp", "fbclid", "gclid", "msclkid", "yclid", "_hsenc", "_hsmi",
    "mc_cid", "mc_eid", "igshid", "srcid", "tt_from", "ivk_sa",
}  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "share_", "from_", "wx_")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# E-paper readers serve the same article under pad/ (tablet) and pc/ (desktop): keep pc/.
_EPAPER_PAD_RE = re.compile(r"/pad/(con|layout|col|html)/")
# Characters left as they are in a path: RFC 3986 unreserved, sub-delims, ':' '@' '/', and '%' so that
# existing escapes survive (quoting twice must not change the URL).
_PATH_SAFE = "/%:@!$&'()*+,;=~-._"


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_EXACT or lowered.startswith(_TRACKING_PREFIXES)


def _normalize_path(path: str) -> str:
    if not path:
        return "/"
    trailing = path.endswith("/")
    norm = posixpath.normpath(path)  # resolves "." and ".." segments and doubled slashes
    if norm.startswith("//"):  # normpath keeps a leading '//' (POSIX rule); a URL path never needs it
        norm = "/" + norm.lstrip("/")
    if trailing and norm != "/":
        norm += "/"
    norm = _EPAPER_PAD_RE.sub(r"/pc/\1/", norm)
    return quote(norm, safe=_PATH_SAFE)


def canonical_url(url: str, aliases: dict[str, str] | None = None) -> str:
    """The canonical spelling of `url`: lower-case scheme and host, host aliases applied, default port,
    tracking parameters, fragment and dot segments removed, remaining parameters sorted, e-paper pad/ → pc/."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if aliases:
        host = aliases.get(host, host)
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host
    if port and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{port}"
    if ":" in host and not host.startswith("["):  # IPv6 literal
        netloc = f"[{host}]" + (f":{port}" if port and port != _DEFAULT_PORTS.get(scheme) else "")
    query_pairs = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking_param(k)
    ]
    query = urlencode(sorted(query_pairs), doseq=True) if query_pairs else ""
    return urlunsplit((scheme, netloc, _normalize_path(parts.path), query, ""))


def absolute_url(base: str, href: str) -> str | None:
    """`href` resolved against `base`, or None for links that are not web pages (javascript:, mailto:, #…)."""
    href = (href or "").strip()
    if not href or href.startswith("#"):
        return None
    lowered = href.lower()
    if lowered.startswith(("javascript:", "mailto:", "tel:", "data:", "about:")):
        return None
    resolved = urljoin(base, href)
    if urlsplit(resolved).scheme not in ("http", "https"):
        return None
    return resolved


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").rstrip(".").lower()


def host_allowed(host: str, allowed: list[str] | tuple[str, ...] | set[str]) -> bool:
    """True if `host` is in `allowed`. An entry `*.example.cn` or `.example.cn` also admits its subdomains."""
    host = host.lower().rstrip(".")
    for entry in allowed:
        entry = entry.lower().rstrip(".")
        if entry.startswith("*."):
            entry = entry[1:]
        if entry.startswith("."):
            if host == entry[1:] or host.endswith(entry):
                return True
        elif host == entry:
            return True
    return False


def host_twins(host: str) -> list[str]:
    """A host and its www./bare twin: sites redirect between the two all the time."""
    host = host.lower().rstrip(".")
    twin = host.removeprefix("www.") if host.startswith("www.") else "www." + host
    return [host, twin]


def part_url(url: str, n: int) -> str:
    """The URL of the n-th article (1-based) of a page that holds several: `url#n`.

    canonical_url() drops fragments, so a part's canonical URL is built here, from the page's: each part is its
    own article, and `url#1` stored means the page has been seen.
    """
    return f"{canonical_url(url)}#{n}"
