"""The agents' API under a mixed workload at rising request rates: open queues, open tickets,
reply, search — sent on a fixed schedule (open loop: a slow answer does not slow the
sender, and each latency counts from when the request was due, so queueing shows), for each
rate in turn. Prints p50/p99 per rate and the first rate where p99 passes 100 ms; appends
them to bench/RESULTS.md. Starts its own gateway, tickets, search and notify on a throwaway
database (everything on this machine: the load generator shares its cores).

    .venv/bin/python bench/api_load.py --rates 50 100 200 300 --seconds 20

`--mix me=100` measures the floor under every request: the caller's identity, one RPC to
tickets and back. Each rate also prints the CPU each part spent per request.
"""
import argparse
import http.client
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (analyse, cpu_by_part, cpu_spent_since, percentile,  # noqa: E402
                          stop_parts, throwaway_database, throwaway_vhost, wait_until_quiet)
from helpdesk import config as settings  # noqa: E402
from helpdesk import event_queues  # noqa: E402
from helpdesk.cli import wait_healthy  # noqa: E402
from helpdesk.database import make_engine  # noqa: E402
from services.tickets import agents, departments, lifecycle  # noqa: E402
from services.tickets.models import Agent  # noqa: E402
from tests.fixtures import SYSTEM  # noqa: E402
from tests.mail import free_port  # noqa: E402

MIX = "queue=40,ticket=30,search=20,reply=10"
KINDS = ("queue", "ticket", "search", "reply", "me")
CLIENTS = "load generator"  # this script, in the CPU figures
WORDS = ("подключение", "интернет", "роутер", "счёт", "скорость", "тариф")


def seed(url, tickets):
    """Two departments, an agent of the first, `tickets` tickets: (token, department, ids)."""
    engine = make_engine(url, pool_size=2)
    with Session(engine) as session:
        support = departments.create(session, SYSTEM, {"name": "Техподдержка",
                                                       "addresses": ["support@isp.example"]})
        departments.create(session, SYSTEM, {"name": "Биллинг"})
        agent = agents.create(session, SYSTEM, {"name": "Ольга", "email": "olga@isp.example",
                                                "department_ids": [support["id"]]})
        token = agents.issue_token(session, session.get(Agent, agent["id"]))
        ids = [lifecycle.create(session, SYSTEM, {
            "subject": f"{random.choice(WORDS).capitalize()}: обращение {n}",
            "body": " ".join(random.choices(WORDS, k=30)), "department_id": support["id"],
            "customer": {"email": f"c{n % 500}@mail.example"}})["id"] for n in range(tickets)]
    engine.dispose()
    return token, support["id"], ids


class ApiAgent:
    """One agent's keep-alive connection to the API. http.client, not requests: the load
    generator shares the machine's two cores, and requests spent 1.1–1.5 ms of them a call."""

    def __init__(self, gateway, token):
        self.gateway = gateway
        self.headers = {"Authorization": f"Bearer {token}"}
        self.connection = None

    def send(self, method, path, params=None, body=None):
        """The answer's status; the body is read (the connection is kept) and dropped."""
        if params:
            path += "?" + urlencode(params)
        headers, data = self.headers, None
        if body is not None:
            headers = {**headers, "Content-Type": "application/json"}
            data = json.dumps(body).encode()
        for attempt in (1, 2):  # the gateway may have closed an idle keep-alive connection
            if self.connection is None:
                self.connection = http.client.HTTPConnection(*self.gateway, timeout=60)
            try:
                self.connection.request(method, "/api/v1" + path, data, headers)
                answer = self.connection.getresponse()
                answer.read()
                return answer.status
            except (ConnectionError, http.client.HTTPException):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise


def one_request(agent, kind, department, ids):
    if kind == "queue":
        return agent.send("GET", "/tickets", {"department_id": department, "status": "new",
                                              "per_page": 50})
    if kind == "ticket":
        return agent.send("GET", f"/tickets/{random.choice(ids)}")
    if kind == "search":
        return agent.send("GET", "/search", {"q": random.choice(WORDS)})
    if kind == "me":
        return agent.send("GET", "/me")
    return agent.send("POST", f"/tickets/{random.choice(ids)}/replies",
                      body={"body": "Проверили линию, всё в порядке."})


def mix_of(text):
    """"queue=40,ticket=30" → [("queue", 40), ("ticket", 30)]; a CLI message if malformed."""
    mix = []
    for part in text.split(","):
        kind, _, weight = part.partition("=")
        if kind.strip() not in KINDS or not weight.strip().isdigit():
            raise argparse.ArgumentTypeError(
                f"{part!r}: give kind=weight, the kinds being {', '.join(KINDS)}")
        mix.append((kind.strip(), int(weight)))
    return mix


