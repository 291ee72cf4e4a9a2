"""When a subscription's digest is due: pure functions over (subscription, time).

A digest window runs from the subscription's anchor (the end of its last successful delivery, or its
creation) to the moment it is sent. A daily or weekly subscription is due once a scheduled slot has passed
since the anchor; an immediate one is always due (the dispatcher then sends only if something matched).

Slots are wall-clock times in the subscription's zone. Across DST changes a slot that does not exist (02:30
on a spring-forward night) fires at the same instant as the offset before the change would give (03:30 new
time); a slot that happens twice (01:30 on a fall-back night) fires once, at its first occurrence.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FREQUENCIES = ("immediate", "daily", "weekly")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduleError(ValueError):
    """A frequency, time of day, weekday or time zone that cannot be scheduled."""


class Schedulable(Protocol):
    frequency: str
    at_time: str
    weekday: int
    timezone: str
    last_success_at: datetime | None
    created_at: datetime


def parse_at(value: str) -> time:
    """'08:00' → time(8, 0); refuses anything else with a message that shows the expected form."""
    try:
        hh, mm = value.strip().split(":")
        if len(hh) not in (1, 2) or len(mm) != 2:
            raise ValueError
        return time(int(hh), int(mm))
    except ValueError:
        raise ScheduleError(f"invalid time of day {value!r}: expected HH:MM, e.g. 08:00") from None


def parse_weekday(value: str | int) -> int:
    """'mon'…'sun' (or 0–6, Monday = 0) → 0–6."""
    if isinstance(value, int) or value.strip().isdigit():
        day = int(value)
        if 0 <= day <= 6:
            return day
    else:
        key = value.strip().lower()[:3]
        if key in WEEKDAYS:
            return WEEKDAYS.index(key)
    raise ScheduleError(f"invalid weekday {value!r}: expected one of {', '.join(WEEKDAYS)}")


def parse_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"unknown time zone {name!r}: expected an IANA name such as Asia/Shanghai"
        ) from None


def validate(frequency: str, at_time: str, weekday: int, timezone: str) -> None:
    if frequency not in FREQUENCIES:
        raise ScheduleError(f"invalid frequency {frequency!r}: expected one of {', '.join(FREQUENCIES)}")
    parse_at(at_time)
    parse_weekday(weekday)
    parse_zone(timezone)


def anchor_of(subscription: Schedulable) -> datetime:
    """Where the next window starts: the last successful delivery's end, else the subscription's creation."""
    return subscription.last_success_at or subscription.created_at


def _slot(day: date, at: time, zone: ZoneInfo) -> datetime:
    # fold=0: a repeated wall time means its first occurrence; a skipped one takes the pre-change offset.
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def next_due(subscription: Schedulable, after: datetime) -> datetime:
    """The first moment strictly after `after` at which the subscription is due (UTC, aware).

    Immediate subscriptions are due at once: `after` itself is returned.
    """
    if after.tzinfo is None:
        raise ValueError("next_due needs an aware datetime")
    if subscription.frequency == "immediate":
        return after.astimezone(UTC)
    zone = parse_zone(subscription.timezone)
    at = parse_at(subscription.at_time)
    local_day = after.astimezone(zone).date()
    # Start a day early: a slot on the previous local date can still lie after `after` around DST changes.
    for offset in range(-1, 9):
        day = local_day + timedelta(days=offset)
        if subscription.frequency == "weekly" and day.weekday() != subscription.weekday:
            continue
        slot = _slot(day, at, zone)
        if slot > after:
            return slot
    raise ScheduleError(f"no slot found after {after.isoformat()}")  # unreachable for valid schedules


def is_due(subscription: Schedulable, now: datetime) -> bool:
    """Whether a slot has passed since the subscription's anchor."""
    return next_due(subscription, anchor_of(subscription)) <= now
