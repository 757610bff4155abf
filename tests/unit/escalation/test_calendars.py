"""Business-time arithmetic: worked examples a support centre would check by hand, and
properties over generated calendars and moments (hypothesis)."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings, strategies as st

from services.escalation.calendars import NeverOpen, WEEKDAYS, from_definition

MOSCOW, BERLIN = ZoneInfo("Europe/Moscow"), ZoneInfo("Europe/Berlin")
OFFICE = {"time_zone": "Europe/Moscow",
          "hours": {day: [["09:00", "18:00"]] for day in WEEKDAYS[:5]}}


def local(zone, *parts):
    return datetime(*parts, tzinfo=zone)


def test_friday_half_past_five_plus_four_business_hours_is_monday_half_past_twelve():
    calendar = from_definition(OFFICE)
    friday = local(MOSCOW, 2026, 11, 27, 17, 30)
    due = calendar.add(friday, 4 * 3600)
    assert due.astimezone(MOSCOW) == local(MOSCOW, 2026, 11, 30, 12, 30)


def test_a_holiday_monday_moves_the_due_time_to_tuesday():
    calendar = from_definition({**OFFICE, "holidays": ["2026-11-30"]})
    due = calendar.add(local(MOSCOW, 2026, 11, 27, 17, 30), 4 * 3600)
    assert due.astimezone(MOSCOW) == local(MOSCOW, 2026, 12, 1, 12, 30)


def test_the_countrys_public_holidays_come_from_the_holidays_package():
    # 4 November is National Unity Day in Russia; in 2026 it is a Wednesday
    calendar = from_definition({**OFFICE, "country": "RU"})
    due = calendar.add(local(MOSCOW, 2026, 11, 3, 17, 0), 2 * 3600)
    assert due.astimezone(MOSCOW) == local(MOSCOW, 2026, 11, 5, 10, 0)


def test_time_running_out_at_closing_is_due_at_closing_not_next_morning():
    calendar = from_definition(OFFICE)
    due = calendar.add(local(MOSCOW, 2026, 11, 27, 17, 30), 30 * 60)
    assert due.astimezone(MOSCOW) == local(MOSCOW, 2026, 11, 27, 18, 0)


def test_a_request_at_night_starts_counting_at_opening():
    calendar = from_definition(OFFICE)
    due = calendar.add(local(MOSCOW, 2026, 11, 24, 23, 10), 3600)
    assert due.astimezone(MOSCOW) == local(MOSCOW, 2026, 11, 25, 10, 0)


def test_business_hours_follow_the_wall_clock_across_a_dst_change():
    berlin = from_definition({**OFFICE, "time_zone": "Europe/Berlin"})
    # clocks went forward on Sunday 29 March 2026: Friday 17:00 CET + 2 h is Monday 10:00 CEST
    due = berlin.add(local(BERLIN, 2026, 3, 27, 17, 0), 2 * 3600)
    assert due.astimezone(BERLIN) == local(BERLIN, 2026, 3, 30, 10, 0)
    assert due.utcoffset() is not None and due.astimezone(BERLIN).utcoffset() == timedelta(hours=2)


def test_a_desk_open_round_the_clock_in_a_dst_zone_counts_real_hours():
    open_days = {"time_zone": "Europe/Berlin",
                 "hours": {day: [["00:00", "24:00"]] for day in WEEKDAYS}}
    calendar = from_definition(open_days)
    start = local(BERLIN, 2026, 3, 28, 12, 0).astimezone(timezone.utc)  # next day: 23 h
    assert calendar.add(start, 24 * 3600) == start + timedelta(hours=24)
    assert calendar.between(start, start + timedelta(days=2)) == 48 * 3600


def test_hours_starting_in_the_hour_the_clocks_skip_start_at_the_jump():
    night_shift = from_definition({"time_zone": "Europe/Berlin",
                                   "hours": {"sun": [["02:30", "06:00"]]}})
    start = night_shift.next_open(local(BERLIN, 2026, 3, 29, 0, 0))
    assert start == datetime(2026, 3, 29, 1, 0, tzinfo=timezone.utc)  # 02:00 CET became 03:00
    assert night_shift.between(start, start + timedelta(hours=5)) == 3 * 3600


def test_a_calendar_never_open_is_refused_rather_than_looped_on():
    calendar = from_definition({"time_zone": "UTC", "hours": {}})
    with pytest.raises(NeverOpen):
        calendar.add(datetime(2026, 1, 1, tzinfo=timezone.utc), 60)


# --- properties -------------------------------------------------------------------------
ZONES = ["UTC", "Europe/Moscow", "Europe/Berlin", "America/New_York", "Asia/Kolkata",
         "Australia/Lord_Howe"]  # the last shifts by half an hour at DST


# Boundaries of working hours in the small hours, where clocks jump, are tested on their own
# (test_hours_starting_in_the_hour_the_clocks_skip_start_at_the_jump): the independent check
# below reads wall clocks and cannot tell a skipped time from a real one.
def _boundary(low, high):
    return st.integers(low, high).filter(lambda minute: not 60 <= minute <= 240)


@st.composite
def calendars(draw):
    hours = {}
    for day in WEEKDAYS:
        if draw(st.booleans()):
            start = draw(_boundary(0, 22 * 60))
            end = draw(_boundary(start + 15, 24 * 60))
            spans = [[f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}"]]
            if end < 23 * 60 and draw(st.booleans()):  # an afternoon shift after a break
                later = draw(_boundary(end + 1, 23 * 60 + 30))
                spans.append([f"{later // 60:02d}:{later % 60:02d}", "24:00"])
            hours[day] = spans
    assume(hours)
    holidays = draw(st.lists(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=20))
    return {"time_zone": draw(st.sampled_from(ZONES)), "hours": hours,
            "holidays": [day.isoformat() for day in holidays]}


moments = st.datetimes(datetime(2026, 1, 1), datetime(2027, 6, 30),
                       timezones=st.just(timezone.utc))
durations = st.integers(1, 200 * 3600)  # up to 200 business hours


def honestly_open(definition, moment):
    """Checked without the calendar's own interval logic: local weekday, time and date."""
    wall = moment.astimezone(ZoneInfo(definition["time_zone"]))
    if wall.date().isoformat() in definition["holidays"]:
        return wall.hour == 0 and wall.minute == 0 and _closes_at_midnight(definition, wall)
    minutes = wall.hour * 60 + wall.minute + wall.second / 60
    spans = definition["hours"].get(WEEKDAYS[wall.weekday()], [])
    if any(_m(start) <= minutes <= _m(end) for start, end in spans):
        return True
    return minutes == 0 and _closes_at_midnight(definition, wall)


