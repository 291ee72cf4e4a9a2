"""Masking secrets for display: URL passwords and credential-bearing query parameters."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "********"
# Query parameters that carry the credential itself (webhook keys, access tokens, passwords, signatures).
_SECRET_PARAM = re.compile(r"(key|token|secret|pass(word)?|pwd|sign(ature)?|auth|credential)", re.IGNORECASE)


def mask_url(url: str) -> str:
    """`url` with its password and credential parameters replaced by a mask; other URLs unchanged.

    Only what is present is masked: a URL without a password shows no phantom mask.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.scheme or not (parts.netloc or parts.query):
        return url
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, host = netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}:{MASK}@{host}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if any(_SECRET_PARAM.search(k) and v for k, v in pairs):
        query = urlencode([(k, MASK if _SECRET_PARAM.search(k) and v else v) for k, v in pairs], safe="*")
    else:
        query = parts.query
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def mask_strings(data: object) -> object:
    """Every URL-looking string in a JSON-like structure, masked."""
    if isinstance(data, dict):
        return {k: mask_strings(v) for k, v in data.items()}
    if isinstance(data, list):
        return [mask_strings(v) for v in data]
    if isinstance(data, str) and "://" in data:
        return mask_url(data)
    return data
