"""Managers' statistics at a large centre's size: a year of tickets (15,000 a week by default,
each with the customer's mail and one or two answers, a fifth of them rated, some breached)
generated straight into PostgreSQL, then the statistics page's two calls timed over a month
and over the year, for an admin (every department) and a manager of three departments.
Prints the median and worst of several runs per call; appends them to bench/RESULTS.md.

    .venv/bin/python bench/statistics_year.py --tickets 780000

Needs PostgreSQL; makes (and drops, unless --keep) a throwaway database.
"""
import argparse
import platform
import statistics as stats
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.common import throwaway_database  # noqa: E402
from helpdesk import config as settings  # noqa: E402
from helpdesk.database import make_engine  # noqa: E402
from services.tickets import access, statistics  # noqa: E402

DEPARTMENTS, AGENTS, CUSTOMERS = 12, 60, 50_000
YEAR_START = datetime(2025, 12, 1, tzinfo=timezone.utc)


def generate(engine, tickets):
    """A year of traffic, in set-based SQL (the same rows the services would write)."""
    started = time.monotonic()
    with engine.begin() as db:
        db.execute(text("INSERT INTO tickets.departments (id, name, signature, sender_name, "
                        "agent_name_in_from, on_portal, created_at) SELECT d, 'Department ' || d, "
                        "'', '', false, false, now() FROM generate_series(1, :n) d"),
                   {"n": DEPARTMENTS})
        db.execute(text("INSERT INTO tickets.agents (id, name, email, role, active, created_at) "
                        "SELECT a, 'Agent ' || a, 'agent' || a || '@isp.example', "
                        "CASE WHEN a = 1 THEN 'admin' WHEN a = 2 THEN 'manager' ELSE 'agent' END,"
                        " true, now() FROM generate_series(1, :n) a"), {"n": AGENTS})
        # agent a works in department (a % 12) + 1; the manager (2) in departments 1-3
        db.execute(text("INSERT INTO tickets.agent_departments SELECT a, (a % :d) + 1 "
                        "FROM generate_series(3, :n) a"), {"d": DEPARTMENTS, "n": AGENTS})
        db.execute(text("INSERT INTO tickets.agent_departments VALUES (2, 1), (2, 2), (2, 3)"))
        db.execute(text("INSERT INTO tickets.customers (email, name, phones, created_at) "
                        "SELECT 'c' || c || '@mail.example', 'Customer ' || c, '{}', now() "
                        "FROM generate_series(1, :n) c"), {"n": CUSTOMERS})
        db.execute(text("""
            INSERT INTO tickets.tickets (subject, channel, department_id, status, priority,
                assignee_id, customer_id, language, created_at, updated_at, first_response_at)
            SELECT 'Ticket ' || t, 'mail', d, s, 'normal', 3 + d - 1 + 12 * (t % 4), c, 'ru',
                   at, at, at + make_interval(mins => r)
            FROM (SELECT t, (t % :departments) + 1 AS d,
                         (ARRAY['resolved','resolved','resolved','closed','open','pending',
                                'new'])[(t % 7) + 1] AS s,
                         ((t * 7919) % (SELECT max(id) FROM tickets.customers)) + 1 AS c,
                         :start + make_interval(secs => (t * 365.0 * 86400 / :tickets)) AS at,
                         (5 + (t * 31) % 600)::int AS r
                  FROM generate_series(1::bigint, :tickets) t) g
        """), {"departments": DEPARTMENTS, "tickets": tickets, "start": YEAR_START})
        db.execute(text("INSERT INTO tickets.messages (ticket_id, direction, author_customer_id,"
                        " from_address, to_addresses, cc_addresses, subject, body_text, "
                        "created_at, auto_reply) SELECT id, 'inbound', customer_id, '', '{}', "
                        "'{}', subject, 'Нет интернета', created_at, false FROM tickets.tickets"))
        db.execute(text("INSERT INTO tickets.messages (ticket_id, direction, author_agent_id, "
                        "from_address, to_addresses, cc_addresses, subject, body_text, "
                        "created_at, auto_reply) SELECT id, 'outbound', assignee_id, '', '{}', "
                        "'{}', subject, 'Проверили линию', first_response_at, false "
                        "FROM tickets.tickets WHERE status <> 'new'"))
        db.execute(text("INSERT INTO tickets.messages (ticket_id, direction, author_agent_id, "
                        "from_address, to_addresses, cc_addresses, subject, body_text, "
                        "created_at, auto_reply) SELECT id, 'outbound', assignee_id, '', '{}', "
                        "'{}', subject, 'Всё работает', first_response_at + interval '1 day', "
                        "false FROM tickets.tickets WHERE id % 2 = 0 AND status <> 'new'"))
        db.execute(text("INSERT INTO tickets.ratings (ticket_id, score, comment, created_at) "
                        "SELECT id, 1 + id % 5, '', created_at + interval '2 days' "
                        "FROM tickets.tickets WHERE status IN ('resolved', 'closed') "
                        "AND id % 5 = 0"))
        db.execute(text("INSERT INTO tickets.escalations (event_id, ticket_id, department_id, "
                        "target, level, due_at, created_at) SELECT 'e' || id, id, department_id,"
                        " 'first_response', 1, created_at, created_at + interval '4 hours' "
                        "FROM tickets.tickets WHERE id % 20 = 0"))
        counts = db.execute(text("SELECT (SELECT count(*) FROM tickets.tickets), "
                                 "(SELECT count(*) FROM tickets.messages)")).one()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
        db.execute(text("VACUUM ANALYZE"))
    return counts, time.monotonic() - started


