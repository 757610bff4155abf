"""Mail ingest end to end: N mails over SMTP from M concurrent clients, timed from the first
mail sent until every message is committed on its ticket and the ticket is in the search
index; with 1, 2, 4 … parse workers. Each run starts its own processes (tickets, search, the
SMTP listener, W parse workers; with --everything also notify, whose acknowledgements go to a
local Maildir, and escalation, which starts every ticket's SLA clocks) on a throwaway
database and RabbitMQ vhost, all on this machine beside PostgreSQL and RabbitMQ. With --rt,
Request Tracker 5's rt-mailgate is fed the same mails (the first --rt-mails of them) in the
same run (bench/request_tracker.py) and the ratio is printed. Figures are appended to
bench/RESULTS.md. On a shared machine take the benchmark lock:

    flock /tmp/bench.lock .venv/bin/python bench/ingest_smtp.py --mails 5000 --clients 8 \
        --workers 1 2 4 --everything --rt
"""
import argparse
import itertools
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (append_results, cpu_by_part, cpu_spent_since,  # noqa: E402
                          percentile, start_part, stop_parts, throwaway_database,
                          throwaway_vhost)
from helpdesk import config as settings  # noqa: E402
from helpdesk.database import make_engine  # noqa: E402
from services.tickets import departments  # noqa: E402
from tests.fixtures import SYSTEM  # noqa: E402
from tests.mail import (customer_mail, free_port, free_port_block, process_env,  # noqa: E402
                        send_many, wait_for_port)
from tests.processes import wait_until_serving  # noqa: E402

__all__ = ["throwaway_database"]  # other benches take it from here
DEPARTMENT = "support@isp.example"
SMTP_CLIENTS = "smtp clients"  # this script, in the CPU figures


def bench_mails(count):
    return [customer_mail(DEPARTMENT, subject=f"Bench {n}", sender=f"Customer {n} "
                          f"<customer{n}@mail.example>",
                          body="Нет подключения к интернету, роутер мигает красным. " * 12)
            for n in range(count)]


def run(config, mails, clients, workers, everything):
    """One run on a fresh database and vhost; returns the figures as a dict."""
    url, drop_database = throwaway_database(config[settings.DATABASE_URL])
    vhost, drop_vhost = throwaway_vhost(config[settings.RABBIT_MANAGEMENT_URL])
    engine = make_engine(url, pool_size=2)
    try:
        with Session(engine) as session:
            departments.create(session, SYSTEM, {"name": "First line", "addresses": [DEPARTMENT]})
        amqp_uri = config[settings.AMQP_URI].rstrip("/") + "/" + vhost
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as folder:
            return _timed(engine, {**config, "AMQP_URI": amqp_uri},
                          process_env({"DATABASE_URL": url, "AMQP_URI": amqp_uri},
                                      LOG_LEVEL="WARNING", OUTBOUND_MAILDIR=f"{folder}/outbox"),
                          folder, mails, clients, workers, everything)
    finally:
        engine.dispose()
        drop_vhost()
        drop_database()


def _timed(engine, config, env, folder, mails, clients, workers, everything):
    port = free_port()
    services = ["tickets", "search", *(["notify", "escalation"] if everything else [])]
    names = [*services, "smtp", *(f"ingest{n + 1}" for n in range(workers))]
    metrics_ports = dict(zip(names, itertools.count(free_port_block(len(names)))))
    parts = {}
    for name in names:
        part_env = {**env, "METRICS_PORT": str(metrics_ports[name])}
        if name == "smtp":
            part_env["SMTP_ADDRESS"] = f"127.0.0.1:{port}"
        parts[name] = start_part(name.rstrip("0123456789"), part_env, folder)
    try:
        with open(Path(folder) / "smtp.log", "rb") as log:
            wait_for_port(port, parts["smtp"], log)
        wait_until_serving(config, services)
        time.sleep(2)  # the parse workers' consumers
        cpu_before = cpu_by_part(parts, SMTP_CLIENTS)
        started = time.time()
        senders = [threading.Thread(target=send_many, args=(("127.0.0.1", port),
                                                            mails[i::clients]))
                   for i in range(clients)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        sent = time.time()
        committed = _wait_for(engine, "SELECT count(*) FROM ingest.raw_mail "
                                      "WHERE status = 'processed'", len(mails))
        indexed = _wait_for(engine, "SELECT count(*) FROM search.tickets", len(mails))
        cpu_spent = cpu_spent_since(cpu_before, parts, SMTP_CLIENTS)
        batches = _batch_sizes(metrics_ports, names)
        acknowledged = _acknowledgements(engine, everything, len(mails), indexed)
    finally:
        stop_parts(parts.values())
    to_committed, to_indexed = _latencies(engine)
    return {"mails": len(mails), "clients": clients, "workers": workers,
            "smtp_rate": len(mails) / (sent - started),
            "committed_rate": len(mails) / (committed - started),
            "rate": len(mails) / (indexed - started),
            "committed_p50": percentile(to_committed, 0.5),
            "committed_p99": percentile(to_committed, 0.99),
            "indexed_p50": percentile(to_indexed, 0.5), "indexed_p99": percentile(to_indexed, 0.99),
            "acknowledged": acknowledged and {**acknowledged, "rate": len(mails) / (
                acknowledged["at"] - started)},
            "batches": batches, "cpu_ms": {name: seconds / len(mails) * 1000 for name, seconds in cpu_spent.items()}}


def _acknowledgements(engine, everything, expected, indexed):
    """How many acknowledgements notify had sent when the last ticket was indexed, and when
    it had sent them all: the mail it owes does not count in the end-to-end time, but is
    not left out of sight either."""
    if not everything:
        return None
    count = "SELECT count(*) FROM notify.outbox WHERE status = 'sent'"
    with engine.connect() as connection:
        by_then = connection.execute(text(count)).scalar()
    return {"sent_when_indexed": by_then, "at": _wait_for(engine, count, expected)}


def _batch_sizes(metrics_ports, names):
    """Mean items per batch, by batch name, over every process that batches."""
    sums, counts = {}, {}
    for name in names:
        scrape = requests.get(f"http://127.0.0.1:{metrics_ports[name]}/metrics", timeout=5).text
        for family in text_string_to_metric_families(scrape):
            for sample in family.samples:
                if sample.name.startswith("helpdesk_batch_items_"):
                    batch = sample.labels["batch"]
                    if sample.name.endswith("_sum"):
                        sums[batch] = sums.get(batch, 0) + sample.value
                    elif sample.name.endswith("_count"):
                        counts[batch] = counts.get(batch, 0) + sample.value
    return {batch: sums[batch] / counts[batch] for batch in counts if counts[batch]}


def _wait_for(engine, count_sql, expected, seconds=600):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            if connection.execute(text(count_sql)).scalar() >= expected:
                return time.time()
        # a count over raw_mail costs PostgreSQL about 3 ms: polled every 50 ms it was
        # a tenth of a millisecond of "PostgreSQL" a mail that the help desk never spent
        time.sleep(0.25)
    raise RuntimeError(f"not all {expected} there after {seconds} s: {count_sql}")


def _latencies(engine):
    """Per mail, seconds from its arrival at the listener to its commit on a ticket, and to its
    ticket's entry in the search index."""
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT extract(epoch FROM r.processed_at - r.received_at), "
            "       extract(epoch FROM s.indexed_at - r.received_at) "
            "FROM ingest.raw_mail r JOIN tickets.messages m ON m.raw_mail_id = r.id "
            "JOIN search.tickets s ON s.ticket_id = m.ticket_id")).all()
    return [float(row[0]) for row in rows], [float(row[1]) for row in rows]


