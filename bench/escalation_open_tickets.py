"""SLA clocks at scale: N open tickets with their clocks running, and a trickle falling due.

The deadlines are spread over the coming days, as in a real centre; a steady trickle of
first-response breaches falls due during the measurement window. Prints how late each
breach fired, whether every due one fired exactly once and nothing else did, and what a
scan costs: the escalation process's CPU time (from /proc) per run of its fire_due timer,
idle and while firing, with its PostgreSQL backends' share; appends them to
bench/RESULTS.md. With --policy-change, an admin changes a department's policy during the
window, and every clock of that department is recomputed while the breaches fire.

The tickets are not opened through the services (100,000 would take half an hour): their
stories (created, replied, customer follow-ups, pending) are made up, and the rows the
escalation service would have made for them — sla.clocks, sla.timers, and for what fell due
before now sla.escalations and the published sla.event_outbox — are worked out by its own
modules (assessment, policies, firing) and written with COPY. The firing path needs no other
service (it reads only the sla schema and publishes to RabbitMQ), so only the escalation
service runs, as its own process (`python -m helpdesk.runner escalation`), on a throwaway
database and RabbitMQ vhost; the bench counts the sla_breached events itself.

    flock /tmp/bench.lock .venv/bin/python bench/escalation_open_tickets.py --tickets 100000
"""
import argparse
import csv
import io
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (append_results, cpu_seconds, percentile, stop_parts,  # noqa: E402
                          throwaway_database, throwaway_vhost)
from bench.escalation_breaches import BreachCounter  # noqa: E402
from helpdesk import config as settings, event_queues  # noqa: E402
from helpdesk.database import with_driver  # noqa: E402
from services.escalation import assessment, clocks, firing, policies  # noqa: E402
from services.escalation.models import Policy  # noqa: E402
from tests.mail import free_port  # noqa: E402

TITLE = "Escalation: open tickets with their clocks running"
# the replicas' connections' application_name (helpdesk.database names each engine after its
# service and process): whose CPU counts
SERVICE = "helpdesk escalation (pid %"
OFFICE_HOURS = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
OFFICE = {"name": "Офис, Москва", "country": "RU", "time_zone": "Europe/Moscow",
          "hours": OFFICE_HOURS}
# department: (name, first response, next response, resolution in business minutes,
#              in office hours (else round the clock), share of the tickets in %)
DEPARTMENTS = {1: ("Первая линия", 60, 120, 1440, False, 35),
               2: ("Биллинг", 240, 480, 2400, True, 15),
               3: ("Сеть (вторая линия)", 120, 240, 2880, False, 20),
               4: ("Телевидение", 240, 480, 2400, True, 10),
               5: ("Подключения", 480, 960, 4800, True, 10),
               6: ("Корпоративные клиенты", 120, 240, 1440, True, 10)}
# The tickets that fall due during the measurement: a duty shift round the clock, whose
# warning (at half the target) fired long ago and whose second level comes after it.
DUTY = (7, "Дежурная смена", 60, 120, 480)
# story: (share in %, oldest in seconds) — new and unanswered, answered, answered and then
# written to again by the customer, waiting for the customer
STORIES = {"new": (30, 8 * 3600), "replied": (30, 6 * 86400), "follow_up": (15, 6 * 86400),
           "pending": (25, 12 * 86400)}
PRIORITIES = {"low": 10, "normal": 70, "high": 15, "urgent": 5}
HORIZON = timedelta(minutes=30)  # nothing seeded falls due this soon, but the trickle
SETTLE = timedelta(minutes=3)  # the run goes on this long after the window at most
FIRING_LAG = timedelta(seconds=0.5)  # when the timers due before the seeding had fired
TIMER_COLUMNS = ("id", "ticket_id", "department_id", "target", "cycle", "kind", "level",
                 "due_at", "fired_at", "live")
CLOCK_COLUMNS = ("ticket_id", "department_id", "priority", "status", "facts",
                 "first_response_seconds", "stale", "updated_at")


