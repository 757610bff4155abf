"""Request Tracker 5 on this machine, fed the mails of our ingest bench through its own mail
gateway (rt-mailgate), so that our mails/s can be set against RT's on the same hardware.

RT comes from Debian's packages (request-tracker5 with rt5-db-postgresql and rt5-standalone),
its database is `rt5_bench` in the same PostgreSQL cluster as the help desk's, and its web
server is RT's own rt-server (Starlet, prefork) on a free localhost port, started per run.
Each run of the server works on a fresh copy of `rt5_bench`, dropped afterwards, as our bench
works on a throwaway database: every customer is new to RT in every run.
Outgoing mail (RT's auto-replies) goes to an mbox file in /var/lib/request-tracker5 instead of
out into the world. Needs root the first time (apt-get, debconf); on a shared machine take the
benchmark lock:

    flock /tmp/bench.lock .venv/bin/python bench/request_tracker.py --mails 200 --clients 1 4
"""
import argparse
import functools
import uuid
import os
import pwd
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing, contextmanager
from pathlib import Path

import psycopg2
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpdesk import config as settings  # noqa: E402
from helpdesk.infra import (InfrastructureUnavailable, apt_install, run_command,  # noqa: E402
                            ensure_postgres, tail)
from tests.mail import customer_mail, free_port  # noqa: E402

DATABASE = "rt5_bench"
QUEUE = "General"  # RT's initial data creates it; ensure_request_tracker opens it to mail
MAILGATE = "/usr/bin/rt-mailgate-5"
RT_SERVER = "/usr/share/request-tracker5/libexec/rt-server"
RT_LIB = "/usr/share/request-tracker5/lib"
BENCH_CONFIG = Path("/etc/request-tracker5/RT_SiteConfig.d/90-helpdesk-bench.pm")
SERVER_USER = "www-data"  # the user Debian's RT configuration is readable by
START_SECONDS = 120
MAILGATE_SECONDS = 300  # rt-mailgate gives up on the server itself after 180 s

# Installed in this order: the database backend and the web server mode first, so that
# request-tracker5's alternatives (rt5-db-sqlite, rt5-apache2) are already satisfied and its
# configuration script offers dbconfig-common PostgreSQL only.
PACKAGES = ("rt5-db-postgresql", "rt5-standalone", "rt5-clients", "request-tracker5")
# RT depends on a mail transport agent; Debian's default (exim4) listens on port 25, dma
# listens on nothing. Installed only when the machine has no MTA yet.
MTA = ("/usr/sbin/sendmail", "dma")

BENCH_CONFIG_TEXT = """\
# Written by the help desk's bench/request_tracker.py for benchmarking rt-mailgate.
# Auto-replies are written to an mbox in /var/lib/request-tracker5, not sent.
Set($MailCommand, 'mbox');
# As the help desk's bench runs its processes with LOG_LEVEL=WARNING.
Set($LogToSTDERR, 'warning');
# rt-server listens on 127.0.0.1 (on a port of its own each run).
Set($WebDomain, '127.0.0.1');
# Each run's server works on its own copy of the database, named here.
Set($DatabaseName, $ENV{HELPDESK_RT_DATABASE}) if $ENV{HELPDESK_RT_DATABASE};
1;
"""


# --- Install and configure --------------------------------------------------------------

def ensure_request_tracker(say=print):
    """Install RT 5 from Debian's packages with its database `rt5_bench` in the local
    PostgreSQL (the help desk's cluster, started or installed by helpdesk.infra when needed)
    through dbconfig-common, preseeded, when missing (and the database alone when it was
    dropped since); write the bench's RT configuration; let mail open tickets in the queue and
    RT's database user copy its database. When all is in place this costs four dpkg-queries,
    a read of RT's configuration and three queries."""
    ensure_postgres(settings.load()[settings.DATABASE_URL], say)
    missing = [package for package in PACKAGES if not _package_installed(package)]
    if missing:
        if not os.path.exists(MTA[0]):
            apt_install(MTA[1], say)
        _preseed(say)
        for package in missing:
            apt_install(package, say)
    if not BENCH_CONFIG.exists() or BENCH_CONFIG.read_text() != BENCH_CONFIG_TEXT:
        say(f"request_tracker: writing {BENCH_CONFIG}")
        BENCH_CONFIG.write_text(BENCH_CONFIG_TEXT)
        os.chmod(BENCH_CONFIG, 0o644)
    problem = _database_problem()
    if problem and "does not exist" in problem:
        _create_database(say)
        problem = _database_problem()
    if problem:
        raise InfrastructureUnavailable(
            f"Request Tracker is installed but its database is not usable: {problem}.")
    if not _everyone_may_mail(QUEUE):
        _grant_mail_rights(QUEUE, say)
    if not _may_copy_database():
        _as_postgres(say, "letting RT's database user copy its database (CREATEDB)",
                     'ALTER ROLE "%s" CREATEDB' % rt_config("DatabaseUser")["DatabaseUser"])