def describe(figures):
    cpu = ", ".join(f"{name} {ms:.2f}" for name, ms in figures["cpu_ms"].items())
    batches = ", ".join(f"{name} {size:.1f}" for name, size in figures["batches"].items())
    return (f"{figures['workers']} parse worker(s): {figures['rate']:.0f} mails/s end to end "
            f"(committed {figures['committed_rate']:.0f}/s, SMTP accepted "
            f"{figures['smtp_rate']:.0f}/s); latency arrival→committed p50 "
            f"{figures['committed_p50'] * 1000:.0f} ms, p99 {figures['committed_p99'] * 1000:.0f} "
            f"ms; arrival→indexed p50 {figures['indexed_p50'] * 1000:.0f} ms, p99 "
            f"{figures['indexed_p99'] * 1000:.0f} ms; {_acknowledged(figures)}"
            f"mean batch: {batches or 'none'}; "
            f"CPU ms per mail: {cpu}")


def _acknowledged(figures):
    acknowledged = figures["acknowledged"]
    if not acknowledged:
        return ""
    return (f"acknowledgements sent when the last was indexed {acknowledged['sent_when_indexed']}"
            f" of {figures['mails']}, all sent at {acknowledged['rate']:.0f} mails/s; ")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--everything", action="store_true",
                        help="also run notify and escalation, as a real help desk does")
    parser.add_argument("--rt", action="store_true",
                        help="feed the same mails to Request Tracker 5 in the same run")
    parser.add_argument("--rt-mails", type=int, default=300,
                        help="how many of them RT gets (it takes seconds a mail)")
    args = parser.parse_args()
    config = settings.load()
    mails = bench_mails(args.mails)
    lines, best = [], 0.0
    for workers in args.workers:
        figures = run(config, mails, args.clients, workers, args.everything)
        lines.append(describe(figures))
        print(lines[-1], flush=True)
        best = max(best, figures["rate"])
    if args.rt:
        lines += compare_with_request_tracker(mails[:args.rt_mails], args.clients, best)
    parts = "every part (tickets, search, notify, escalation, SMTP listener, parse workers)" \
        if args.everything else "tickets, search, the SMTP listener and the parse workers"
    append_results("Mail ingest over SMTP, end to end", lines, preamble=(
        f"{args.mails} mails from {args.clients} SMTP clients, each its own customer, until "
        f"every message is committed on its ticket and indexed; {parts}, PostgreSQL, RabbitMQ "
        "and the clients on the same machine. CPU ms per mail by process."))


def compare_with_request_tracker(mails, clients, our_rate):
    """The same mails (the first of them: RT takes seconds a mail) through RT's rt-mailgate,
    from as many feeders as we had SMTP clients, after a warm-up that is not counted."""
    from bench import request_tracker
    request_tracker.ensure_request_tracker()
    with request_tracker.request_tracker_server() as url:
        request_tracker.feed_rt(url, request_tracker.warmup_mails(20), clients)
        figures = request_tracker.feed_rt(url, [mail.as_bytes() for mail in mails], clients)
    lines = [request_tracker.describe(figures),
             f"ratio, our best end-to-end mails/s to RT's: {our_rate / figures['rate']:.0f} to 1"]
    print("\n".join(lines), flush=True)
    return lines


if __name__ == "__main__":
    main()