# --- the desk's policies, through the service's own module ---------------------------------
def set_policies(engine):
    """Calendars and policies as an admin saves them; {department: (policy, calendar)}."""
    with Session(engine) as session:
        office = policies.save_calendar(session, OFFICE)
        for department, (name, first, following, resolution, in_office, _) in \
                DEPARTMENTS.items():
            levels = [{"after_minutes": 0}, {"after_minutes": 60, "priority": "high"}]
            policies.save_policy(session, {
                "name": name, "department_id": department, "first_response_minutes": first,
                "next_response_minutes": following, "resolution_minutes": resolution,
                "warning_percent": 80, "calendar_id": office["id"] if in_office else None,
                "levels": levels})
        department, name, first, following, resolution = DUTY
        policies.save_policy(session, {
            "name": name, "department_id": department, "first_response_minutes": first,
            "next_response_minutes": following, "resolution_minutes": resolution,
            "warning_percent": 50, "levels": [{"after_minutes": 0}, {"after_minutes": 30}]})
        return {number: policies.policy_for(session, number, "normal")
                for number in (*DEPARTMENTS, DUTY[0])}


# --- made-up stories, and the rows the service would have made for them -------------------
def _pick(rng, weighted):
    return rng.choices(list(weighted), [share for share in weighted.values()])[0]


def background_facts(rng, ticket_id, moment):
    """A ticket's facts as tickets.sla_facts tells them (times as ISO strings)."""
    department = rng.choices(list(DEPARTMENTS), [d[5] for d in DEPARTMENTS.values()])[0]
    story = _pick(rng, {name: share for name, (share, _) in STORIES.items()})
    created = moment - timedelta(seconds=rng.uniform(120, STORIES[story][1]))
    statuses, messages = [[created, "new"]], [[created, "inbound", ticket_id * 10]]
    if story != "new":
        # most first replies come within the target, some well after it
        replied = created + min(moment - created, timedelta(
            seconds=rng.expovariate(1 / (DEPARTMENTS[department][1] * 60 * 0.6))))
        messages.append([replied, "outbound", ticket_id * 10 + 1])
        statuses.append([replied, "pending" if story == "pending" else "open"])
        if story == "follow_up":
            messages.append([replied + (moment - replied) * rng.uniform(0.1, 0.9), "inbound",
                             ticket_id * 10 + 2])
    return _facts(ticket_id, department, _pick(rng, PRIORITIES), created, statuses, messages)


def due_facts(ticket_id, due_at):
    """A new duty-shift ticket whose first response falls due at `due_at` (round the clock:
    exactly the target after it came in)."""
    created = due_at - timedelta(minutes=DUTY[2])
    return _facts(ticket_id, DUTY[0], "normal", created, [[created, "new"]],
                  [[created, "inbound", ticket_id * 10]])


def _facts(ticket_id, department, priority, created, statuses, messages):
    iso = lambda rows: [[at.isoformat(), *rest] for at, *rest in rows]  # noqa: E731
    return {"ticket_id": ticket_id, "department_id": department, "priority": priority,
            "status": statuses[-1][1], "created_at": created.isoformat(),
            "statuses": iso(statuses), "messages": iso(messages)}


def ticket_rows(facts, policy, calendar, moment):
    """(clock row, timer rows) as tracking.recompute would have left them at `moment`,
    with what fell due before it fired (and the first-response timers the reply ended)."""
    parsed = clocks.parse_facts(facts)
    states, wanted = assessment.assess(parsed, policy, calendar, moment)
    timers = [(timer, timer.due_at is not None and timer.due_at <= moment, True)
              for timer in wanted]
    replies = [at for at, direction, _ in parsed["messages"] if direction == "outbound"]
    if replies:  # the first-response cycle ended with the reply: what fell due before it
        before = _as_of(parsed, replies[0])
        timers += [(timer, True, False) for timer in
                   assessment.assess(before, policy, calendar, replies[0])[1]
                   if timer.target == clocks.FIRST_RESPONSE and timer.due_at is not None
                   and timer.due_at <= replies[0]]
    first = next((s for s in states if s["target"] == clocks.FIRST_RESPONSE), None)
    latest = max([parsed["created_at"]] + [at for at, *_ in parsed["messages"]]
                 + [at for at, _ in parsed["statuses"]])
    clock = (facts["ticket_id"], facts["department_id"], facts["priority"], facts["status"],
             json.dumps(facts, ensure_ascii=False),
             first["elapsed_seconds"] if first and first["stopped_at"] else None, False,
             latest + timedelta(seconds=1))
    return clock, [(facts["ticket_id"], facts["department_id"], facts["priority"], timer,
                    fired, live) for timer, fired, live in timers]


