"""What every bench needs: a throwaway database and RabbitMQ vhost, the help desk's processes
started with their logs kept, CPU time read from /proc, percentiles, and the results file."""
import os
import platform
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import requests
from sqlalchemy import text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"


def throwaway_database(base_url):
    """A new database with every schema migrated; returns (url, drop)."""
    from helpdesk.database import make_engine
    from helpdesk.migrations import upgrade_all
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


def throwaway_vhost(management_url):
    """A new RabbitMQ vhost for guest; returns (name, delete)."""
    name = f"helpdesk-bench-{uuid.uuid4().hex[:8]}"
    requests.put(f"{management_url}/api/vhosts/{name}", timeout=10).raise_for_status()
    requests.put(f"{management_url}/api/permissions/{name}/guest", timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    return name, lambda: requests.delete(f"{management_url}/api/vhosts/{name}", timeout=30)


def start_part(name, env, log_dir):
    """`python -m helpdesk.runner NAME`, its output appended to LOG_DIR/NAME.log (a pipe nobody
    reads would fill up and stop it)."""
    with open(Path(log_dir) / f"{name}.log", "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "helpdesk.runner", name], env=env,
                                stdout=log, stderr=subprocess.STDOUT)


def stop_parts(processes, seconds=30):
    """Stop the parts; one that has not ended after `seconds` is killed."""
    processes = list(processes)
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()


def cpu_seconds(pid):
    """User + system CPU seconds a process has used (0 once it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pids_named(comm):
    """Processes whose command name is `comm` (bytes), e.g. b"postgres", b"beam.smp"."""
    for stat in Path("/proc").glob("[0-9]*/comm"):
        try:
            if stat.read_bytes().strip() == comm:
                yield int(stat.parent.name)
        except OSError:
            continue


def analyse(url):
    """Give the planner its statistics of the seeded tables, as autovacuum would have them on a
    database that has been running: a minute after seeding they may be missing, and then
    PostgreSQL plans a queue page as if each table held one row."""
    from helpdesk.database import make_engine
    engine = make_engine(url, 1)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for schema, table in connection.execute(text(
                    "SELECT schemaname, relname FROM pg_stat_user_tables")).all():
                connection.execute(text(f'ANALYZE "{schema}"."{table}"'))
    finally:
        engine.dispose()


def cpu_by_part(parts, own_label):
    """CPU seconds so far of each part ({name: Popen}), of PostgreSQL and RabbitMQ, and of
    this script (`own_label`: the clients it plays)."""
    spent = {name: cpu_seconds(process.pid) for name, process in parts.items()}
    spent["postgres"] = sum(cpu_seconds(pid) for pid in pids_named(b"postgres"))
    spent["rabbitmq"] = sum(cpu_seconds(pid) for pid in pids_named(b"beam.smp"))
    spent[own_label] = cpu_seconds(os.getpid())
    return spent


def cpu_spent_since(before, parts, own_label):
    return {name: after - before[name]
            for name, after in cpu_by_part(parts, own_label).items()}


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0.0


def machine():
    return (f"{platform.node()}, {len(os.sched_getaffinity(0))} cores, "
            f"Python {platform.python_version()}")


def append_results(title, lines, preamble=""):
    """A section of bench/RESULTS.md: the title with the date and the machine, then lines."""
    with RESULTS.open("a") as results:
        results.write(f"\n## {title} — {datetime.now():%Y-%m-%d %H:%M} ({machine()})\n\n"
                      + (preamble + "\n\n" if preamble else "")
                      + "".join(f"- {line}\n" for line in lines))


def wait_until_quiet(management_url, vhost, seconds=600, calm=3.0):
    """Wait until every consumed queue of the vhost has been empty for `calm` seconds: the
    work a bench's seeding set off (indexing, acknowledgements) is not measured with what
    follows."""
    from urllib.parse import quote
    deadline, empty_since = time.monotonic() + seconds, None
    while time.monotonic() < deadline:
        queues = requests.get(f"{management_url}/api/queues/{quote(vhost, safe='')}",
                              timeout=10).json()
        # queues nobody consumes (a part the bench does not run) never empty
        if sum(queue.get("messages", 0) or 0 for queue in queues if queue.get("consumers")) == 0:
            empty_since = empty_since or time.monotonic()
            if time.monotonic() - empty_since >= calm:
                return
        else:
            empty_since = None
        time.sleep(0.5)
    raise RuntimeError(f"the queues of {vhost} still hold messages after {seconds} s")
