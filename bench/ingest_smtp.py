"""Mail ingest throughput: N mails over SMTP from M clients, timed from the first DATA until
every message is committed on a ticket. Starts its own processes (tickets, W parse workers,
the SMTP listener) on a throwaway database; needs PostgreSQL and RabbitMQ running.

    .venv/bin/python bench/ingest_smtp.py --mails 2000 --clients 4 --workers 1 2
"""
import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpdesk import config as settings  # noqa: E402
from helpdesk.database import make_engine  # noqa: E402
from helpdesk.migrations import upgrade_all  # noqa: E402
from services.tickets import departments  # noqa: E402
from tests.fixtures import SYSTEM  # noqa: E402
from tests.mail import customer_mail, free_port, send_many, wait_for_port  # noqa: E402


def throwaway_database(base_url):
    from sqlalchemy.engine import make_url
    name = f"helpdesk_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(make_url(base_url).set(database="postgres").render_as_string(False), 1)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base_url).set(database=name).render_as_string(False)
    upgrade_all(url)
    return url, lambda: _drop(admin, name)


def _drop(admin, name):
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run(config, url, mails, clients, workers):
    engine = make_engine(url, pool_size=2)
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE ingest.raw_mail, tickets.messages, tickets.tickets, "
                                "tickets.customers CASCADE"))
    with Session(engine) as session:
        if not departments.by_address(session, "support@isp.example"):
            departments.create(session, SYSTEM, {"name": "First line",
                                                 "addresses": ["support@isp.example"]})
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "AMQP_URI": config[settings.AMQP_URI],
           "SMTP_ADDRESS": f"127.0.0.1:{port}", "LOG_LEVEL": "WARNING"}
    names = ["tickets", "smtp", *["ingest"] * workers]
    processes = [subprocess.Popen([sys.executable, "-m", "helpdesk.runner", name], env=env)
                 for name in names]
    try:
        wait_for_port(port, processes[1])
        time.sleep(3)  # let the nameko services connect
        batch = [customer_mail("support@isp.example", subject=f"Bench {n}",
                               body="Нет подключения к интернету. " * 20) for n in range(mails)]
        cpu_before = _cpu_seconds(processes)
        started = time.time()
        senders = [threading.Thread(target=send_many, args=(("127.0.0.1", port),
                                                            batch[i::clients]))
                   for i in range(clients)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        smtp_done = time.time()
        while _processed(engine) < mails:
            time.sleep(0.05)
        finished = time.time()
        cpu_spent = {name: after - cpu_before[name]
                     for name, after in _cpu_seconds(processes).items()}
        latencies = _latencies(engine)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        engine.dispose()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(f"{mails} mails, {clients} SMTP clients, {workers} parse worker(s): "
          f"SMTP accepted {mails / (smtp_done - started):.0f} mails/s; end to end "
          f"{mails / (finished - started):.0f} mails/s; latency DATA->committed "
          f"p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms",
          flush=True)
    print("  CPU per mail: " + ", ".join(f"{name} {seconds / mails * 1000:.2f} ms"
                                         for name, seconds in cpu_spent.items()), flush=True)


def _cpu_seconds(processes):
    """CPU time (user + system) used so far by each help desk process, by PostgreSQL and by
    RabbitMQ, and by this script (the SMTP clients)."""
    ticks = os.sysconf("SC_CLK_TCK")
    spent = {}
    for process in processes:
        name = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")[-2].decode()
        spent[f"{name}[{process.pid}]"] = _process_cpu(process.pid) / ticks
    for name, comm in (("postgres", b"postgres"), ("rabbitmq", b"beam.smp")):
        spent[name] = sum(_process_cpu(pid) for pid in _pids_named(comm)) / ticks
    spent["smtp clients"] = _process_cpu(os.getpid()) / ticks
    return spent


def _process_cpu(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except FileNotFoundError:  # a backend that has gone
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime


def _pids_named(comm):
    for stat in Path("/proc").glob("[0-9]*/comm"):
        try:
            if stat.read_bytes().strip() == comm:
                yield int(stat.parent.name)
        except OSError:
            continue


def _processed(engine):
    with engine.connect() as connection:
        return connection.execute(text(
            "SELECT count(*) FROM ingest.raw_mail WHERE status = 'processed'")).scalar()


def _latencies(engine):
    with engine.connect() as connection:
        return sorted(connection.execute(text(
            "SELECT extract(epoch FROM processed_at - received_at) FROM ingest.raw_mail"
        )).scalars())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    config = settings.load()
    url, drop = throwaway_database(config[settings.DATABASE_URL])
    try:
        for workers in args.workers:
            run(config, url, args.mails, args.clients, workers)
    finally:
        drop()


if __name__ == "__main__":
    main()