def _as_of(parsed, moment):
    statuses = [row for row in parsed["statuses"] if row[0] < moment]
    return {**parsed, "status": statuses[-1][1], "statuses": statuses,
            "messages": [row for row in parsed["messages"] if row[0] < moment]}


_DESK = {}  # department -> (policy, calendar), set before the workers fork


def _background_chunk(job):
    """Workers' share: tickets whose timers all fall outside (moment, moment + HORIZON)."""
    seed, ticket_ids, moment = job
    rng, found = random.Random(seed), []
    for ticket_id in ticket_ids:
        while True:
            facts = background_facts(rng, ticket_id, moment)
            clock, timers = ticket_rows(facts, *_DESK[facts["department_id"]], moment)
            if not any(moment < t.due_at <= moment + HORIZON
                       for *_, t, fired, _ in timers if t.due_at is not None):
                break
        found.append((clock, timers))
    return found


def seed(engine, desk, ticket_ids, due_count, window, args):
    """Background tickets first (in worker processes), then the ones due in the window,
    which opens `args.idle_seconds` after they are written; returns (seconds, window start,
    {timer id: due_at} of the trickle, counts)."""
    started, moment = time.monotonic(), datetime.now(timezone.utc)
    split = len(ticket_ids) - due_count
    background, duty = ticket_ids[:split], ticket_ids[split:]
    _DESK.update(desk)
    jobs = [(args.seed * 100_000 + n, background[n::64], moment) for n in range(64)]
    with multiprocessing.get_context("fork").Pool(os.cpu_count()) as pool:
        made = [row for chunk in pool.imap_unordered(_background_chunk, jobs) for row in chunk]
    counts = write_rows(engine, made, 1)
    opens = datetime.now(timezone.utc) + timedelta(seconds=args.idle_seconds + 20)
    if opens + window + SETTLE > moment + HORIZON:
        raise SystemExit("seeding took too long: the window would meet the background "
                         "tickets' deadlines; nothing measured")
    step = window / max(1, due_count)
    rng = random.Random(args.seed)
    due = [(ticket_id, opens + step * (n + rng.random())) for n, ticket_id in enumerate(duty)]
    now = datetime.now(timezone.utc)
    made = [ticket_rows(due_facts(ticket_id, at), *desk[DUTY[0]], now) for ticket_id, at in due]
    counts = counts + write_rows(engine, made, counts["timers"] + 1)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE sla.clocks, sla.timers, sla.escalations, "
                                "sla.event_outbox"))
        trickle = dict(connection.execute(text(
            "SELECT id, due_at FROM sla.timers WHERE fired_at IS NULL AND due_at > now()"
            " AND due_at <= :until"), {"until": opens + window}).all())
    return time.monotonic() - started, opens, trickle, counts


def write_rows(engine, made, first_id):
    """COPY the clocks, timers, and for the fired timers their escalation and event."""
    clock_rows, timer_rows, escalations, events = [], [], [], []
    timer_id = first_id
    for clock, timers in made:
        clock_rows.append(clock)
        for ticket_id, department, priority, timer, fired, live in timers:
            fired_at = timer.due_at + FIRING_LAG if fired else None
            timer_rows.append((timer_id, ticket_id, department, timer.target, timer.cycle,
                               timer.kind, timer.level, timer.due_at, fired_at, live))
            if fired:
                escalation, event = _fired(timer_id, ticket_id, department, timer, fired_at)
                escalations.append(escalation)
                events.append(event)
            timer_id += 1
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        _copy(cursor, "sla.clocks", CLOCK_COLUMNS, clock_rows)
        _copy(cursor, "sla.timers", TIMER_COLUMNS, timer_rows)
        _copy(cursor, "sla.escalations", ESCALATION_COLUMNS, escalations)
        _copy(cursor, "sla.event_outbox", ("id", "event_type", "payload", "created_at",
                                           "published_at"), events)
        cursor.execute("SELECT setval(pg_get_serial_sequence('sla.timers', 'id'), %s)",
                       (timer_id,))
        connection.commit()
    finally:
        connection.close()
    return Counter(clocks=len(clock_rows), timers=len(timer_rows), fired=len(escalations),
                   paused=sum(1 for row in timer_rows if row[7] is None),
                   waiting=sum(1 for row in timer_rows if row[7] is not None and row[8] is None))


ESCALATION_COLUMNS = ("timer_id", "event_id", "ticket_id", "department_id", "target", "kind",
                      "level", "due_at", "fired_at", "actions")


