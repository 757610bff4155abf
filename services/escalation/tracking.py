"""Keeping each ticket's timers in step with its story. Every ticket event leads here: the
ticket's row is locked, its facts fetched fresh from tickets, the clocks recomputed and the
timers set — so two replicas handling two events of one ticket take turns, and the later
one always works from the newer facts."""
from datetime import datetime, timezone

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from services.escalation import assessment, clocks, metrics, policies
from services.escalation.models import Clock, Timer


def now():
    return datetime.now(timezone.utc)


def follow(session, ticket_id, fetch_facts):
    """Recompute a ticket's clocks from its current facts (`fetch_facts(ticket_id)`)."""
    policies.lock_for_reading(session)
    session.execute(insert(Clock).values(ticket_id=ticket_id, stale=False, updated_at=now())
                    .on_conflict_do_nothing())
    clock = session.scalar(select(Clock).where(Clock.ticket_id == ticket_id).with_for_update())
    facts = fetch_facts(ticket_id)
    recompute(session, clock, facts)
    session.commit()


def refresh_stale(session, batch=200):
    """Recompute clocks whose policy or calendar changed, from their stored facts."""
    rows = session.scalars(select(Clock).where(Clock.stale)
                           .limit(batch).with_for_update(skip_locked=True)).all()
    cache = {}
    for clock in rows:
        if clock.facts is not None:
            recompute(session, clock, clock.facts, cache)
        clock.stale = False
    session.commit()
    return len(rows)


def recompute(session, clock, facts, cache=None):
    """Set the clock's facts and its timers (the clock row is locked by the caller)."""
    parsed = clocks.parse_facts(facts)
    clock.facts, clock.department_id = facts, facts["department_id"]
    clock.priority, clock.status = facts["priority"], facts["status"]
    clock.updated_at, clock.stale = now(), False
    policy, calendar = policies.policy_for(session, clock.department_id, clock.priority, cache)
    states, wanted = ([], []) if policy is None else \
        assessment.assess(parsed, policy, calendar, now())
    _record_first_response(clock, states)
    _set_timers(session, clock, {(t.cycle, t.kind, t.level): t for t in wanted})
    return states


def _record_first_response(clock, states):
    first = next((s for s in states if s["target"] == clocks.FIRST_RESPONSE), None)
    if first is None or first["stopped_at"] is None or clock.first_response_seconds is not None:
        return
    clock.first_response_seconds = first["elapsed_seconds"]
    metrics.FIRST_RESPONSE.labels(str(clock.department_id)).observe(first["elapsed_seconds"])


def _set_timers(session, clock, wanted):
    """Unfired timers follow the new due times; a fired one never fires again, and stops
    being live once its cycle is over; unfired timers of an ended cycle go."""
    existing = {(row.cycle, row.kind, row.level): row for row in session.scalars(
        select(Timer).where(Timer.ticket_id == clock.ticket_id)
        .order_by(Timer.id).with_for_update())}
    gone = []
    for key, row in existing.items():
        timer = wanted.get(key)
        if row.fired_at is not None:
            row.live = timer is not None
        elif timer is None:
            gone.append(row.id)
        else:
            row.due_at, row.department_id = timer.due_at, clock.department_id
    if gone:
        session.execute(delete(Timer).where(Timer.id.in_(gone)))
    new = [{"ticket_id": clock.ticket_id, "department_id": clock.department_id,
            "target": timer.target, "cycle": timer.cycle, "kind": timer.kind,
            "level": timer.level, "due_at": timer.due_at, "live": True}
           for key, timer in wanted.items() if key not in existing]
    if new:
        session.execute(insert(Timer).values(new).on_conflict_do_nothing())
