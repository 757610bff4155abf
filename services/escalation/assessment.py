"""Where a ticket stands against its SLA policy: for each clock the target, due time,
business time used and left, and whether it is met, breached, running or paused; and the
timers still to fire (the warning at a share of the target, then each escalation level).

A policy is a plain dict (see policies.as_dict): `<target>_minutes` (None: no target),
`warning_percent` (None: no warning) and `levels` [{"after_minutes": 0, ...}, ...]."""
from helpdesk.contract import Status
from services.escalation import clocks


def assess(facts, policy, calendar, now):
    """(states, timers) of a ticket (parsed facts) under `policy`, as of `now`."""
    states, timers = [], []
    for run in clocks.runs(facts):
        minutes = policy.get(f"{run.target}_minutes")
        if minutes is None:
            continue
        target = minutes * 60
        spans = clocks.running_spans(run, facts["statuses"])
        used = clocks.elapsed(calendar, spans, now)
        state = {"target": run.target, "cycle": run.cycle, "target_seconds": target,
                 "started_at": run.started_at, "stopped_at": run.stopped_at,
                 "due_at": clocks.reached_at(calendar, spans, target),
                 "elapsed_seconds": round(used, 3),
                 "remaining_seconds": round(target - used, 3),
                 "state": _state(run, spans, used, target)}
        states.append(state)
        if run.stopped_at is None and not _closed(facts):
            timers.extend(_timers(run, spans, calendar, policy, target))
    return states, timers


def _state(run, spans, used, target):
    if used > target:
        return "breached"
    if run.stopped_at is not None:
        return "met"
    return "running" if spans and spans[-1][1] is None else "paused"


def _timers(run, spans, calendar, policy, target):
    found = []
    if policy.get("warning_percent"):
        found.append(clocks.Timer(run.target, run.cycle, clocks.WARNING, 0, clocks.reached_at(
            calendar, spans, target * policy["warning_percent"] / 100)))
    for number, level in enumerate(policy.get("levels") or [{"after_minutes": 0}], start=1):
        found.append(clocks.Timer(run.target, run.cycle, clocks.BREACH, number, clocks.reached_at(
            calendar, spans, target + level.get("after_minutes", 0) * 60)))
    return found


def _closed(facts):
    """A closed ticket keeps no clock: closing is final, unlike resolving."""
    return facts["status"] == Status.CLOSED
