"""SLA breaches at scale: N open tickets whose first-response deadlines all fall at the same
moment — Monday morning after a weekend: the requests came in while the department was
closed, and it opens at a whole minute a few minutes ahead — three replicas of the
escalation service, and the department's manager mailed through a real SMTP server. Prints how late each breach fired and was received,
whether any fired twice, and how many mails the manager got; appends them to bench/RESULTS.md.

Every part runs as its own process (`python -m helpdesk.runner NAME`) on a throwaway database
and RabbitMQ vhost; needs PostgreSQL and RabbitMQ running.

    .venv/bin/python bench/escalation_breaches.py --tickets 10000 --replicas 3
"""
import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kombu import Connection, Exchange, Queue
from sqlalchemy import text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import percentile, throwaway_database, throwaway_vhost  # noqa: E402
from helpdesk import config as settings, contract, event_queues  # noqa: E402
from helpdesk.database import make_engine  # noqa: E402
from services.tickets import agents, departments  # noqa: E402
from tests.fixtures import SYSTEM  # noqa: E402
from tests.relay import Relay  # noqa: E402

MANAGER = "boss@isp.example"
ADMIN, INGEST = contract.system("bench"), contract.system("ingest")


class BreachCounter(threading.Thread):
    """Receives every sla_breached event on a queue of its own: (event_id, ticket, due, at)."""

    def __init__(self, amqp_uri):
        super().__init__(daemon=True)
        self.amqp_uri, self.received, self.ready = amqp_uri, [], threading.Event()

    def run(self):
        exchange = Exchange("escalation.events", type="topic", durable=True)
        queue = Queue("bench-breaches", exchange, routing_key=contract.SLA_BREACHED,
                      auto_delete=True)
        with Connection(self.amqp_uri) as connection:
            with connection.Consumer(queue, callbacks=[self.take], accept=["json"]):
                self.ready.set()
                while True:
                    try:
                        connection.drain_events(timeout=1)
                    except TimeoutError:
                        pass
                    except Exception:  # the bench deleted its vhost: done
                        return

    def take(self, body, message):
        payload = body if isinstance(body, dict) else json.loads(body)
        self.received.append((payload["event_id"], payload["ticket_id"],
                              datetime.fromisoformat(payload["due_at"]),
                              datetime.now(timezone.utc)))
        message.ack()




def setup_desk(engine):
    with Session(engine) as session:
        department = departments.create(session, SYSTEM, {"name": "Первая линия",
                                                          "addresses": ["support@isp.example"]})
        agents.create(session, SYSTEM, {"name": "Начальник смены", "email": MANAGER,
                                        "role": "manager", "password": "secret-pass-1",
                                        "department_ids": [department["id"]]})
    return department


def open_tickets(rpc, count, chunk=500):
    """Tickets as mail ingest hands them over; returns (seconds taken, ticket ids)."""
    started, ids = time.monotonic(), []
    for first in range(0, count, chunk):
        replies = [rpc.tickets.ingest_message.call_async(INGEST, {
            "message_id": f"<bench-{n}@mail.example>", "from_address": "anna@mail.example",
            "to": ["support@isp.example"], "subject": f"Нет интернета {n}",
            "body_text": "С утра нет подключения."}) for n in range(first, min(count, first + chunk))]
        ids.extend(reply.result()["ticket_id"] for reply in replies)
    return time.monotonic() - started, ids


def scalar(engine, sql):
    with engine.connect() as connection:
        return connection.scalar(text(sql))


def wait(condition, seconds):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.5)
    return condition()


def run(args, config, url, amqp_uri, workdir):
    """Tickets are opened with only the tickets service up (their events wait in the queues),
    so the deadlines fall within a minute or so; then notify and the replicas start."""
    from helpdesk.rpc import ClusterRpcProxy
    engine = make_engine(url, pool_size=2)
    department = setup_desk(engine)
    relay = Relay(workdir / "relay").start()
    rpc_config = {**config, "AMQP_URI": amqp_uri}
    event_queues.declare_all(rpc_config)
    env = {**os.environ, "DATABASE_URL": url, "AMQP_URI": amqp_uri, "LOG_LEVEL": "WARNING",
           **{key: str(value) for key, value in relay.settings().items()}}
    start = lambda name: subprocess.Popen([sys.executable, "-m", "helpdesk.runner", name],
                                          env=env)
    processes = [start("tickets")]
    counter = BreachCounter(amqp_uri)
    counter.start()
    counter.ready.wait(30)
    try:
        with ClusterRpcProxy(rpc_config, timeout=120) as rpc:
            wait(lambda: _answers(rpc, ["tickets"]), 60)
            took, ids = open_tickets(rpc, args.tickets)
            print(f"{args.tickets} tickets opened in {took:.1f} s "
                  f"({args.tickets / took:.0f}/s)", flush=True)
            processes += [start(name) for name in ["notify"] + ["escalation"] * args.replicas]
            wait(lambda: _answers(rpc, ["escalation", "notify"]), 60)
            opening = opens_at(args.follow_seconds)
            calendar = rpc.escalation.save_calendar(ADMIN, {
                "name": "Открывается в " + opening.strftime("%H:%M"), "time_zone": "UTC",
                "hours": {WEEKDAYS[opening.weekday()]: [[opening.strftime("%H:%M"), "24:00"]]}})
            rpc.escalation.save_policy(ADMIN, {"name": "Первая линия",
                                               "department_id": department["id"],
                                               "calendar_id": calendar["id"],
                                               "first_response_minutes": args.target_minutes})
        wait(lambda: scalar(engine, "SELECT count(*) FROM sla.timers WHERE due_at IS NOT NULL "
                                    "AND kind = 'breach'") >= args.tickets, 900)
        spread = scalar(engine, "SELECT extract(epoch FROM max(due_at) - min(due_at)) "
                                "FROM sla.timers")
        first_due = scalar(engine, "SELECT extract(epoch FROM min(due_at) - now()) "
                                   "FROM sla.timers")
        print(f"timers set; the department opens at {opening:%H:%M} UTC, deadlines spread "
              f"over {spread:.1f} s, the first due in {first_due:.0f} s; waiting for them",
              flush=True)
        wait(lambda: len(counter.received) >= args.tickets, args.target_minutes * 60 + 900)
        wait(lambda: _mails_to_manager(relay) >= args.tickets, 900)
        last_mail = time.monotonic()
        time.sleep(5)  # a second firing or publish would show by now
        return report(args, engine, counter, relay, spread, took, last_mail)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        relay.stop()
        engine.dispose()


WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def opens_at(after_seconds):
    """The whole minute, at least `after_seconds` from now, when the department opens: time
    enough for the replicas to set every ticket's timer before anything is due."""
    moment = datetime.now(timezone.utc) + timedelta(seconds=after_seconds + 60)
    return moment.replace(second=0, microsecond=0)


def _answers(rpc, services):
    try:
        for service in services:
            getattr(rpc, service).health()
        return True
    except Exception:
        return False


def _mails_to_manager(relay):
    return sum(1 for path in relay.directory.glob("*.eml")
               if MANAGER.encode() in path.read_bytes()[:4096])


def report(args, engine, counter, relay, spread, took, last_mail):
    fired = [row for row in _rows(engine, "SELECT extract(epoch FROM fired_at - due_at) "
                                          "FROM sla.escalations WHERE kind = 'breach'")]
    received = [(at - due).total_seconds() for _, _, due, at in counter.received]
    events = Counter(ticket for _, ticket in {(e, t) for e, t, _, _ in counter.received})
    mails = relay.mails()
    alerts = Counter(mail["Message-ID"].split(".")[1] for mail in mails
                     if MANAGER in str(mail["To"]))
    lines = [
        f"- {args.tickets} open tickets that came in while the department was closed, all "
        f"due {args.target_minutes} business minute(s) after it opens (deadlines spread over "
        f"{spread:.0f} s), "
        f"{args.replicas} escalation replicas (tickets opened at {args.tickets / took:.0f}/s)",
        f"- breaches fired: {len(fired)} (tickets with more than one breach event: "
        f"{sum(1 for n in events.values() if n > 1)}; deliveries {len(counter.received)})",
        f"- fired after due time: p50 {percentile(fired, .5):.2f} s, p99 "
        f"{percentile(fired, .99):.2f} s, max {max(fired):.2f} s",
        f"- event received after due time: p50 {percentile(received, .5):.2f} s, p99 "
        f"{percentile(received, .99):.2f} s, max {max(received):.2f} s; "
        f"within 5 s: {sum(1 for d in received if d <= 5)}/{len(received)}",
        f"- manager mails: {sum(alerts.values())} for {len(alerts)} tickets "
        f"(more than one for a ticket: {sum(1 for n in alerts.values() if n > 1)})",
    ]
    print("\n".join(lines), flush=True)
    return lines


def _rows(engine, sql):
    with engine.connect() as connection:
        return [float(value) for value in connection.scalars(text(sql))]


def append_results(lines):
    machine = f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    with (ROOT / "bench" / "RESULTS.md").open("a") as results:
        results.write(f"\n## Escalation: breaches at scale — {datetime.now():%Y-%m-%d %H:%M} "
                      f"({machine})\n\n" + "\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--target-minutes", type=int, default=1,
                        help="first-response target, in business minutes after opening")
    parser.add_argument("--follow-seconds", type=int, default=240,
                        help="time the replicas get to set every timer before opening")
    args = parser.parse_args()
    # a stopped bench still drops its database and vhost, and stops its processes
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    config = settings.load()
    url, drop_database = throwaway_database(config[settings.DATABASE_URL])
    vhost, drop_vhost = throwaway_vhost(config["RABBIT_MANAGEMENT_URL"])
    amqp_uri = config[settings.AMQP_URI].rstrip("/") + "/" + vhost
    try:
        with tempfile.TemporaryDirectory() as workdir:
            lines = run(args, config, url, amqp_uri, Path(workdir))
        append_results(lines)
    finally:
        drop_database()
        drop_vhost()


if __name__ == "__main__":
    main()
