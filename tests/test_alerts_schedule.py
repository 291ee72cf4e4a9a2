"""When digests are due: daily and weekly slots in the subscription's zone, across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.schedule import ScheduleError, is_due, next_due, parse_at, parse_weekday, validate
from store.models import Subscription

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")


def sub(**kw) -> Subscription:
    values = {"subscriber_id": 1, "created_at": datetime(2026, 1, 1, tzinfo=UTC)}
    values.update(kw)
    return Subscription(**values)


def test_a_daily_digest_is_due_at_the_local_time_in_shanghai():
    s = sub(frequency="daily", at_time="08:00")
    after = datetime(2026, 11, 21, 9, 0, tzinfo=SH)
    assert next_due(s, after) == datetime(2026, 11, 22, 8, 0, tzinfo=SH)
    assert next_due(s, datetime(2026, 11, 21, 7, 59, tzinfo=SH)) == datetime(2026, 11, 21, 8, 0, tzinfo=SH)


def test_the_slot_itself_is_not_after_itself():
    s = sub(frequency="daily", at_time="08:00")
    slot = datetime(2026, 11, 21, 8, 0, tzinfo=SH)
    assert next_due(s, slot) == slot + timedelta(days=1)


def test_a_weekly_digest_waits_for_its_weekday():
    s = sub(frequency="weekly", at_time="09:30", weekday=0)  # Monday
    after = datetime(2026, 11, 21, 12, 0, tzinfo=SH)  # a Saturday
    assert next_due(s, after) == datetime(2026, 11, 23, 9, 30, tzinfo=SH)


def test_immediate_is_always_due():
    s = sub(frequency="immediate")
    t = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert next_due(s, t) == t
    assert is_due(s, t)


def test_is_due_counts_from_the_last_success_or_the_creation():
    s = sub(frequency="daily", at_time="08:00", created_at=datetime(2026, 11, 21, 9, 0, tzinfo=SH))
    assert not is_due(s, datetime(2026, 11, 22, 7, 59, tzinfo=SH))
    assert is_due(s, datetime(2026, 11, 22, 8, 0, tzinfo=SH))
    s.last_success_at = datetime(2026, 11, 22, 8, 0, 30, tzinfo=SH)
    assert not is_due(s, datetime(2026, 11, 22, 20, 0, tzinfo=SH))
    assert is_due(s, datetime(2026, 11, 23, 8, 0, tzinfo=SH))


def test_new_york_spring_forward_a_missing_slot_fires_once_an_hour_later():
    # 2026-03-08 02:00 EST → 03:00 EDT: 02:30 does not exist that night.
    s = sub(frequency="daily", at_time="02:30", timezone="America/New_York")
    after = datetime(2026, 3, 7, 3, 0, tzinfo=NY)
    due = next_due(s, after)
    assert due == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT
    assert next_due(s, due) == datetime(2026, 3, 9, 6, 30, tzinfo=UTC)  # 02:30 EDT the next day


def test_new_york_fall_back_a_repeated_slot_fires_once():
    # 2026-11-01 02:00 EDT → 01:00 EST: 01:30 happens twice.
    s = sub(frequency="daily", at_time="01:30", timezone="America/New_York")
    first = next_due(s, datetime(2026, 10, 31, 12, 0, tzinfo=NY))
    assert first == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT, the first occurrence
    second = next_due(s, first)
    assert second == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)  # not 01:30 EST an hour later


def test_daily_slots_are_a_day_apart_in_local_time_across_a_dst_change():
    s = sub(frequency="daily", at_time="08:00", timezone="America/New_York")
    t = datetime(2026, 3, 6, 9, 0, tzinfo=NY)
    slots = []
    for _ in range(4):
        t = next_due(s, t)
        slots.append(t.astimezone(NY))
    assert [x.hour for x in slots] == [8, 8, 8, 8]
    assert [x.day for x in slots] == [7, 8, 9, 10]


@settings(max_examples=200, deadline=None)
@given(
    after=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
    ),
    hh=st.integers(0, 23),
    mm=st.sampled_from([0, 15, 30, 59]),
    zone=st.sampled_from(["Asia/Shanghai", "America/New_York", "Europe/London", "Australia/Lord_Howe"]),
    frequency=st.sampled_from(["daily", "weekly"]),
    weekday=st.integers(0, 6),
)
def test_next_due_is_strictly_later_and_at_most_a_week_and_a_day_away(
    after, hh, mm, zone, frequency, weekday
):
    s = sub(frequency=frequency, at_time=f"{hh:02d}:{mm:02d}", timezone=zone, weekday=weekday)
    due = next_due(s, after)
    assert after < due <= after + timedelta(days=8)
    local = due.astimezone(ZoneInfo(zone))
    if frequency == "weekly":
        assert local.weekday() == weekday or (local - timedelta(hours=1)).weekday() == weekday


def test_bad_settings_are_refused_with_the_expected_form():
    with pytest.raises(ScheduleError, match="HH:MM"):
        parse_at("8am")
    with pytest.raises(ScheduleError, match="mon"):
        parse_weekday("someday")
    with pytest.raises(ScheduleError, match="IANA"):
        validate("daily", "08:00", 0, "Mars/Olympus")
    with pytest.raises(ScheduleError, match="immediate, daily, weekly"):
        validate("hourly", "08:00", 0, "Asia/Shanghai")
    assert parse_weekday("Friday") == 4 and parse_at("7:05").minute == 5