def _fired(timer_id, ticket_id, department, timer, fired_at):
    """The escalation log's row and the published event of a timer fired at `fired_at`,
    as firing.fire_due writes them."""
    actions = firing._actions(_DESK[department][0], timer)
    event_id = f"sla-{timer_id}"
    payload = {"ticket_id": ticket_id, "department_id": department, "target": timer.target,
               "due_at": timer.due_at.isoformat(), "level": timer.level, "actions": actions,
               "notify_managers": actions.get("notify_managers", True), "event_id": event_id}
    return ((timer_id, event_id, ticket_id, department, timer.target, timer.kind,
             timer.level, timer.due_at, fired_at, json.dumps(actions)),
            (event_id, firing.EVENT_TYPES[timer.kind], json.dumps(payload), fired_at,
             fired_at + FIRING_LAG))


def _copy(cursor, table, columns, rows):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)  # None is an empty field: NULL in CSV
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)",
                       buffer)


# --- the escalation service, watched -----------------------------------------------------
class Replica:
    """One escalation process with its own metrics port."""

    def __init__(self, env, log_dir, number):
        self.port = free_port()
        with open(Path(log_dir) / f"escalation{number}.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "helpdesk.runner", "escalation"],
                env={**env, "METRICS_PORT": str(self.port)}, stdout=log,
                stderr=subprocess.STDOUT)

    def entrypoints(self):
        """{entrypoint: (runs, seconds spent)} from the process's /metrics."""
        body = requests.get(f"http://127.0.0.1:{self.port}/metrics", timeout=10).text
        found = {}
        for family in text_string_to_metric_families(body):
            if family.name != "helpdesk_entrypoint_duration_seconds":
                continue
            for sample in family.samples:
                name = sample.labels.get("entrypoint")
                runs, spent = found.get(name, (0.0, 0.0))
                if sample.name.endswith("_count"):
                    runs = sample.value
                elif sample.name.endswith("_sum"):
                    spent = sample.value
                found[name] = (runs, spent)
        return found


