"""What the fixed stack costs on this machine per unit, before any help-desk logic: a nameko
RPC, a nameko event (one payload, and twenty in one message), a PostgreSQL transaction that
inserts a row, a mail over SMTP into aiosmtpd, parsing the ingest bench's mail, building an
acknowledgement with the email package. Then the least CPU one mail's path through the help
desk can cost when built of these units as the design uses them, against the 8 ms a mail
that 250 mails/s on two cores allow. CPU is counted in every process that does the work:
the caller, the service, RabbitMQ, PostgreSQL.

    .venv/bin/python bench/floors.py [--count 3000]
"""
import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import os  # noqa: E402
import smtplib  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.common import (append_results, cpu_seconds, pids_named,  # noqa: E402
                          throwaway_database, throwaway_vhost, wait_until_quiet)
from bench.floor_service import ONE, SOURCE, THREE  # noqa: E402
from bench.ingest_smtp import DEPARTMENT, bench_mails  # noqa: E402
from helpdesk import config as settings  # noqa: E402
from helpdesk.database import green_psycopg, make_engine  # noqa: E402
from tests.mail import free_port, wait_for_port, wire_bytes  # noqa: E402

CONCURRENT = 8  # callers at once, as a loaded part has
BATCH = 20  # payloads in one event message, for the batched figure
BUDGET_MS = 8.0  # CPU a mail at 250 mails/s on two cores
PAYLOAD = {"ticket_id": 1, "event_id": "0" * 36, "subject": "Нет подключения " * 8,
           "first_message": {"body": "Роутер мигает красным. " * 40}}  # about ticket_created's size


class Meter:
    """CPU seconds spent meanwhile by this process, the given processes, RabbitMQ and
    PostgreSQL; `per(n)` gives milliseconds a unit by who spent them."""

    def __init__(self, **processes):
        self.processes = processes

    def _now(self):
        spent = {name: cpu_seconds(pid) for name, pid in self.processes.items()}
        spent["caller"] = cpu_seconds(os.getpid())
        spent["rabbitmq"] = sum(cpu_seconds(pid) for pid in pids_named(b"beam.smp"))
        spent["postgres"] = sum(cpu_seconds(pid) for pid in pids_named(b"postgres"))
        return spent

    def __enter__(self):
        self.before = self._now()
        return self

    def __exit__(self, *exc):
        self.after = self._now()

    def per(self, units):
        shares = {name: 1000 * (self.after[name] - self.before[name]) / units
                  for name in self.after}
        return {name: ms for name, ms in shares.items() if ms >= 0.005}


def concurrently(count, action):
    pool = eventlet.GreenPool(CONCURRENT)
    for _ in pool.imap(lambda _: action(), range(count)):
        pass


def described(per_unit):
    parts = ", ".join(f"{name} {ms:.2f}" for name, ms in
                      sorted(per_unit.items(), key=lambda item: -item[1]))
    return f"{sum(per_unit.values()):.2f} ms ({parts})"


def rpc_and_events(amqp_uri, management_url, vhost, count):
    from nameko.standalone.events import event_dispatcher
    from helpdesk.rpc import ClusterRpcProxy
    service = subprocess.Popen([sys.executable, str(ROOT / "bench" / "floor_service.py"),
                                amqp_uri])
    try:
        config = {"AMQP_URI": amqp_uri}
        _wait_for_service(config)
        with ClusterRpcProxy(config, timeout=30) as warm:
            for _ in range(50):
                warm.floor.echo(PAYLOAD)
        proxies = eventlet.Queue()
        opened = [ClusterRpcProxy(config, timeout=30) for _ in range(CONCURRENT)]
        for proxy in opened:
            proxies.put(proxy.start())

        def call():
            cluster = proxies.get()
            try:
                cluster.floor.echo(PAYLOAD)
            finally:
                proxies.put(cluster)

        with Meter(service=service.pid) as rpc_cost:
            concurrently(count, call)
        for proxy in opened:
            proxy.stop()
        dispatch = event_dispatcher(config)

        def events(event_type, times, payload):
            with Meter(service=service.pid) as cost:
                concurrently(times, lambda: dispatch(SOURCE, event_type, payload))
                wait_until_quiet(management_url, vhost, calm=1.0)
            return cost

        batches = max(1, count // BATCH)
        return {"rpc": rpc_cost.per(count),
                "event to one": events(ONE, count, PAYLOAD).per(count),
                "event to three": events(THREE, count, PAYLOAD).per(count),
                "event to three, 20 a message": events(THREE, batches, {
                    "events": [PAYLOAD] * BATCH}).per(batches * BATCH)}
    finally:
        service.terminate()
        service.wait(30)


def _wait_for_service(config, seconds=30):
    """Until the service answers: its queues are declared then, the event handler's too."""
    from nameko.exceptions import UnknownService
    from helpdesk.rpc import ClusterRpcProxy
    deadline = time.monotonic() + seconds
    with ClusterRpcProxy(config, timeout=seconds) as cluster:
        while True:
            try:
                return cluster.floor.echo(None)
            except UnknownService:
                if time.monotonic() > deadline:
                    raise
                eventlet.sleep(0.2)


def transactions(url, count):
    """One INSERT and COMMIT a transaction, as every part's smallest write; pre-pinged
    pooled connections as the parts have them."""
    engine = make_engine(url, pool_size=CONCURRENT)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE floor (id bigserial PRIMARY KEY, body text, "
                                "created_at timestamptz NOT NULL DEFAULT now())"))
    body = PAYLOAD["first_message"]["body"]

    def insert():
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO floor (body) VALUES (:body)"), {"body": body})

    with Meter() as cost:
        concurrently(count, insert)
    engine.dispose()
    return cost.per(count)