def run_rate(gateway, token, department, ids, rate, seconds, clients, mix):
    """Send `rate` requests a second for `seconds`; latencies (s) from when each was due."""
    kinds = [kind for kind, weight in mix for _ in range(weight)]
    local = threading.local()
    results, errors = [], []

    def send(due, kind):
        if not hasattr(local, "agent"):
            local.agent = ApiAgent(gateway, token)
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        status = one_request(local.agent, kind, department, ids)
        took = time.monotonic() - due
        (results if status < 400 else errors).append((kind, took))

    start = time.monotonic() + 0.5
    with ThreadPoolExecutor(clients) as pool:
        for n in range(int(rate * seconds)):
            pool.submit(send, start + n / rate, random.choice(kinds))
    return results, errors


def wait_until_relayed(url, seconds=900):
    """Until the tickets service has published every event its outbox holds."""
    engine = make_engine(url, pool_size=1)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                if not connection.scalar(text("SELECT count(*) FROM tickets.event_outbox "
                                              "WHERE published_at IS NULL")):
                    return
            time.sleep(1)
        raise RuntimeError(f"the seeded tickets' events were not all published in {seconds} s")
    finally:
        engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=int, nargs="+", default=[50, 100, 200, 300])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--mix", type=mix_of, default=mix_of(MIX),
                        help=f"kinds of request and their weights (default {MIX})")
    args = parser.parse_args()
    config = settings.load()
    url, drop_database = throwaway_database(config[settings.DATABASE_URL])
    vhost, drop_vhost = throwaway_vhost(config[settings.RABBIT_MANAGEMENT_URL])
    amqp_uri = config[settings.AMQP_URI].rstrip("/") + "/" + vhost
    gateway = free_port()
    outbound = tempfile.mkdtemp(prefix="helpdesk-bench-mail-")
    env = {**os.environ, "DATABASE_URL": url, "AMQP_URI": amqp_uri,
           "GATEWAY_ADDRESS": f"127.0.0.1:{gateway}", "OUTBOUND_MAILDIR": outbound,
           "SMTP_RELAY_HOST": "", "LOG_LEVEL": "WARNING"}
    event_queues.declare_all({**config, "DATABASE_URL": url, "AMQP_URI": amqp_uri})
    processes = {name: subprocess.Popen([sys.executable, "-m", "helpdesk.runner", name], env=env)
                 for name in ("tickets", "search", "notify", "gateway")}
    lines = []
    try:
        wait_healthy(f"http://127.0.0.1:{gateway}", list(processes.values()), seconds=60)
        token, department, ids = seed(url, args.tickets)
        # the seeded tickets' events go out through the outbox relay, 200 every 5 s; indexing
        # and acknowledging them is not the agents' workload (earlier figures had it mixed in)
        wait_until_relayed(url)
        wait_until_quiet(config[settings.RABBIT_MANAGEMENT_URL], vhost)
        analyse(url)
        at = ("127.0.0.1", gateway)
        print(f"{args.tickets} tickets seeded and their events relayed; measuring", flush=True)
        run_rate(at, token, department, ids, 20, 3, args.clients, args.mix)  # warm-up
        knee = None
        for rate in args.rates:
            cpu_before = cpu_by_part(processes, CLIENTS)
            results, errors = run_rate(at, token, department, ids, rate, args.seconds,
                                       args.clients, args.mix)
            cpu = cpu_spent_since(cpu_before, processes, CLIENTS)
            took = [seconds for _, seconds in results]
            p50, p99 = statistics.median(took), percentile(took, 0.99)
            by_kind = ", ".join(
                f"{kind} p99 {percentile([s for k, s in results if k == kind], 0.99) * 1000:.0f}"
                for kind, _ in args.mix)
            answered = len(results) + len(errors)
            by_part = ", ".join(f"{name} {seconds / answered * 1000:.1f}" for name, seconds
                                in sorted(cpu.items(), key=lambda item: -item[1]))
            line = (f"{rate} requests/s for {args.seconds:g} s: p50 {p50 * 1000:.1f} ms, "
                    f"p99 {p99 * 1000:.1f} ms ({by_kind} ms), errors {len(errors)}; CPU "
                    f"{sum(cpu.values()) / answered * 1000:.1f} ms a request ({by_part})")
            print(line, flush=True)
            lines.append(line)
            if knee is None and p99 > 0.1:
                knee = rate
        lines.append(f"p99 first passes 100 ms at: {knee or 'none of the rates tried'} "
                     "requests/s")
        print(lines[-1])
    finally:
        stop_parts(processes.values())
        drop_vhost()
        drop_database()
    with (ROOT / "bench" / "RESULTS.md").open("a") as results:
        results.write(f"\n## API under a mixed agent workload — {datetime.now():%Y-%m-%d} on "
                      f"{platform.node()} ({len(os.sched_getaffinity(0))} cores; gateway, "
                      "tickets, search, notify, PostgreSQL, RabbitMQ and the load generator "
                      f"on the same machine)\n\n{args.tickets} tickets; mix "
                      + ", ".join(f"{kind} {weight}%" for kind, weight in args.mix)
                      + ".\n\n"
                      + "".join(f"- {line}\n" for line in lines))


if __name__ == "__main__":
    main()
