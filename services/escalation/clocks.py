"""SLA clocks of one ticket, worked out from scratch from the ticket's facts (its status
timeline and when the customer and the agents wrote) and the policy that applies.

Recomputing from the whole story, rather than nudging stored state event by event, is what
makes the event handlers order-safe and idempotent: a late or repeated event only leads to
the same answer. The three clocks:
  first_response  from creation to the first agent reply;
  next_response   from a customer message that follows an agent reply, to the next reply
                  (each such message starts a new cycle of the clock);
  resolution      from creation until the ticket is resolved or closed.
Every clock stands still while the ticket is pending (waiting for the customer) or resolved,
and counts business time only (the policy's calendar).
"""
from dataclasses import dataclass
from datetime import datetime

from helpdesk.contract import Direction, Status

FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION = "first_response", "next_response", "resolution"
TARGETS = (FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION)
PAUSED = {Status.PENDING, Status.RESOLVED, Status.CLOSED}
FINISHED = {Status.RESOLVED, Status.CLOSED}
WARNING, BREACH = "warning", "breach"


@dataclass(frozen=True)
class Run:
    """One cycle of one clock: when it started and, once met, when it stopped."""
    target: str
    cycle: str
    started_at: datetime
    stopped_at: datetime | None


@dataclass(frozen=True)
class Timer:
    """A moment something must happen: the warning, or escalation level 1, 2, ..."""
    target: str
    cycle: str
    kind: str
    level: int
    due_at: datetime | None   # None while the clock stands still


def parse_facts(facts):
    """Facts as sent by tickets.sla_facts, with times turned into datetimes."""
    return {**facts,
            "created_at": _time(facts["created_at"]),
            "statuses": [(_time(at), status) for at, status in facts["statuses"]],
            "messages": [(_time(at), direction, message_id)
                         for at, direction, message_id in facts["messages"]]}


def runs(facts):
    """The current cycle of each clock the ticket has (parsed facts)."""
    created = facts["created_at"]
    replies = [at for at, direction, _ in facts["messages"] if direction == Direction.OUTBOUND]
    found = [Run(FIRST_RESPONSE, FIRST_RESPONSE, created, replies[0] if replies else None)]
    waiting = _next_response(facts["messages"])
    if waiting is not None:
        found.append(waiting)
    status_now = facts["statuses"][-1][1] if facts["statuses"] else facts["status"]
    finished_at = facts["statuses"][-1][0] if status_now in FINISHED else None
    found.append(Run(RESOLUTION, RESOLUTION, created, finished_at))
    return found


def _next_response(messages):
    """The latest cycle of the next-response clock, or None before the first reply."""
    replied, latest = False, None
    for at, direction, message_id in messages:
        if direction == Direction.OUTBOUND:
            replied = True
            if latest is not None and latest.stopped_at is None:
                latest = Run(NEXT_RESPONSE, latest.cycle, latest.started_at, at)
        elif replied and (latest is None or latest.stopped_at is not None):
            latest = Run(NEXT_RESPONSE, f"{NEXT_RESPONSE}:{message_id}", at, None)
    return latest


def running_spans(run, statuses):
    """The stretches in which a clock ran: from its start to its stop, without the times the
    ticket was pending or resolved. The last one is open-ended (None) if it runs now."""
    spans = []
    for index, (since, status) in enumerate(statuses):
        until = statuses[index + 1][0] if index + 1 < len(statuses) else None
        if status in PAUSED:
            continue
        start = max(since, run.started_at)
        end = _earliest(until, run.stopped_at)
        if end is None or end > start:
            spans.append((start, end))
    return spans


def reached_at(calendar, spans, seconds):
    """When the clock reaches `seconds` of business time, or None if it stands still first."""
    done = 0.0
    for start, end in spans:
        available = float("inf") if end is None else calendar.between(start, end)
        if done + available >= seconds:
            return calendar.add(start, seconds - done)
        done += available
    return None


def elapsed(calendar, spans, now):
    return sum(calendar.between(start, now if end is None else min(end, now))
               for start, end in spans if start < now)


def _earliest(first, second):
    if first is None:
        return second
    return first if second is None else min(first, second)


def _time(value):
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