def _package_installed(package):
    returncode, status = run_command(["dpkg-query", "-W", "-f", "${Status}", package], timeout=30,
                              check=False)
    return returncode == 0 and status.endswith(" installed")


def _preseed(say):
    """Answers for request-tracker5's debconf questions and for the ones dbconfig-common asks
    on its behalf: a PostgreSQL database over TCP/IP on localhost (as the help desk connects),
    created as the cluster's owner (ident), for a database user with a random password."""
    password = secrets.token_urlsafe(18)
    answers = {
        "request-tracker5/rtname": ("string", "helpdesk-bench"),
        "request-tracker5/organization": ("string", "helpdesk-bench"),
        "request-tracker5/correspondaddress": ("string", "rt@localhost"),
        "request-tracker5/commentaddress": ("string", "rt-comment@localhost"),
        "request-tracker5/webbaseurl": ("string", "http://127.0.0.1"),
        "request-tracker5/webpath": ("string", "/rt"),
        "request-tracker5/handle-siteconfig-permissions": ("boolean", "true"),
        "request-tracker5/install-cronjobs": ("boolean", "false"),
        "request-tracker5/initial-root-password": ("password", secrets.token_urlsafe(12)),
        "request-tracker5/dbconfig-install": ("boolean", "true"),
        "request-tracker5/database-type": ("select", "pgsql"),
        "request-tracker5/pgsql/method": ("select", "TCP/IP"),
        "request-tracker5/remote/host": ("select", "localhost"),
        "request-tracker5/pgsql/authmethod-admin": ("select", "ident"),
        "request-tracker5/pgsql/authmethod-user": ("select", "password"),
        "request-tracker5/pgsql/admin-user": ("string", "postgres"),
        "request-tracker5/pgsql/app-pass": ("password", password),
        "request-tracker5/app-password-confirm": ("password", password),
        "request-tracker5/db/dbname": ("string", DATABASE),
        "request-tracker5/db/app-user": ("string", DATABASE),
    }
    say(f"request_tracker: preseeding debconf (RT database {DATABASE!r} in PostgreSQL)")
    lines = [f"request-tracker5 {name} {kind} {value}"
             for name, (kind, value) in answers.items()]
    run_command(["debconf-set-selections"], timeout=60, input="\n".join(lines) + "\n")


@functools.lru_cache
def rt_config(*names):
    """Values of RT's configuration options, as RT itself reads its configuration files (read
    once per process: it costs a Perl start)."""
    script = ('use lib "%s"; use RT; RT::LoadConfig();'
              ' print join("\\n", map { RT->Config->Get($_) // "" } @ARGV), "\\n"' % RT_LIB)
    _, output = run_command(["perl", "-e", script, *names], timeout=60)
    return dict(zip(names, output.split("\n")))


def rt_database(name=None):
    """A psycopg2 connection to RT's database (or to the database `name` of the same server),
    as RT's configuration says."""
    options = rt_config("DatabaseType", "DatabaseHost", "DatabasePort", "DatabaseUser",
                        "DatabasePassword", "DatabaseName")
    if options["DatabaseType"] != "Pg":
        raise InfrastructureUnavailable(
            f"RT's database is {options['DatabaseType']!r}; this bench reads only PostgreSQL.")
    return psycopg2.connect(host=options["DatabaseHost"] or None,
                            port=options["DatabasePort"] or None,
                            user=options["DatabaseUser"], password=options["DatabasePassword"],
                            dbname=name or options["DatabaseName"], connect_timeout=5)


def _database_problem():
    try:
        with closing(rt_database()) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM queues WHERE name = %s", (QUEUE,))
            if cursor.fetchone()[0] != 1:
                return f"it has no queue {QUEUE!r}"
    except (psycopg2.Error, InfrastructureUnavailable) as error:
        return tail(str(error), lines=2)
    return None


