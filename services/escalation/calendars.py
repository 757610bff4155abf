"""Business time: the working hours of a department, in its own time zone, without its
holidays. Plain arithmetic on aware datetimes, testable without anything running.

Working hours are wall-clock times of the calendar's zone ("Mon-Fri 09:00-18:00 Europe/
Moscow"), turned into real instants day by day, so a DST change moves them with the clock;
an interval 00:00-24:00 on a day the clocks go forward is 23 real hours long.

Conventions, so that the property tests can state them exactly:
  add(t, s)       the earliest moment by which s business seconds have passed since t —
                  17:30 Friday + 30 min is 18:00 Friday, not 09:00 Monday;
  subtract(u, s)  the latest moment from which s business seconds pass until u;
  between(a, b)   business seconds in [a, b].
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays as holiday_tables

from nameko.exceptions import deserialize_to_instance

from helpdesk.errors import InvalidInput

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
# A calendar open less than this often is a mistake, not a schedule: stop looking.
MAX_CLOSED_DAYS = 3 * 366


@deserialize_to_instance
class NeverOpen(InvalidInput):
    code = "CALENDAR_NEVER_OPEN"


@dataclass(frozen=True)
class BusinessCalendar:
    """`hours[weekday]` (0 = Monday) lists (start, end) minutes after local midnight, end up
    to 1440; `closed(date)` says whether a local date is a holiday."""
    zone: ZoneInfo = ZoneInfo("UTC")
    hours: tuple = ()
    always_open: bool = False
    holiday_dates: frozenset = frozenset()
    country: str | None = None
    subdivision: str | None = None
    _country_days: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def around_the_clock(cls):
        return cls(always_open=True)

    def closed(self, day):
        if day in self.holiday_dates:
            return True
        if self.country is None:
            return False
        table = self._country_days.get(day.year)
        if table is None:
            table = holiday_tables.country_holidays(self.country, subdiv=self.subdivision,
                                                    years=day.year)
            self._country_days[day.year] = table
        return day in table

    # --- the working intervals, as real instants ----------------------------------------
    def intervals_from(self, moment):
        """Working intervals (start, end) in UTC that end after `moment`, in order."""
        day = moment.astimezone(self.zone).date() - timedelta(days=1)
        empty_days = 0
        while empty_days <= MAX_CLOSED_DAYS:
            found = False
            for start, end in self._day_intervals(day):
                found = True
                if end > moment:
                    yield start, end
            empty_days = 0 if found else empty_days + 1
            day += timedelta(days=1)
        raise NeverOpen(message=f"the calendar has no working hours in {MAX_CLOSED_DAYS} days")

    def intervals_until(self, moment):
        """Working intervals that start before `moment`, latest first."""
        day = moment.astimezone(self.zone).date() + timedelta(days=1)
        empty_days = 0
        while empty_days <= MAX_CLOSED_DAYS:
            found = False
            for start, end in reversed(self._day_intervals(day)):
                found = True
                if start < moment:
                    yield start, end
            empty_days = 0 if found else empty_days + 1
            day -= timedelta(days=1)
        raise NeverOpen(message=f"the calendar has no working hours in {MAX_CLOSED_DAYS} days")

    def _day_intervals(self, day):
        if self.closed(day):
            return []
        result = []
        for start, end in self.hours[day.weekday()] if self.hours else ():
            first, last = self._instant(day, start), self._instant(day, end)
            if last > first:
                result.append((first, last))
        return result

    def _instant(self, day, minutes):
        """The instant the wall clock shows `minutes` after midnight; the first occurrence of
        a time that comes twice, and the jump itself for a time the clocks skip."""
        local = datetime.combine(day, time()) + timedelta(minutes=minutes)
        first = local.replace(tzinfo=self.zone, fold=0).astimezone(timezone.utc)
        second = local.replace(tzinfo=self.zone, fold=1).astimezone(timezone.utc)
        return first if first <= second else self._jump_between(second, first)

    def _jump_between(self, before, after):
        """The instant between two others at which the zone's offset changes (to the second)."""
        offset_after = after.astimezone(self.zone).utcoffset()
        low, high = int(before.timestamp()), int(after.timestamp())
        while high - low > 1:
            middle = (low + high) // 2
            moment = datetime.fromtimestamp(middle, timezone.utc)
            if moment.astimezone(self.zone).utcoffset() == offset_after:
                high = middle
            else:
                low = middle
        return datetime.fromtimestamp(high, timezone.utc)

    # --- arithmetic ---------------------------------------------------------------------
    def add(self, moment, seconds):
        moment = moment.astimezone(timezone.utc)  # aware arithmetic in a zone is wall-clock
        if self.always_open:
            return moment + timedelta(seconds=seconds)
        left = timedelta(seconds=seconds)
        for start, end in self.intervals_from(moment):
            start = max(start, moment)
            if start + left <= end:
                return start + left
            left -= end - start

    def subtract(self, moment, seconds):
        moment = moment.astimezone(timezone.utc)  # aware arithmetic in a zone is wall-clock
        if self.always_open:
            return moment - timedelta(seconds=seconds)
        left = timedelta(seconds=seconds)
        for start, end in self.intervals_until(moment):
            end = min(end, moment)
            if end - left >= start:
                return end - left
            left -= end - start

    def between(self, start, end):
        """Business seconds from `start` to `end` (0 if end is not later)."""
        start, end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
        if end <= start:
            return 0.0
        if self.always_open:
            return (end - start).total_seconds()
        total = timedelta()
        for first, last in self.intervals_from(start):
            if first >= end:
                break
            total += min(last, end) - max(first, start)
        return total.total_seconds()

    def within_hours(self, moment):
        """Whether `moment` is in working hours (their closing instant included)."""
        moment = moment.astimezone(timezone.utc)  # aware arithmetic in a zone is wall-clock
        if self.always_open:
            return True
        for start, end in self.intervals_from(moment - timedelta(microseconds=1)):
            return start <= moment <= end

    def next_open(self, moment):
        """`moment` if the desk is working then, else the next opening."""
        moment = moment.astimezone(timezone.utc)  # aware arithmetic in a zone is wall-clock
        if self.always_open:
            return moment
        for start, end in self.intervals_from(moment):
            if moment < end:
                return max(start, moment)


def from_definition(definition):
    """A calendar from its stored form (see sla_payloads.CalendarIn)."""
    if definition is None or definition.get("always_open"):
        return BusinessCalendar.around_the_clock()
    hours = tuple(tuple((_minutes(start), _minutes(end))
                        for start, end in definition.get("hours", {}).get(name, []))
                  for name in WEEKDAYS)
    return BusinessCalendar(
        zone=ZoneInfo(definition.get("time_zone") or "UTC"), hours=hours,
        holiday_dates=frozenset(date.fromisoformat(day) if isinstance(day, str) else day
                                for day in definition.get("holidays") or ()),
        country=definition.get("country") or None,
        subdivision=definition.get("subdivision") or None)


def _minutes(text):
    """'09:30' -> 570; '24:00' is the end of the day."""
    hours, _, minutes = str(text).partition(":")
    return int(hours) * 60 + int(minutes or 0)
