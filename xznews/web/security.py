"""What every request goes through: security headers, body limits, CSRF tokens, rate limits, log-safe paths."""

from __future__ import annotations

import hmac
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable

MAX_BODY = 16 * 1024  # a one-click POST is 26 bytes; the subscribe form well under 4 kB
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")  # secrets.token_urlsafe(32) is 43; the column holds 64
_TOKENISH = re.compile(r"([A-Za-z0-9_-]{6})[A-Za-z0-9_%-]{6,}")
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),  # tokens are in URLs: never pass them on
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
    (b"server", b"xznews"),
]
CSRF_COOKIE = "xznews_csrf"
CSRF_FIELD = "csrf"


def mask_tokens(value: str) -> str:
    """Log-safe: any token-like run keeps its first 6 characters ('/unsubscribe/AbCdEf…')."""
    return _TOKENISH.sub(r"\1…", value)


def is_token(value: str) -> bool:
    return bool(TOKEN.fullmatch(value))


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(cookie: str | None, field: str | None) -> bool:
    """Double-submit: the form's hidden field must equal the SameSite=Strict cookie set with the form."""
    return bool(cookie and field) and hmac.compare_digest(str(cookie), str(field))


class RateLimiter:
    """At most `limit` events per `window` seconds per key (sliding window, in memory, per process).

    One process serves the web side, so memory is enough; a restart forgets, which only loosens the limit.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> int:
        """Record an event; 0 when allowed, else the seconds to wait (for Retry-After)."""
        now = self.clock()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                return max(1, int(events[0] + self.window - now + 0.999))
            events.append(now)
            if len(self._events) > 10_000:  # forget idle keys so a scan cannot grow memory without bound
                for k in [k for k, v in self._events.items() if not v or v[-1] <= now - self.window]:
                    del self._events[k]
            return 0