def _create_database(say):
    """What dbconfig-common does at install, for a database dropped since: create it as the
    cluster's owner for RT's database user, and have RT fill it in."""
    options = rt_config("DatabaseUser", "DatabaseName")
    _as_postgres(say, f"creating RT's database {options['DatabaseName']!r}",
                 'CREATE DATABASE "%s" OWNER "%s"' % (options["DatabaseName"],
                                                      options["DatabaseUser"]))
    with tempfile.NamedTemporaryFile("w", prefix="rt-root-password-") as password:
        password.write(secrets.token_urlsafe(12) + "\n")
        password.flush()
        run_command(["rt-setup-database-5", "--action", "init", "--skip-create",
              "--root-password-file", password.name], timeout=600)


def _as_postgres(say, what, sql):
    """One statement as the PostgreSQL cluster's owner, over its Unix socket (Debian's peer
    authentication lets root in this way, whatever pg_hba.conf says for TCP)."""
    say(f"request_tracker: {what}")
    port = rt_config("DatabasePort")["DatabasePort"] or "5432"
    run_command(["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
          "-p", port, "-d", "postgres", "-c", sql], timeout=120, cwd="/")


def _may_copy_database():
    with closing(rt_database()) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user")
        return cursor.fetchone()[0]


# RT's initial data lets nobody open tickets by mail: as its docs say for mail in, Everyone is
# given CreateTicket and ReplyToTicket on the queue (GrantRight refuses a right held already).
GRANT_SCRIPT = """
use lib "%s"; use RT; RT::LoadConfig(); RT::Init();
my $queue = RT::Queue->new(RT->SystemUser);
$queue->Load($ARGV[0]) or die "no queue $ARGV[0]\\n";
my $everyone = RT::Group->new(RT->SystemUser);
$everyone->LoadSystemInternalGroup("Everyone") or die "no group Everyone\\n";
for my $right (qw(CreateTicket ReplyToTicket)) {
    my ($ok, $message) = $everyone->PrincipalObj->GrantRight(Right => $right, Object => $queue);
    print "$right: $message\\n";
}
""" % RT_LIB


def _everyone_may_mail(queue):
    with closing(rt_database()) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM acl a JOIN groups g ON g.id = a.principalid"
            " JOIN queues q ON a.objecttype = 'RT::Queue' AND q.id = a.objectid"
            " WHERE g.domain = 'SystemInternal' AND g.name = 'Everyone' AND q.name = %s"
            " AND a.rightname IN ('CreateTicket', 'ReplyToTicket')", (queue,))
        return cursor.fetchone()[0] == 2


def _grant_mail_rights(queue, say):
    say(f"request_tracker: granting Everyone CreateTicket and ReplyToTicket on queue {queue!r}")
    run_command(["perl", "-e", GRANT_SCRIPT, queue], timeout=120)


# --- The web server ---------------------------------------------------------------------

_run_databases = {}  # a running server's URL -> the copy of RT's database it works on


@contextmanager
def request_tracker_server(workers=None):
    """RT's standalone server (rt-server: Starlet, `workers` preforked processes, Starlet's
    default 10 when None) on a free port of 127.0.0.1, as www-data when run as root, on a
    fresh copy of RT's database that is dropped afterwards. Yields its base URL (with RT's
    WebPath) once it answers; its output goes to a temporary file."""
    with _database_copy() as database, _server(workers, database) as url:
        _run_databases[url] = database
        try:
            yield url
        finally:
            del _run_databases[url]


@contextmanager
def _database_copy():
    template = rt_config("DatabaseName")["DatabaseName"]
    copy = f"{template}_run_{uuid.uuid4().hex[:8]}"
    _execute_outside_transaction(f'CREATE DATABASE "{copy}" TEMPLATE "{template}"')
    try:
        yield copy
    finally:
        _execute_outside_transaction(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')


def _execute_outside_transaction(sql):
    with closing(rt_database()) as connection:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(sql)


@contextmanager
def _server(workers, database):
    port = free_port()
    web_path = rt_config("WebPath")["WebPath"]
    url = f"http://127.0.0.1:{port}{web_path}"
    # rt-server mounts RT at / unless told its WebPath (Debian's is /rt)
    command = [RT_SERVER, "--host", "127.0.0.1", "--port", str(port), "--webpath", web_path]
    if workers:
        command += ["--max-workers", str(workers)]
    as_user = {}
    if os.geteuid() == 0:
        user = pwd.getpwnam(SERVER_USER)
        as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    with tempfile.NamedTemporaryFile(prefix="rt-server-", suffix=".log") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                   cwd="/", start_new_session=True, **as_user,
                                   env={**os.environ, "HELPDESK_RT_DATABASE": database})
        try:
            _wait_until_answering(url, process, log)
            yield url
        finally:
            _stop(process)


