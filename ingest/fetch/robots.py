"""robots.txt, fetched once per origin and kept for a day (RFC 9309 §2.4: caching beyond 24 hours is not advised);
the daemon's one Fetcher lives as long as the process, so the day matters.

RFC 9309: a robots.txt answered with 4xx means "no rules"; one that is unreachable (5xx, network error) means
"assume complete disallow" until it can be read again: after UNREACHABLE_RETRY_S, not a day, so one outage
does not close a host for the rest of the day.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

log = logging.getLogger(__name__)

# Reads a robots.txt URL and returns (status, body); raises on network errors.
RobotsReader = Callable[[str], tuple[int, bytes]]


@dataclass
class RobotsVerdict:
    allowed: bool
    reason: str = ""
    cause: str = (
        ""  # why robots.txt was unreachable (e.g. "cannot resolve HOST"): the page has the same problem
    )


MAX_AGE_S = 24 * 3600
UNREACHABLE_RETRY_S = 300


class RobotsCache:
    def __init__(
        self, read: RobotsReader, user_agent: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._read = read
        self._user_agent = user_agent
        self._clock = clock
        self._parsers: dict[str, RobotFileParser | None] = {}  # None = unreachable
        self._causes: dict[str, str] = {}
        self._read_at: dict[str, float] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def check(self, url: str) -> RobotsVerdict:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._guard:
            lock = self._locks.setdefault(origin, threading.Lock())
        with lock:  # one download per origin even when several threads ask at once
            age = self._clock() - self._read_at.get(origin, float("-inf"))
            if age > (UNREACHABLE_RETRY_S if self._parsers.get(origin) is None else MAX_AGE_S):
                self._parsers[origin] = self._load(origin)
                self._read_at[origin] = self._clock()
            parser = self._parsers[origin]
        if parser is None:
            return RobotsVerdict(False, "robots.txt unreachable", self._causes.get(origin, ""))
        if parser.can_fetch(self._user_agent, url):
            return RobotsVerdict(True)
        return RobotsVerdict(False, "disallowed by robots.txt")

    def _load(self, origin: str) -> RobotFileParser | None:
        robots_url = origin + "/robots.txt"
        parser = RobotFileParser(robots_url)
        try:
            status, body = self._read(robots_url)
        except Exception as exc:  # noqa: BLE001 - any failure to read means "unreachable"
            log.warning("robots.txt unreachable url=%s error=%s", robots_url, exc)
            self._causes[origin] = getattr(exc, "problem", "") or str(exc)
            return None
        if status >= 500:
            log.warning("robots.txt unreachable url=%s status=%s", robots_url, status)
            self._causes[origin] = f"robots.txt answered HTTP {status}"
            return None
        if status >= 400:
            parser.parse([])  # no robots.txt: everything allowed
            return parser
        parser.parse(body.decode("utf-8", errors="replace").splitlines())
        return parser