def snapshot(engine, replicas):
    """Now: CPU seconds of the replicas and of their PostgreSQL backends, their entrypoints."""
    with engine.connect() as connection:
        backends = connection.scalars(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name LIKE :service"), {"service": SERVICE}).all()
    entrypoints = Counter()
    for replica in replicas:
        for name, (runs, spent) in replica.entrypoints().items():
            entrypoints[(name, "runs")] += runs
            entrypoints[(name, "seconds")] += spent
    return {"at": time.monotonic(), "entrypoints": entrypoints,
            "cpu": sum(cpu_seconds(replica.process.pid) for replica in replicas),
            "backends": {pid: cpu_seconds(pid) for pid in backends}}


def phase(before, after):
    """What a stretch between two snapshots cost."""
    runs = lambda name: after["entrypoints"][(name, "runs")] - \
        before["entrypoints"][(name, "runs")]  # noqa: E731
    spent = lambda name: after["entrypoints"][(name, "seconds")] - \
        before["entrypoints"][(name, "seconds")]  # noqa: E731
    database = sum(seconds - before["backends"].get(pid, 0.0)
                   for pid, seconds in after["backends"].items())
    return {"seconds": after["at"] - before["at"], "cpu": after["cpu"] - before["cpu"],
            "database": database, "scans": runs("fire_due"),
            "fire_due": spent("fire_due"),
            "others": {name: (runs(name), spent(name))
                       for name in ("refresh_stale", "relay_events", "observe")}}


def wait(condition, seconds, step=0.5):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(step)
    return condition()


def sleep_until(moment):
    time.sleep(max(0.0, (moment - datetime.now(timezone.utc)).total_seconds()))


def scalar(engine, sql, **params):
    with engine.connect() as connection:
        return connection.scalar(text(sql), params)


def watch(args, engine, url, amqp_uri, opens, trickle, log_dir):
    """Start the replicas, measure them idle until the window opens and while it fires."""
    event_queues.declare_all({"AMQP_URI": amqp_uri})  # tickets and notify queues fill too
    counter = BreachCounter(amqp_uri)
    counter.start()
    counter.ready.wait(30)
    env = {**os.environ, "DATABASE_URL": url, "AMQP_URI": amqp_uri,
           "LOG_LEVEL": "WARNING"}
    replicas = [Replica(env, log_dir, n + 1) for n in range(args.replicas)]
    try:
        ready = lambda: all(_scanned(replica) for replica in replicas)  # noqa: E731
        if not wait(ready, 60):
            raise SystemExit("the escalation service did not start: see its log")
        started = datetime.now(timezone.utc)
        time.sleep(5)  # past the start: the eager observe, the first connections
        idle_from = snapshot(engine, replicas)
        sleep_until(opens - timedelta(seconds=1))
        window_from = snapshot(engine, replicas)
        changed = None
        if args.policy_change:
            sleep_until(opens + timedelta(seconds=10))
            changed = change_policy(engine)
        closes = opens + timedelta(seconds=args.window_seconds)
        sleep_until(closes)
        fired = lambda: scalar(engine, "SELECT count(*) FROM sla.timers WHERE id = ANY(:ids) "
                               "AND fired_at IS NOT NULL", ids=list(trickle))  # noqa: E731
        wait(lambda: fired() >= len(trickle), SETTLE.total_seconds() - 10)
        time.sleep(5)  # a second firing, a late publish or a stray timer would show by now
        window_to = snapshot(engine, replicas)
        return {"started": started, "idle": phase(idle_from, window_from),
                "window": phase(window_from, window_to), "all": phase(idle_from, window_to),
                "events": list(counter.received), "changed": changed and (*changed, scalar(
                    engine, "SELECT count(*) FROM sla.clocks WHERE stale"))}
    finally:
        stop_parts([replica.process for replica in replicas])


def change_policy(engine):
    """What an admin may do while the clocks run: the first line's second escalation level
    now raises the priority to urgent. No deadline moves, but every clock of the department
    is marked stale and recomputed; returns (how many were marked, seconds the save took)."""
    started = time.monotonic()
    with Session(engine) as session:
        row = session.scalar(select(Policy).where(Policy.department_id == 1))
        data = {name: value for name, value in policies.policy_dict(row).items()
                if name != "id"}
        data["levels"] = [{"after_minutes": 0}, {"after_minutes": 60, "priority": "urgent"}]
        policies.save_policy(session, data, row.id)
    took = time.monotonic() - started
    return scalar(engine, "SELECT count(*) FROM sla.clocks WHERE stale"), took


def _scanned(replica):
    try:
        return replica.entrypoints().get("fire_due", (0, 0))[0] >= 1
    except requests.RequestException:
        return False


# --- figures -------------------------------------------------------------------------------
def report(args, engine, seeded, opens, trickle, watched):
    seconds, counts = seeded
    with engine.connect() as connection:
        fired = connection.execute(text(
            "SELECT timer_id, extract(epoch FROM fired_at - due_at) FROM sla.escalations "
            "WHERE fired_at >= :started"), {"started": watched["started"]}).all()
    delays = [float(delay) for timer_id, delay in fired if timer_id in trickle]
    stray = [timer_id for timer_id, _ in fired if timer_id not in trickle]
    early = [timer_id for timer_id, delay in fired if delay < 0]
    twice = Counter(timer_id for timer_id, _ in fired)
    deliveries = Counter(event_id for event_id, *_ in watched["events"])
    wanted = {f"sla-{timer_id}" for timer_id in trickle}
    received = [(at - due).total_seconds() for event_id, _, due, at in watched["events"]
                if event_id in wanted]
    window = watched["window"]
    changed = [] if not watched["changed"] else [
        f"10 s into the window an admin changed the first line's policy (no deadline "
        f"moved; the save took {watched['changed'][1]:.2f} s): {watched['changed'][0]} "
        f"clocks to recompute, {watched['changed'][0] - watched['changed'][2]} recomputed "
        f"by the end of the run"]
    lines = [
        f"{counts['clocks']} open tickets with their SLA clocks running, {counts['timers']} "
        f"timers "
        f"({counts['waiting']} waiting, {counts['paused']} standing still while the ticket "
        f"is pending, {counts['fired']} fired before the run), seeded in {seconds:.0f} s "
        f"(rows worked out by services.escalation, written with COPY); {len(trickle)} "
        f"first-response breaches due over {args.window_seconds} s "
        f"({len(trickle) / args.window_seconds:.0f}/s), {args.replicas} escalation "
        f"replica(s)",
        f"breaches fired: {len(set(trickle) & set(twice))}/{len(trickle)} due, more than "
        f"once: {sum(1 for n in twice.values() if n > 1)}; fired though not due: "
        f"{len(stray)}, before their due time: {len(early)}; "
        f"sla_breached events {len(wanted & set(deliveries))}/{len(trickle)}, delivered "
        f"more than once: {sum(1 for n in deliveries.values() if n > 1)}, for other timers: "
        f"{len(set(deliveries) - wanted)}",
        f"fired after due time: p50 {percentile(delays, .5):.2f} s, "
        f"p99 {percentile(delays, .99):.2f} s, max {max(delays, default=float('nan')):.2f} s; "
        f"event received after due time: p50 {percentile(received, .5):.2f} s, "
        f"p99 {percentile(received, .99):.2f} s, max "
        f"{max(received, default=float('nan')):.2f} s",
        *changed,
        _costs("idle (nothing due)", watched["idle"]),
        _costs("firing the trickle", window),
        _costs("the whole run", watched["all"]),
    ]
    print("\n".join(f"- {line}" for line in lines), flush=True)
    return lines


def _costs(name, measured):
    scans = measured["scans"] or float("nan")
    others = ", ".join(f"{entrypoint} {runs:.0f}× {1000 * spent / (runs or float('nan')):.1f} "
                       f"ms" for entrypoint, (runs, spent) in measured["others"].items())
    return (f"{name}, {measured['seconds']:.0f} s: escalation process "
            f"{100 * measured['cpu'] / measured['seconds']:.1f}% of a core, its PostgreSQL "
            f"backends {100 * measured['database'] / measured['seconds']:.1f}%; "
            f"{measured['scans']:.0f} fire_due scans, per scan {1000 * measured['cpu'] / scans:.1f}"
            f" ms CPU in the process (all its timers) + "
            f"{1000 * measured['database'] / scans:.1f} ms in PostgreSQL; fire_due itself "
            f"{1000 * measured['fire_due'] / scans:.1f} ms a run (wall); {others}")


def run(args, url, amqp_uri, log_dir):
    engine = create_engine(with_driver(url), pool_size=2, future=True)
    try:
        desk = set_policies(engine)
        ticket_ids = list(range(1, args.tickets + 1))
        random.Random(args.seed).shuffle(ticket_ids)  # the trickle's tickets among the rest
        window = timedelta(seconds=args.window_seconds)
        seconds, opens, trickle, counts = seed(engine, desk, ticket_ids, args.due, window, args)
        print(f"{args.tickets} tickets seeded in {seconds:.0f} s: {dict(counts)}; "
              f"{len(trickle)} due from {opens:%H:%M:%S} UTC over {args.window_seconds} s",
              flush=True)
        if len(trickle) != args.due:
            raise SystemExit(f"{len(trickle)} timers due in the window, not {args.due}")
        watched = watch(args, engine, url, amqp_uri, opens, trickle, log_dir)
        return report(args, engine, (seconds, counts), opens, trickle, watched)
    finally:
        engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=2_000,
                        help="tickets whose first response falls due during the window")
    parser.add_argument("--window-seconds", type=int, default=120)
    parser.add_argument("--idle-seconds", type=int, default=60,
                        help="the replicas' time with nothing due, before the window")
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--policy-change", action="store_true",
                        help="change a department's policy 10 s into the window")
    parser.add_argument("--no-results", action="store_true",
                        help="print the figures without appending them to RESULTS.md")
    args = parser.parse_args()
    # a stopped bench still drops its database and vhost, and stops its processes
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    config = settings.load()
    url, drop_database = throwaway_database(config[settings.DATABASE_URL])
    print(f"database {make_url(url).database}", flush=True)
    vhost, drop_vhost = throwaway_vhost(config["RABBIT_MANAGEMENT_URL"])
    amqp_uri = config[settings.AMQP_URI].rstrip("/") + "/" + vhost
    try:
        with tempfile.TemporaryDirectory() as log_dir:
            try:
                lines = run(args, url, amqp_uri, log_dir)
            finally:
                for log in Path(log_dir).glob("*.log"):
                    tail = log.read_text(errors="replace").strip().splitlines()[-20:]
                    if tail:
                        print(f"--- {log.name} (last lines)\n" + "\n".join(tail), flush=True)
        if not args.no_results:
            append_results(TITLE, lines)
    finally:
        drop_database()
        drop_vhost()


if __name__ == "__main__":
    main()