def _wait_until_answering(url, process, log):
    session = requests.Session()
    session.trust_env = False  # no proxy for localhost
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise InfrastructureUnavailable(
                f"rt-server exited with status {process.returncode}: {_log_tail(log)}")
        try:
            answer = session.get(f"{url}/NoAuth/Login.html", timeout=30,
                                 allow_redirects=False)
            if answer.status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise InfrastructureUnavailable(
        f"rt-server did not answer at {url} within {START_SECONDS} s: {_log_tail(log)}")


def _log_tail(log):
    return tail(Path(log.name).read_text(errors="replace")[-20000:])


def _stop(process):
    """Starlet's master stops its workers on SIGTERM; whatever is left of the session after
    30 s is killed."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


# --- Feeding mail -----------------------------------------------------------------------

def feed_rt(url, mails, clients, queue=QUEUE, action="correspond"):
    """Pipe each mail (bytes) to `rt-mailgate --queue QUEUE --action ACTION --url URL` from
    `clients` threads, each running one mailgate after another, and count in RT's database
    the tickets this opened. The rate runs from the first mailgate's start to the last one's
    exit; a failure is a non-zero exit or RT's answer `not ok` (which rt-mailgate exits 0
    on: --debug prints the answer)."""
    command = [MAILGATE, "--queue", queue, "--action", action, "--url", url, "--debug"]
    database = _run_databases.get(url)  # None: a server started otherwise, on RT's own
    before = _last_ticket_id(database)
    results = []  # (seconds, error or None); list.append is atomic
    feeders = [threading.Thread(target=_feed, args=(command, mails[i::clients], results))
               for i in range(clients)]
    cpu_before = _cpu_snapshot()
    started = time.monotonic()
    for feeder in feeders:
        feeder.start()
    for feeder in feeders:
        feeder.join()
    elapsed = time.monotonic() - started
    cpu = _cpu_spent(cpu_before, _cpu_snapshot(), database)
    latencies = sorted(seconds for seconds, _ in results)
    errors = [error for _, error in results if error]
    tickets, subjects = _tickets_since(database, before, queue)
    return {
        "mails": len(mails), "clients": clients, "seconds": round(elapsed, 3),
        "rate": round(len(mails) / elapsed, 2),  # mails/s
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[max(int(len(latencies) * 0.99) - 1, 0)] * 1000, 1),
        "failures": len(errors), "first_error": errors[0] if errors else None,
        "tickets": tickets, "distinct_subjects": subjects,
        "tickets_match": tickets == len(mails),
        "cpu_ms_per_mail": {name: round(seconds / len(mails) * 1000, 1)
                            for name, seconds in cpu.items() if name != "machine busy"},
        "machine_busy": round(cpu["machine busy"] / (elapsed * os.cpu_count()), 2),
    }


def _feed(command, mails, results):
    for mail in mails:
        started = time.monotonic()
        try:
            done = subprocess.run(command, input=mail, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, timeout=MAILGATE_SECONDS)
        except subprocess.TimeoutExpired:
            results.append((time.monotonic() - started,
                            f"rt-mailgate did not finish within {MAILGATE_SECONDS} s"))
            continue
        seconds = time.monotonic() - started
        answer = done.stderr.decode(errors="replace")
        error = None
        if done.returncode != 0:
            error = f"rt-mailgate exited {done.returncode}: {tail(answer, lines=4)}"
        elif "\nnot ok" in f"\n{answer}":
            error = f"RT answered `not ok{tail(answer.partition('not ok')[2], lines=4)}`"
        results.append((seconds, error))


def _cpu_snapshot():
    """CPU ticks so far: per process, of the whole machine (busy, not idle or iowait), of the
    mailgates this process has reaped, and of this process itself (the feeder threads)."""
    per_pid = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, _, rest = stat.read_text().rpartition(")")
        except OSError:  # a process that ended meanwhile
            continue
        fields = rest.split()  # from the state on: utime and stime are the 12th and 13th
        per_pid[int(stat.parent.name)] = (head.partition("(")[2],
                                          int(fields[11]) + int(fields[12]))
    # user nice system idle iowait irq softirq steal (guest time is within user already)
    machine = [int(n) for n in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    children, own = resource.getrusage(resource.RUSAGE_CHILDREN), os.times()
    return {"pids": per_pid, "busy": sum(machine) - machine[3] - machine[4],
            "mailgates": children.ru_utime + children.ru_stime, "own": own.user + own.system}


def _cpu_spent(before, after, database):
    """CPU seconds over the run of rt-server's processes, of the PostgreSQL backends connected
    to RT's database, of the mailgates, of this process, and of the whole machine; the rest
    ("others") is PostgreSQL's own background work (WAL writer, checkpoints) and whatever
    else runs on the machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    with closing(rt_database(database)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                       " AND pid <> pg_backend_pid()")
        backends = {pid for pid, in cursor.fetchall()}

    def spent(pids):
        return sum(after["pids"][pid][1] - before["pids"].get(pid, ("", 0))[1]
                   for pid in pids) / ticks

    spent_by = {
        "rt-server": spent(pid for pid, (comm, _) in after["pids"].items()
                           if comm == "rt-server"),
        "postgres (RT)": spent(pid for pid in backends if pid in after["pids"]),
        "rt-mailgate": after["mailgates"] - before["mailgates"],
        "feeders": after["own"] - before["own"],
        "machine busy": (after["busy"] - before["busy"]) / ticks,
    }
    spent_by["others"] = spent_by["machine busy"] - sum(
        seconds for name, seconds in spent_by.items() if name != "machine busy")
    return spent_by


