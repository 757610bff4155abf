"""Firing due timers, exactly once across any number of replicas.

A replica claims a batch of due timers with SELECT ... FOR UPDATE SKIP LOCKED, so two never
take the same one, and in one transaction marks them fired, logs them and writes their
events to the outbox. If the process dies before the commit, nothing happened and the timers
are due again for whoever scans next; after the commit, the outbox publishes the events even
across a restart. Each event's id is the timer's, so a consumer that sees one twice (the
outbox is at-least-once) can tell.

The batch is claimed and marked in one UPDATE and logged with two multi-row INSERTs: ten
thousand breaches due at one instant (Monday morning) cost a millisecond each through the
ORM's unit of work, too slow to fire them all within seconds on two cores."""
from sqlalchemy import insert, select, update

from helpdesk import contract, outbox
from services.escalation import clocks, metrics, policies
from services.escalation.models import Clock, Escalation, OutboxEvent, Timer
from services.escalation.tracking import now

BATCH = 500
EVENT_TYPES = {clocks.WARNING: contract.SLA_WARNING, clocks.BREACH: contract.SLA_BREACHED}


def fire_due(session, batch=BATCH):
    """Fire up to `batch` due timers; returns how many fired."""
    moment = now()
    timers = _claim(session, moment, batch)
    cache, events, escalations = {}, [], []
    for timer in timers:
        policy, _ = policies.policy_for(session, timer.department_id, timer.priority, cache)
        actions = _actions(policy, timer)
        payload = {"ticket_id": timer.ticket_id, "department_id": timer.department_id,
                   "target": timer.target, "due_at": timer.due_at.isoformat(),
                   "level": timer.level, "actions": actions,
                   "notify_managers": actions.get("notify_managers", True)}
        events.append((EVENT_TYPES[timer.kind], payload, f"sla-{timer.id}"))
        escalations.append({"timer_id": timer.id, "event_id": f"sla-{timer.id}",
                            "ticket_id": timer.ticket_id, "department_id": timer.department_id,
                            "target": timer.target, "kind": timer.kind, "level": timer.level,
                            "due_at": timer.due_at, "fired_at": moment, "actions": actions})
    if escalations:
        outbox.record_many(session, OutboxEvent, events)
        session.execute(insert(Escalation.__table__), escalations)
    session.commit()
    for timer in timers:
        metrics.fired(timer, moment)
    return len(timers)


def _claim(session, moment, batch):
    """Mark up to `batch` due timers fired, skipping those another replica holds; returns
    them with their ticket's priority (a timer whose clock is gone is not fired)."""
    timers = Timer.__table__
    due = (select(timers.c.id, Clock.priority)
           .join(Clock, Clock.ticket_id == timers.c.ticket_id)
           .where(timers.c.fired_at.is_(None), timers.c.due_at <= moment)
           .order_by(timers.c.due_at).limit(batch)
           .with_for_update(of=timers, skip_locked=True).cte("due"))
    return session.execute(
        update(timers).where(timers.c.id == due.c.id).values(fired_at=moment)
        .returning(timers.c.id, timers.c.ticket_id, timers.c.department_id, timers.c.target,
                   timers.c.kind, timers.c.level, timers.c.due_at, due.c.priority)).all()


def _actions(policy, timer):
    """What the escalation level asks for (a warning only tells the managers)."""
    if timer.kind == clocks.WARNING or policy is None:
        return {"notify_managers": True}
    levels = policy.get("levels") or []
    level = levels[timer.level - 1] if timer.level <= len(levels) else {}
    return {name: level[name] for name in ("notify_managers", "priority", "department_id",
                                           "assignee_id") if level.get(name) is not None} \
        or {"notify_managers": True}
