"""Firing due timers, exactly once across any number of replicas.

A replica claims a batch of due timers with SELECT ... FOR UPDATE SKIP LOCKED, so two never
take the same one, and in one transaction marks them fired, logs them and writes their
events to the outbox. If the process dies before the commit, nothing happened and the timers
are due again for whoever scans next; after the commit, the outbox publishes the events even
across a restart. Each event's id is the timer's, so a consumer that sees one twice (the
outbox is at-least-once) can tell."""
from sqlalchemy import select

from helpdesk import contract, outbox
from services.escalation import clocks, metrics, policies
from services.escalation.models import Clock, Escalation, OutboxEvent, Timer
from services.escalation.tracking import now

BATCH = 500
EVENT_TYPES = {clocks.WARNING: contract.SLA_WARNING, clocks.BREACH: contract.SLA_BREACHED}


def fire_due(session, batch=BATCH):
    """Fire up to `batch` due timers; returns how many fired."""
    moment = now()
    rows = session.execute(
        select(Timer, Clock.priority).join(Clock, Clock.ticket_id == Timer.ticket_id)
        .where(Timer.fired_at.is_(None), Timer.due_at <= moment)
        .order_by(Timer.due_at).limit(batch).with_for_update(of=Timer, skip_locked=True)).all()
    fired, cache = [], {}
    for timer, priority in rows:
        timer.fired_at = moment
        policy, _ = policies.policy_for(session, timer.department_id, priority, cache)
        actions = _actions(policy, timer)
        payload = {"ticket_id": timer.ticket_id, "department_id": timer.department_id,
                   "target": timer.target, "due_at": timer.due_at.isoformat(),
                   "level": timer.level, "actions": actions,
                   "notify_managers": actions.get("notify_managers", True)}
        event = outbox.record(session, OutboxEvent, EVENT_TYPES[timer.kind], payload,
                              event_id=f"sla-{timer.id}")
        session.add(Escalation(timer_id=timer.id, event_id=event["event_id"],
                               ticket_id=timer.ticket_id, department_id=timer.department_id,
                               target=timer.target, kind=timer.kind, level=timer.level,
                               due_at=timer.due_at, fired_at=moment, actions=actions))
        fired.append(timer)
    session.commit()
    for timer in fired:
        metrics.fired(timer, moment)
    return len(fired)


def _actions(policy, timer):
    """What the escalation level asks for (a warning only tells the managers)."""
    if timer.kind == clocks.WARNING or policy is None:
        return {"notify_managers": True}
    levels = policy.get("levels") or []
    level = levels[timer.level - 1] if timer.level <= len(levels) else {}
    return {name: level[name] for name in ("notify_managers", "priority", "department_id",
                                           "assignee_id") if level.get(name) is not None} \
        or {"notify_managers": True}