def _last_ticket_id(database):
    with closing(rt_database(database)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM tickets")
        return cursor.fetchone()[0]


def _tickets_since(database, ticket_id, queue):
    """Tickets opened in `queue` after `ticket_id`, and how many distinct subjects they have
    (a mail turned into two tickets would show as fewer subjects than tickets)."""
    with closing(rt_database(database)) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT t.subject) FROM tickets t"
            " JOIN queues q ON q.id = t.queue"
            " JOIN transactions x ON x.objecttype = 'RT::Ticket' AND x.objectid = t.id"
            "  AND x.type = 'Create'"
            " WHERE t.id > %s AND t.id = t.effectiveid AND q.name = %s",
            (ticket_id, queue))
        return cursor.fetchone()


# --- Standalone -------------------------------------------------------------------------

def bench_mails(count):
    """The mails bench/ingest_smtp.py sends (its own bench_mails when it has one), as bytes
    with the line ends a mail server's pipe delivery gives rt-mailgate."""
    try:
        from bench.ingest_smtp import bench_mails as ingest_bench_mails
    except ImportError:
        mails = [customer_mail("support@isp.example", subject=f"Bench {n}",
                               body="Нет подключения к интернету. " * 20) for n in range(count)]
    else:
        mails = ingest_bench_mails(count)
    return [mail.as_bytes() for mail in mails]


def warmup_mails(count):
    return [customer_mail("support@isp.example", subject=f"Warm-up {n}").as_bytes()
            for n in range(count)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=200)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--workers", type=int, default=None,
                        help="rt-server's Starlet workers (default: Starlet's, 10)")
    parser.add_argument("--warmup", type=int, default=20,
                        help="mails sent before measuring (each worker compiles RT's pages)")
    args = parser.parse_args()
    ensure_request_tracker()
    for clients in args.clients:
        with request_tracker_server(args.workers) as url:
            if args.warmup:
                feed_rt(url, warmup_mails(args.warmup), clients)
            result = feed_rt(url, bench_mails(args.mails), clients)
            print(describe(result), flush=True)


def describe(result):
    """The figures of one feed_rt run, as one line of text."""
    line = (f"Request Tracker 5 (rt-mailgate): {result['mails']} mails, {result['clients']} "
            f"client(s): {result['rate']:.1f} mails/s; latency per mail p50 "
            f"{result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms; failures "
            f"{result['failures']}; tickets created {result['tickets']} with "
            f"{result['distinct_subjects']} distinct subjects "
            f"({'one per mail' if result['tickets_match'] else 'NOT one per mail'}); CPU ms per "
            "mail: " + ", ".join(f"{name} {ms:.0f}" for name, ms in
                                 result["cpu_ms_per_mail"].items())
            + f"; machine busy {result['machine_busy']:.0%} of {os.cpu_count()} cores")
    if result["first_error"]:
        line += f"; first error: {result['first_error']}"
    return line


if __name__ == "__main__":
    main()