def _closes_at_midnight(definition, wall):
    yesterday = wall - timedelta(days=1)
    return yesterday.date().isoformat() not in definition["holidays"] and any(
        end == "24:00" for _, end in definition["hours"].get(WEEKDAYS[yesterday.weekday()], []))


def _m(text):
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


@settings(max_examples=300, deadline=None)
@given(calendars(), moments, durations)
def test_a_due_time_never_falls_outside_working_hours(definition, start, seconds):
    due = from_definition(definition).add(start, seconds)
    assert due > start
    assert honestly_open(definition, due), due.astimezone(ZoneInfo(definition["time_zone"]))


@settings(max_examples=300, deadline=None)
@given(calendars(), moments, durations)
def test_the_business_time_between_start_and_due_is_what_was_added(definition, start, seconds):
    calendar = from_definition(definition)
    assert calendar.between(start, calendar.add(start, seconds)) == pytest.approx(seconds)


@settings(max_examples=300, deadline=None)
@given(calendars(), moments, durations)
def test_adding_then_subtracting_business_time_is_the_identity(definition, start, seconds):
    calendar = from_definition(definition)
    due = calendar.add(start, seconds)
    # from a closed moment, counting starts at the next opening: that is where we come back
    assert calendar.subtract(due, seconds) == calendar.next_open(start)
    assert calendar.add(calendar.subtract(due, seconds), seconds) == due


@settings(max_examples=200, deadline=None)
@given(calendars(), moments, durations, st.integers(0, 30 * 24 * 3600),
       st.integers(0, 30 * 24 * 3600))
def test_pausing_and_resuming_never_shortens_the_time_left(definition, start, seconds,
                                                           pause_after, pause_length):
    from services.escalation import clocks
    calendar = from_definition(definition)
    paused_at = start + timedelta(seconds=pause_after)
    resumed_at = paused_at + timedelta(seconds=pause_length)
    straight = clocks.reached_at(calendar, [(start, None)], seconds)
    with_pause = clocks.reached_at(calendar, [(start, paused_at), (resumed_at, None)], seconds)
    assert with_pause >= straight
    used_before = calendar.between(start, min(paused_at, with_pause))
    assert calendar.between(resumed_at, with_pause) == pytest.approx(seconds - used_before) \
        or with_pause <= paused_at


@settings(max_examples=200, deadline=None)
@given(calendars(), moments, durations)
def test_no_due_time_lands_on_a_holiday(definition, start, seconds):
    due = from_definition(definition).add(start, seconds)
    wall = due.astimezone(ZoneInfo(definition["time_zone"]))
    on_holiday = wall.date().isoformat() in definition["holidays"]
    assert not on_holiday or (wall.hour, wall.minute, wall.second) == (0, 0, 0)
