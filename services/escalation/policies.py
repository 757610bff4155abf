"""SLA policies and business calendars: what admins set, and which policy a ticket falls
under (the most specific one for its department and priority). A change marks the clocks it
affects stale; the service recomputes them in the background."""
from datetime import datetime, timezone

from sqlalchemy import or_, select, text, update
from sqlalchemy.exc import IntegrityError

from helpdesk.errors import Conflict, InvalidInput, NotFound
from helpdesk.payloads import parse
from helpdesk.sla_payloads import CalendarIn, PolicyIn
from services.escalation import calendars
from services.escalation.models import Calendar, Clock, Policy

POLICY_FIELDS = ("name", "department_id", "priority", "calendar_id", "first_response_minutes",
                 "next_response_minutes", "resolution_minutes", "warning_percent")


# --- calendars --------------------------------------------------------------------------
def calendar_dict(row):
    return {"id": row.id, "name": row.name, "time_zone": row.time_zone,
            "always_open": row.always_open, "hours": row.hours, "country": row.country,
            "subdivision": row.subdivision,
            "holidays": [day.isoformat() for day in row.holidays or []]}


def list_calendars(session):
    return [calendar_dict(row) for row in session.scalars(select(Calendar).order_by(Calendar.id))]


def get_calendar(session, calendar_id):
    row = session.get(Calendar, calendar_id) if isinstance(calendar_id, int) else None
    if row is None:
        raise NotFound("CALENDAR_NOT_FOUND", f"calendar {calendar_id} does not exist")
    return row


def save_calendar(session, data, calendar_id=None):
    """Create a calendar, or replace one; its policies' clocks are recomputed."""
    payload = parse(CalendarIn, data)
    lock_for_change(session)
    row = Calendar() if calendar_id is None else get_calendar(session, calendar_id)
    fields = payload.model_dump()
    fields["hours"] = {day: [list(span) for span in sorted(spans)]
                       for day, spans in fields["hours"].items() if spans}
    for name, value in fields.items():
        setattr(row, name, value)
    row.updated_at = datetime.now(timezone.utc)
    session.add(row)
    _flush_unique(session, "CALENDAR_EXISTS", f"a calendar named {payload.name!r} exists")
    if calendar_id is not None:
        _mark_stale(session, select(Policy.department_id).where(Policy.calendar_id == row.id))
    session.commit()
    return calendar_dict(row)


def delete_calendar(session, calendar_id):
    lock_for_change(session)
    row = get_calendar(session, calendar_id)
    users = session.scalars(select(Policy.name).where(Policy.calendar_id == row.id)).all()
    if users:
        raise Conflict("CALENDAR_IN_USE", f"calendar {calendar_id} is used by the policies "
                       + ", ".join(repr(name) for name in users))
    session.delete(row)
    session.commit()


# --- policies ---------------------------------------------------------------------------
def policy_dict(row):
    return {"id": row.id, **{name: getattr(row, name) for name in POLICY_FIELDS},
            "levels": row.levels}


def list_policies(session):
    rows = session.scalars(select(Policy).order_by(Policy.department_id.nulls_last(),
                                                   Policy.priority.nulls_last(), Policy.id))
    return [policy_dict(row) for row in rows]


def get_policy(session, policy_id):
    row = session.get(Policy, policy_id) if isinstance(policy_id, int) else None
    if row is None:
        raise NotFound("POLICY_NOT_FOUND", f"policy {policy_id} does not exist")
    return row


def save_policy(session, data, policy_id=None, department_exists=lambda _: True):
    """Create a policy or replace one. `department_exists(id)` asks the tickets service."""
    payload = parse(PolicyIn, data)
    if payload.calendar_id is not None:
        get_calendar(session, payload.calendar_id)
    for field, department_id in [("department_id", payload.department_id)] + [
            (f"levels.{index}.department_id", level.department_id)
            for index, level in enumerate(payload.levels)]:
        if department_id is not None and not department_exists(department_id):
            raise InvalidInput("UNKNOWN_DEPARTMENT",
                               f"{field}: department {department_id} does not exist", field)
    lock_for_change(session)
    row = Policy() if policy_id is None else get_policy(session, policy_id)
    old_department = row.department_id
    for name in POLICY_FIELDS:
        setattr(row, name, getattr(payload, name))
    row.priority = str(payload.priority) if payload.priority else None
    row.levels = [level.model_dump(mode="json") for level in payload.levels]
    row.updated_at = datetime.now(timezone.utc)
    session.add(row)
    _flush_unique(session, "POLICY_EXISTS", "a policy for this department and priority exists")
    _mark_stale(session, [old_department, row.department_id])
    session.commit()
    return policy_dict(row)


def delete_policy(session, policy_id):
    lock_for_change(session)
    row = get_policy(session, policy_id)
    department_id = row.department_id
    session.delete(row)
    _mark_stale(session, [department_id])
    session.commit()


def policy_for(session, department_id, priority, cache=None):
    """(policy dict, BusinessCalendar) for a ticket, or (None, None) if no policy applies."""
    key = (department_id, priority)
    if cache is not None and key in cache:
        return cache[key]
    row = session.scalar(
        select(Policy).where(or_(Policy.department_id == department_id,
                                 Policy.department_id.is_(None)),
                             or_(Policy.priority == priority, Policy.priority.is_(None)))
        .order_by(Policy.department_id.nulls_last(), Policy.priority.nulls_last()).limit(1))
    found = (None, None)
    if row is not None:
        calendar = session.get(Calendar, row.calendar_id) if row.calendar_id else None
        found = (policy_dict(row), calendars.from_definition(
            calendar_dict(calendar) if calendar else None))
    if cache is not None:
        cache[key] = found
    return found


# Clocks are computed under this lock shared, policies and calendars changed under it alone:
# a clock being computed from the old policy is committed before a change marks the clocks
# stale (so it is marked too), and none is computed from a policy half changed.
POLICY_LOCK = 7_420_001


def lock_for_change(session):
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POLICY_LOCK})


def lock_for_reading(session):
    session.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": POLICY_LOCK})


def _mark_stale(session, departments):
    """Mark the clocks of these departments (None in the list: every department) stale."""
    if not isinstance(departments, list):
        departments = session.scalars(departments).all()
    condition = None if None in departments else Clock.department_id.in_(departments)
    statement = update(Clock).where(Clock.status != "closed").values(stale=True)
    session.execute(statement if condition is None else statement.where(condition))


def _flush_unique(session, code, message):
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(code, message) from None
