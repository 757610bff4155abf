"""What agents and managers ask of the escalation service: where one ticket stands, and
which tickets of a department are about to breach or already have."""
from datetime import timedelta

from sqlalchemy import func, select

from services.escalation import assessment, clocks, policies
from services.escalation.models import Clock, Escalation, Timer
from services.escalation.tracking import now

MAX_WINDOW_MINUTES = 7 * 24 * 60


def ticket_sla(session, ticket_id):
    """Targets, due times, business time used and left, breached or not — as of now."""
    clock = session.get(Clock, ticket_id)
    result = {"ticket_id": ticket_id, "policy": None, "targets": [], "escalations": []}
    if clock is None or clock.facts is None:
        return result
    policy, calendar = policies.policy_for(session, clock.department_id, clock.priority)
    if policy is not None:
        states, _ = assessment.assess(clocks.parse_facts(clock.facts), policy, calendar, now())
        result["policy"] = {"id": policy["id"], "name": policy["name"]}
        result["targets"] = [_jsonable(state) for state in states]
    result["escalations"] = [
        {"target": row.target, "kind": row.kind, "level": row.level,
         "due_at": row.due_at.isoformat(), "fired_at": row.fired_at.isoformat()}
        for row in session.scalars(select(Escalation).where(Escalation.ticket_id == ticket_id)
                                   .order_by(Escalation.fired_at, Escalation.id))]
    return result


def department_of(session, ticket_id):
    return session.scalar(select(Clock.department_id).where(Clock.ticket_id == ticket_id))


def at_risk(session, department_id, within_minutes=60, limit=200):
    """Tickets whose next breach falls within the window (soonest first), and those whose
    clock is running past a breach."""
    moment = now()
    horizon = moment + timedelta(minutes=within_minutes)
    soon = session.execute(
        select(Timer.ticket_id, Timer.target, func.min(Timer.due_at))
        .where(Timer.department_id == department_id, Timer.kind == clocks.BREACH,
               Timer.level == 1, Timer.fired_at.is_(None), Timer.due_at <= horizon)
        .group_by(Timer.ticket_id, Timer.target).order_by(func.min(Timer.due_at))
        .limit(limit)).all()
    late = session.execute(
        select(Timer.ticket_id, Timer.target, Timer.due_at)
        .where(Timer.department_id == department_id, Timer.kind == clocks.BREACH,
               Timer.level == 1, Timer.fired_at.is_not(None), Timer.live)
        .order_by(Timer.due_at).limit(limit)).all()
    return {"department_id": department_id, "within_minutes": within_minutes,
            "at_risk": [_entry(row, moment) for row in soon],
            "breached": [_entry(row, moment) for row in late]}


def _entry(row, moment):
    ticket_id, target, due_at = row
    return {"ticket_id": ticket_id, "target": target, "due_at": due_at.isoformat(),
            "seconds_left": round((due_at - moment).total_seconds(), 1)}


def pending_timers(session):
    return session.scalar(select(func.count()).select_from(Timer).where(
        Timer.fired_at.is_(None), Timer.due_at.is_not(None)))


def _jsonable(state):
    return {name: value.isoformat() if hasattr(value, "isoformat") else value
            for name, value in state.items()}