def timed(engine, call, runs):
    seconds = []
    for _ in range(runs):
        with Session(engine) as session:
            started = time.perf_counter()
            call(session)
            seconds.append(time.perf_counter() - started)
    return stats.median(seconds), max(seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=780_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    config = settings.load()
    url, drop = throwaway_database(config["DATABASE_URL"])
    try:
        engine = make_engine(url, pool_size=2)
        (tickets, messages), loading = generate(engine, args.tickets)
        print(f"generated {tickets:,} tickets, {messages:,} messages in {loading:.0f} s")
        with Session(engine) as session:
            admin = access.resolve(session, {"agent_id": 1})
            manager = access.resolve(session, {"agent_id": 2})
        month = {"since": "2026-06-01T00:00:00+03:00", "until": "2026-07-01T00:00:00+03:00",
                 "time_zone": "Europe/Moscow"}
        year = {**month, "since": "2025-12-01T00:00:00+03:00",
                "until": "2026-12-01T00:00:00+03:00"}
        lines = []
        for who, actor in (("admin, 12 departments", admin), ("manager, 3 departments", manager)):
            for period, query in (("a month", month), ("the year", year)):
                for name, call in (("per agent", statistics.agents), ("load", statistics.load)):
                    median, worst = timed(engine, lambda s: call(s, actor, query), args.runs)
                    line = (f"statistics {name:9} over {period:8} for the {who}: "
                            f"median {median * 1000:.0f} ms, max {worst * 1000:.0f} ms")
                    print(line)
                    lines.append(line)
        with (ROOT / "bench" / "RESULTS.md").open("a") as results:
            results.write(f"\n## Statistics over a year of tickets — {datetime.now():%Y-%m-%d} "
                          f"on {platform.node()} ({platform.processor() or platform.machine()},"
                          f" {len(__import__('os').sched_getaffinity(0))} cores)\n\n"
                          f"{tickets:,} tickets, {messages:,} messages, generated in "
                          f"{loading:.0f} s.\n\n" + "".join(f"- {line}\n" for line in lines))
    finally:
        if args.keep:
            print(f"kept: {url}")
        else:
            drop()


if __name__ == "__main__":
    main()
