"""The payloads of the escalation service's admin calls: business calendars and SLA policies,
validated on the service side (the gateway's OpenAPI document is built from them too)."""
import re
from datetime import date
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import AfterValidator, Field, model_validator

from helpdesk.contract import Priority
from helpdesk.payloads import Id, Name, Payload

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
MAX_TARGET_MINUTES = 366 * 24 * 60


def _clock_time(value):
    if not _CLOCK.match(value):
        raise ValueError("is not a time of day HH:MM (00:00 to 24:00)")
    return value


def _time_zone(value):
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("is not a time zone name like Europe/Moscow") from None
    return value


def _country(value):
    if value is not None and value not in holidays.list_supported_countries():
        raise ValueError("is not a country code the holidays package knows (e.g. RU, DE, US)")
    return value


ClockTime = Annotated[str, AfterValidator(_clock_time)]
TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_time_zone)]
Minutes = Annotated[int, Field(ge=1, le=MAX_TARGET_MINUTES)]


class CalendarIn(Payload):
    """Working hours per weekday in a time zone, e.g. {"mon": [["09:00", "18:00"]]}; public
    holidays of `country` (ISO code) and the custom `holidays` dates are days off."""
    name: Name
    time_zone: TimeZone = "UTC"
    always_open: bool = False
    hours: dict[Weekday, list[tuple[ClockTime, ClockTime]]] = {}
    country: Annotated[str | None, Field(max_length=8), AfterValidator(_country)] = None
    subdivision: Annotated[str | None, Field(max_length=16)] = None
    holidays: list[date] = Field(default=[], max_length=1000)

    @model_validator(mode="after")
    def _working_hours(self):
        for day, spans in self.hours.items():
            previous_end = "00:00"
            for start, end in sorted(spans):
                if start >= end:
                    raise ValueError(f"hours.{day}: {start}-{end} ends before it starts")
                if start < previous_end:
                    raise ValueError(f"hours.{day}: {start}-{end} overlaps another span")
                previous_end = end
        if not self.always_open and not any(self.hours.values()):
            raise ValueError("hours: a calendar needs working hours, or always_open")
        if self.subdivision and not self.country:
            raise ValueError("subdivision: give the country too")
        return self


class LevelIn(Payload):
    """An escalation level: `after_minutes` of business time past the due time, what to do."""
    after_minutes: int = Field(0, ge=0, le=MAX_TARGET_MINUTES)
    notify_managers: bool = True
    priority: Priority | None = None        # raise the priority to this (never lowers it)
    department_id: Id | None = None         # move the ticket (e.g. to the second line)
    assignee_id: Id | None = None           # give it to someone


class PolicyIn(Payload):
    """SLA targets in business minutes for a department and priority (none: any)."""
    name: Name
    department_id: Id | None = None
    priority: Priority | None = None
    calendar_id: Id | None = None           # none: around the clock
    first_response_minutes: Minutes | None = None
    next_response_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None
    warning_percent: int | None = Field(None, ge=1, le=99)
    levels: list[LevelIn] = Field(default_factory=lambda: [LevelIn()], min_length=1,
                                  max_length=10)

    @model_validator(mode="after")
    def _levels_in_order(self):
        afters = [level.after_minutes for level in self.levels]
        if afters != sorted(set(afters)):
            raise ValueError("levels: after_minutes must grow from one level to the next")
        if not (self.first_response_minutes or self.next_response_minutes
                or self.resolution_minutes):
            raise ValueError("a policy needs at least one target")
        return self
