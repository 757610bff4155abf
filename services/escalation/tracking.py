"""Keeping each ticket's timers in step with its story. Every ticket event leads here: the
ticket's row is locked, its facts fetched fresh from tickets (a new ticket's first facts
come with its event), the clocks recomputed and the timers set — so two replicas handling
two events of one ticket take turns, and the later one always works from the newer facts."""
from datetime import datetime, timezone

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from services.escalation import assessment, clocks, metrics, policies
from services.escalation.models import Clock, Timer

# Cached statements, a batch's rows their parameters (one INSERT: see make_engine in
# helpdesk.database); `.values([...])` compiled a new statement for every batch, five times
# the cost a row
_NEW_CLOCKS = insert(Clock.__table__).on_conflict_do_nothing() \
    .returning(Clock.__table__.c.ticket_id)
_NEW_TIMERS = insert(Timer.__table__).on_conflict_do_nothing().returning(Timer.__table__.c.id)


def now():
    return datetime.now(timezone.utc)


def follow(session, ticket_id, fetch_facts, first_facts=None):
    """Recompute a ticket's clocks from its current facts (`fetch_facts(ticket_id)`).

    `first_facts` are those its ticket_created event carried: used only for a ticket never
    followed before. Once any event was followed they may be older than what is stored (the
    events of one ticket can arrive out of order, or again), so the facts are fetched."""
    follow_many(session, [(ticket_id, first_facts)],
                lambda ids: [fetch_facts(number) for number in ids])


def follow_many(session, wanted, fetch_facts):
    """`follow` for several tickets in one transaction (a batch of events): `wanted` is
    [(ticket_id, first_facts or None)], `fetch_facts(ticket_ids)` the current facts of those
    that exist. Clocks and timers are locked in ticket order, so batches of two replicas
    never wait for each other in a circle. Returns the ids of the tickets followed."""
    policies.lock_for_reading(session)
    ids = sorted({ticket_id for ticket_id, _ in wanted})
    session.execute(_NEW_CLOCKS, [{"ticket_id": number, "stale": False, "updated_at": now()}
                                  for number in ids])
    clocks = {clock.ticket_id: clock for clock in session.scalars(
        select(Clock).where(Clock.ticket_id.in_(ids)).order_by(Clock.ticket_id)
        .with_for_update())}
    facts = _facts_for(clocks, wanted, fetch_facts)
    existing = {}
    for row in session.scalars(select(Timer).where(Timer.ticket_id.in_(ids))
                               .order_by(Timer.ticket_id, Timer.id).with_for_update()):
        existing.setdefault(row.ticket_id, []).append(row)
    cache, new = {}, []
    for number in ids:
        if number in facts:
            recompute(session, clocks[number], facts[number], cache,
                      existing.get(number, []), new)
        elif clocks[number].facts is None:  # no such ticket: nothing to time
            session.delete(clocks[number])
    if new:
        session.execute(_NEW_TIMERS, new)
    session.commit()
    return sorted(facts)


def _facts_for(clocks, wanted, fetch_facts):
    """A ticket's carried first facts count only if it was never followed and no other event
    of it in the batch needs the current ones."""
    carried, fetch = {}, set()
    for ticket_id, first in wanted:
        if first and clocks[ticket_id].facts is None:
            carried.setdefault(ticket_id, first)
        else:
            fetch.add(ticket_id)
    facts = {number: found for number, found in carried.items() if number not in fetch}
    if fetch:
        facts.update({found["ticket_id"]: found for found in fetch_facts(sorted(fetch))})
    return facts


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


def recompute(session, clock, facts, cache=None, existing=None, new=None):
    """Set the clock's facts and its timers (the clock row is locked by the caller).
    `existing`: its timers, already read and locked; `new`: where to gather the timers to
    insert (the caller inserts them), instead of inserting them here."""
    parsed = clocks.parse_facts(facts)
    clock.facts, clock.department_id = facts, facts["department_id"]
    clock.priority, clock.status = facts["priority"], facts["status"]
    clock.updated_at, clock.stale = now(), False
    policy, calendar = policies.policy_for(session, clock.department_id, clock.priority, cache)
    states, wanted = ([], []) if policy is None else \
        assessment.assess(parsed, policy, calendar, now())
    _record_first_response(clock, states)
    _set_timers(session, clock, {(t.cycle, t.kind, t.level): t for t in wanted}, existing, new)
    return states


def _record_first_response(clock, states):
    first = next((s for s in states if s["target"] == clocks.FIRST_RESPONSE), None)
    if first is None or first["stopped_at"] is None or clock.first_response_seconds is not None:
        return
    clock.first_response_seconds = first["elapsed_seconds"]
    metrics.FIRST_RESPONSE.labels(str(clock.department_id)).observe(first["elapsed_seconds"])


def _set_timers(session, clock, wanted, rows=None, new=None):
    """Unfired timers follow the new due times; a fired one never fires again, and stops
    being live once its cycle is over; unfired timers of an ended cycle go."""
    if rows is None:
        rows = session.scalars(select(Timer).where(Timer.ticket_id == clock.ticket_id)
                               .order_by(Timer.id).with_for_update())
    existing = {(row.cycle, row.kind, row.level): row for row in rows}
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
    added = [{"ticket_id": clock.ticket_id, "department_id": clock.department_id,
              "target": timer.target, "cycle": timer.cycle, "kind": timer.kind,
              "level": timer.level, "due_at": timer.due_at, "live": True}
             for key, timer in wanted.items() if key not in existing]
    if new is not None:
        new.extend(added)
    elif added:
        session.execute(_NEW_TIMERS, added)