SMTP_SINK = """
import asyncio, sys
from aiosmtpd.smtp import SMTP
class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
async def serve():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Sink()), "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()
asyncio.run(serve())
"""


def smtp(count, mail):
    """Mails over SMTP into aiosmtpd that only answers 250: the protocol alone."""
    port = free_port()
    log = tempfile.TemporaryFile()
    sink = subprocess.Popen([sys.executable, "-c", SMTP_SINK, str(port)], stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, sink, log)
        clients = eventlet.Queue()
        for _ in range(CONCURRENT):
            clients.put(smtplib.SMTP("127.0.0.1", port))

        def send():
            client = clients.get()
            try:
                client.sendmail("customer@mail.example", [DEPARTMENT], mail)
            finally:
                clients.put(client)

        with Meter(listener=sink.pid) as cost:
            concurrently(count, send)
        while not clients.empty():
            clients.get().quit()
        return cost.per(count)
    finally:
        sink.terminate()
        sink.wait(30)


def in_process(count, action):
    started = time.process_time()
    for _ in range(count):
        action()
    return {"caller": 1000 * (time.process_time() - started) / count}


def parsing(count, mail):
    from services.ingest.parsing import parse
    return in_process(count, lambda: parse(mail))


def acknowledgement(count):
    from services.notify.compose import Outgoing, Party, build
    mail = Outgoing(kind="auto_ack", sender=Party(DEPARTMENT, "Техподдержка"),
                    to=[Party("customer1@mail.example", "Customer 1")],
                    subject="[#1234] Ваше обращение принято: Нет подключения",
                    text="Здравствуйте! Мы получили ваше обращение и ответим в рабочее "
                         "время.\n" * 4,
                    message_id="<ack-1234@isp.example>", in_reply_to="<m1@mail.example>",
                    auto_submitted="auto-replied", loop_marker="helpdesk")
    return in_process(count, lambda: build(mail))


def least_path(fan_out="event to three"):
    """The units one mail needs as the design uses them (see DESIGN.md, the flow of a mail),
    with batches at the sizes the ingest bench sees: (what, how many, unit)."""
    return [
        ("SMTP: the mail received", 1, "smtp"),
        ("PostgreSQL, a transaction a step (raw mail stored, claimed, finished; ticket and "
         "message; notify's event and mail; escalation's clocks; search's document)", 7,
         "transaction"),
        ("raw mail id to a parse worker", 1, "event to one"),
        ("parsing", 1, "parse"),
        ("hand-over to tickets, 5 mails an RPC", 0.2, "rpc"),
        ("ticket_created to notify, escalation and search", 1, fan_out),
        ("acknowledgement built", 1, "acknowledgement"),
    ]


def path_cost(units, path):
    total, steps = 0.0, []
    for what, times, unit in path:
        cost = times * sum(units[unit].values())
        total += cost
        steps.append(f"{what}: {times:g} × {unit} = {cost:.2f} ms")
    return ("; ".join(steps) + f"; **{total:.1f} ms in all, {2000 / total:.0f} mails/s on two "
            f"cores at best** (250 mails/s allow {BUDGET_MS:g} ms)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=3000)
    args = parser.parse_args()
    config = settings.load()
    green_psycopg()
    mail = wire_bytes(bench_mails(1)[0])
    url, drop_database = throwaway_database(config[settings.DATABASE_URL])
    management_url = config[settings.RABBIT_MANAGEMENT_URL]
    vhost, drop_vhost = throwaway_vhost(management_url)
    try:
        units = rpc_and_events(config[settings.AMQP_URI].rstrip("/") + "/" + vhost,
                               management_url, vhost, args.count)
        units.update({"transaction": transactions(url, args.count),
                 "smtp": smtp(args.count // 3, mail),
                 "parse": parsing(args.count, mail),
                 "acknowledgement": acknowledgement(args.count)})
    finally:
        drop_vhost()
        drop_database()
    lines = [f"{name}: {described(cost)}" for name, cost in units.items()]
    lines.append("least CPU a mail, built of these units: " + path_cost(units, least_path()))
    lines.append("the same with ticket_created sent 20 to a message: " + path_cost(
        units, least_path("event to three, 20 a message")))
    for line in lines:
        print(line)
    append_results("Floors: the fixed stack's cost per unit", lines, preamble=(
        f"{CONCURRENT} callers at once; CPU ms a unit summed over the caller, the service, "
        f"RabbitMQ and PostgreSQL; a batched event carries {BATCH} payloads (its cost is per "
        "payload). "
        "No help-desk logic: nameko, kombu, RabbitMQ, psycopg2 and SQLAlchemy Core, aiosmtpd, "
        "the email package, and the help desk's parser."))


if __name__ == "__main__":
    main()
