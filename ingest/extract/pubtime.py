"""Publish times from meta tags, time lines and URLs.

Times without a zone are China time (Asia/Shanghai).  Render times (Maketime, 页面生成时间) are never used.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from core.tz import SHANGHAI

# Meta names and properties that carry a publish time, best first.
PUBTIME_META_KEYS = (
    "pubdate",
    "publishdate",
    "article:published_time",
    "og:release_date",
    "datepublished",
    "publish_time",
    "publishtime",
    "published_time",
    "release_date",
    "dc.date.issued",
    "dc.date",
    "weibo:article:create_at",
    "firstpublishedtime",
    "ptime",
    "date",
)

_DATE_RE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*(?:[-/.年])\s*(?P<m>\d{1,2})\s*(?:[-/.月])\s*(?P<d>\d{1,2})(?!\d)\s*日?"
    r"(?:[\sT]*(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{1,2})(?:\s*[:：分]\s*(?P<S>\d{1,2})(?:\.\d+)?)?\s*秒?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?)?"
)
_COMPACT_RE = re.compile(
    r"(?<!\d)(?P<y>20\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)(?:(?P<H>[0-2]\d)(?P<M>[0-5]\d)(?P<S>[0-5]\d)?)?(?!\d)"
)
# A date in a URL path is a run of digit groups joined by / - _ (or one compact group).  Which groups make the
# year, month and day follows from their lengths alone, so one rule covers every CMS's layout.
_URL_DIGITS_RE = re.compile(r"\d+(?:[-/_]\d+)*")
_URL_SHAPES: dict[tuple[int, ...], tuple[tuple[str, int, int], ...]] = {
    (8,): (("y", 0, 4), ("m", 4, 6), ("d", 6, 8)),  # 20240515
    (6, 2): (("y", 0, 4), ("m", 4, 6), ("d", 7, 9)),  # 202211/22
    (4, 4): (("y", 0, 4), ("m", 5, 7), ("d", 7, 9)),  # 2024/0510
}
_URL_ALL_DIGITS = 6  # a whole path segment of six digits is YYMMDD


def _url_date(run: str) -> datetime | None:
    groups = re.split(r"[-/_]", run)
    for i in range(len(groups)):
        # Year, month and day as three groups (2024/5/6, 2023-12/01) …
        y, rest = groups[i], groups[i + 1 : i + 3]
        if len(y) == 4 and len(rest) == 2 and all(1 <= len(g) <= 2 for g in rest):
            dt = _plausible(_build({"y": y, "m": rest[0], "d": rest[1]}))
            if dt:
                return dt
        # … or packed into one or two groups.
        for width in (1, 2):
            part = groups[i : i + width]
            shape = _URL_SHAPES.get(tuple(len(g) for g in part))
            if shape and len(part) == width:
                joined = "/".join(part)
                dt = _plausible(_build({k: joined[a:b] for k, a, b in shape}))
                if dt:
                    return dt
    return None


_RENDER_TIME_RE = re.compile(r"生成时间|maketime|更新时间|打印时间|当前时间|今天是", re.IGNORECASE)
_TIME_LABEL_RE = re.compile(r"发布时间|发布日期|时间|日期|发表于|发布于|稿件日期")


def _build(groups: dict[str, str | None]) -> datetime | None:
    try:
        year = int(groups["y"]) if groups.get("y") else 2000 + int(groups["y2"] or "")
        dt = datetime(
            year,
            int(groups["m"] or ""),
            int(groups["d"] or ""),
            int(groups.get("H") or 0),
            int(groups.get("M") or 0),
            int(groups.get("S") or 0),
        )
    except (ValueError, KeyError, TypeError):
        return None
    tz = groups.get("tz")
    if tz:
        if tz == "Z":
            return dt.replace(tzinfo=UTC).astimezone(SHANGHAI)
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        return dt.replace(tzinfo=timezone(sign * offset)).astimezone(SHANGHAI)
    return dt.replace(tzinfo=SHANGHAI)


def _plausible(dt: datetime | None, now: datetime | None = None) -> datetime | None:
    if dt is None:
        return None
    now = now or datetime.now(SHANGHAI)
    if dt.year < 1995 or dt > now + timedelta(days=2):
        return None
    return dt


def parse_datetime(text: str | None) -> datetime | None:
    """The first plausible date(time) in a string such as '2024-05-15 10:23', '2024年5月15日', ISO 8601 or 20240515."""
    if not text:
        return None
    text = text.strip()
    if text.isdigit() and len(text) in (10, 13):  # a Unix timestamp in seconds or milliseconds
        try:
            return _plausible(datetime.fromtimestamp(int(text[:10]), SHANGHAI))
        except (ValueError, OSError, OverflowError):
            return None
    for regex in (_DATE_RE, _COMPACT_RE):
        for match in regex.finditer(text):
            dt = _plausible(_build(match.groupdict()))
            if dt:
                return dt
    return None


def find_time_in_line(line: str) -> datetime | None:
    """A publish time in a text line near the title; lines about render times are ignored."""
    if len(line) > 200 or _RENDER_TIME_RE.search(line):
        return None
    match = _DATE_RE.search(line)
    if not match:
        return None
    return _plausible(_build(match.groupdict()))


def has_time_label(line: str) -> bool:
    return bool(_TIME_LABEL_RE.search(line))


def date_from_url(url: str | None) -> datetime | None:
    """The date that CMSs put in article URLs (tYYYYMMDD_N.shtml, /art/YYYY/M/D/, /YYYYMM/DD/, /YYMMDD/ …)."""
    if not url:
        return None
    path = re.sub(r"^[a-z]+://[^/]+", "", url, flags=re.IGNORECASE).split("?", 1)[0].split("#", 1)[0]
    for match in _URL_DIGITS_RE.finditer(path):
        dt = _url_date(match.group(0))
        if dt:
            return dt
    for segment in path.split("/")[:-1]:  # a directory, not the file: ids are file names
        if len(segment) == _URL_ALL_DIGITS and segment.isdigit():
            dt = _plausible(_build({"y2": segment[:2], "m": segment[2:4], "d": segment[4:6]}))
            if dt:
                return dt
    return None


def has_clock_time(dt: datetime) -> bool:
    return (dt.hour, dt.minute, dt.second) != (0, 0, 0)


def pick_published_at(
    candidates: list[datetime | None], list_date: datetime | None = None
) -> datetime | None:
    """The first candidate, cross-checked with the list-page date: a list date (or a first candidate that is a bare
    date) wins unless a candidate on the same day adds the clock time."""
    found = [c for c in candidates if c is not None]
    if list_date is None and found and not has_clock_time(found[0]):
        list_date = found[0]  # a bare date: a later candidate on the same day may add the clock time
    if list_date is not None:
        if list_date.tzinfo is None:
            list_date = list_date.replace(tzinfo=SHANGHAI)
        for cand in found:
            if cand.astimezone(SHANGHAI).date() == list_date.astimezone(SHANGHAI).date() and has_clock_time(
                cand
            ):
                return cand
        return list_date
    return found[0] if found else None
