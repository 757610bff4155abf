"""Chaos: CHAOS_MAILS (5,000) customer mails over SMTP from several clients into the help desk
with every part in its own process, while each part is killed with SIGKILL in turn and
started again (tickets, both parse workers, notify, escalation, search, the SMTP listener),
RabbitMQ and PostgreSQL are restarted and the outbound relay is shut down for a while.
Meanwhile an agent replies to 200 tickets through the tickets RPC (as the gateway does), and
the Billing department's tickets (a 1-minute first-response target, around the clock) breach
their SLA while the faults go on.

Afterwards, once everything has settled: every mail is on exactly one ticket of its own, every
raw mail is processed, every acknowledgement, reply and manager alert arrived at the relay
exactly once, every breach fired exactly once (escalation's log, its events, the ticket's
history), and the search index holds every ticket at its current version and status."""
import os
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from email.parser import BytesHeaderParser
from pathlib import Path

import pytest
import requests
from kombu import Connection, Queue
from nameko.standalone.events import get_event_exchange
from nameko.standalone.rpc import ClusterRpcProxy
from psycopg2 import extensions
from sqlalchemy import text
from sqlalchemy.engine import make_url

from helpdesk import contract, event_queues
from helpdesk.database import green_psycopg
from helpdesk.infra import SEARCH_PATH
from tests import fixtures
from tests.mail import customer_mail, free_port, process_env, send_many
from tests.processes import start, wait_until_serving
from tests.relay import Relay

MAILS, CLIENTS, REPLIES = int(os.environ.get("CHAOS_MAILS", 5000)), 4, 200
BILLING_EVERY, BILLING_SHARE = 8, 0.3  # every 8th of the first 30% of the mails: Billing's
MANAGER, ADMIN = "boss@isp.example", contract.system("test")
BILLING_MAILS = len([n for n in range(0, int(MAILS * BILLING_SHARE), BILLING_EVERY)])
TIME_LIMIT = 300 + MAILS // 25
SETTLE_SECONDS = 150
STARTED = [time.monotonic()]
ARTIFACTS = Path(os.environ.get("HELPDESK_ARTIFACTS",
                                Path(__file__).resolve().parents[2] / "test-artifacts"))


def note(what):
    print(f"[{time.monotonic() - STARTED[0]:6.1f} s] {what}", flush=True)


def query(engine, sql, **parameters):
    """Every row of a query; PostgreSQL may be restarting, so try again for a while."""
    for attempt in range(60):
        try:
            with engine.connect() as connection:
                return connection.execute(text(sql), parameters).all()
        except Exception:
            if attempt == 59:
                raise
            time.sleep(0.5)


def scalar(engine, sql, **parameters):
    return query(engine, sql, **parameters)[0][0]


def wait_for(condition, seconds, interval=0.5):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


# --- the parts and the servers they run on ------------------------------------------------
class Part:
    """One part of the help desk in its own process, to be killed and started again."""

    def __init__(self, name, env, log, ready=None):
        self.name, self.env, self.log, self.ready = name, env, log, ready
        self.process, self.being_killed = None, False

    def start(self):
        self.process = start(self.name, self.env, log=self.log)
        if self.ready:
            self.ready(self.process)
        return self

    def kill_and_restart(self):
        self.being_killed = True
        try:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.start()
        finally:
            self.being_killed = False


class Parts(dict):
    """The parts by label, watched as a supervisor would: one that ended by itself (no part
    should: each survives the loss of RabbitMQ or PostgreSQL) is noted and started again, so
    the run goes on and shows what else there is to see."""

    def __init__(self, parts):
        super().__init__(parts)
        self.exits = []

    def watch(self):
        for label, part in self.items():
            code = None if part.being_killed else part.process.poll()
            if code is not None:
                self.exits.append(f"{label} (exit code {code}, "
                                  f"{time.monotonic() - STARTED[0]:.0f} s)")
                note(f"{label} ended by itself (exit code {code}); started again")
                part.start()


def listening(port):
    def ready(process):
        assert wait_for(lambda: _connects(port) or process.poll() is not None, 30, 0.1)
        assert process.poll() is None, "the SMTP listener exited"
    return ready


def _connects(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def rabbitmqctl(action):
    subprocess.run(["rabbitmqctl", action], check=True, env={**os.environ, "PATH": SEARCH_PATH},
                   cwd="/", stdout=subprocess.DEVNULL, timeout=120)


def restart_broker():
    rabbitmqctl("stop_app")
    rabbitmqctl("start_app")


def postgres_cluster(database_url):
    """(version, name) of the local cluster serving the test database."""
    port = str(make_url(database_url).port or 5432)
    for line in subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True,
                               text=True, check=True).stdout.splitlines():
        version, name, cluster_port, *_ = line.split()
        if cluster_port == port and os.path.isdir(f"/etc/postgresql/{version}"):
            return version, name
    raise AssertionError(f"no local PostgreSQL cluster on port {port}")


def pg_ctlcluster(cluster, action):
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, action,
                    *(["--", "-m", "fast"] if action == "restart" else [])],
                   check=True, env={**os.environ, "PATH": SEARCH_PATH}, timeout=120,
                   stdout=subprocess.DEVNULL)


def ensure_servers_up(cluster):
    """Whatever happened, leave PostgreSQL and RabbitMQ running: the machine is shared."""
    status = subprocess.run(["pg_lsclusters", "--no-header", *cluster], capture_output=True,
                            text=True).stdout
    if "online" not in status:
        pg_ctlcluster(cluster, "start")
    rabbitmqctl("start_app")  # a no-op when it runs


# --- what the help desk did -----------------------------------------------------------------
class Breaches:
    """sla_breached events, kept in a durable queue of the test's own (it survives the
    broker's restart), drained whenever they are counted."""

    def __init__(self, config):
        self.uri = config["AMQP_URI"]
        self.queue = Queue("chaos.sla_breached", exchange=get_event_exchange("escalation",
                                                                             config),
                           routing_key=contract.SLA_BREACHED, durable=True)
        self.received = []  # (event_id, ticket_id) per delivery
        with Connection(self.uri) as connection:
            self.queue(connection.channel()).declare()

    def drain(self):
        try:
            with Connection(self.uri, connect_timeout=5) as connection:
                queue = self.queue(connection.channel())
                while (message := queue.get(no_ack=True)) is not None:
                    payload = message.decode()
                    self.received.append((payload["event_id"], payload["ticket_id"]))
        except Exception:  # the broker is restarting: count them next time
            pass
        return self.received


class Deliveries:
    """The mails at the relay (headers only), each file read once."""

    def __init__(self, directory):
        self.directory, self.seen = directory, {}

    def read(self):
        if self.directory.exists():
            for path in self.directory.glob("*.eml"):
                if path.name not in self.seen:
                    headers = BytesHeaderParser().parsebytes(path.read_bytes())
                    self.seen[path.name] = {name: (headers[name] or "").strip() for name in
                                            ("Message-ID", "In-Reply-To", "To",
                                             "Auto-Submitted")}
        return list(self.seen.values())

    def acknowledgements(self):
        return Counter(mail["In-Reply-To"] for mail in self.read()
                       if mail["Auto-Submitted"] == "auto-replied")

    def alerts(self):
        return Counter(int(mail["Message-ID"].split(".")[1]) for mail in self.read()
                       if MANAGER in mail["To"])

    def by_message_id(self):
        return Counter(mail["Message-ID"] for mail in self.read())


# --- the agent's replies ----------------------------------------------------------------------
class Agent(threading.Thread):
    """Replies to REPLIES First-line tickets through the tickets RPC while the mail comes in,
    paced by the ingest's progress. A call that fails or times out may still have been
    carried out (its request waits in the queue, or the answer was lost): it is not repeated
    then, but checked once the help desk has settled (`make_up`)."""

    def __init__(self, config, engine, actor, department_id, run_id, progress):
        super().__init__(daemon=True)
        self.config, self.engine, self.actor = config, engine, actor
        self.department_id, self.run_id, self.progress = department_id, run_id, progress
        self.uncertain, self.failures = {}, Counter()

    def body(self, number):
        return f"Ответ {self.run_id}-{number}: линию проверили, всё работает."

    def request(self, number):
        """As the gateway sends it: with a key of its own, so a call the broker delivers
        again (its RabbitMQ restarted before the answer) makes no second reply."""
        return {"body": self.body(number), "request_key": f"chaos-{self.run_id}-{number}"}

    def run(self):
        ticket_id = 0
        for number in range(REPLIES):
            wait_for(lambda: self.progress() >= (0.03 + 0.8 * number / REPLIES) * MAILS,
                     TIME_LIMIT, 0.2)
            ticket_id = self.next_ticket(ticket_id)
            try:
                with ClusterRpcProxy(self.config, timeout=20) as rpc:
                    rpc.tickets.reply(self.actor, ticket_id, self.request(number))
            except Exception as error:
                self.uncertain[number] = ticket_id
                self.failures[type(error).__name__] += 1

    def next_ticket(self, after):
        while True:
            found = query(self.engine, "SELECT min(id) FROM tickets.tickets "
                          "WHERE department_id = :department AND id > :after",
                          department=self.department_id, after=after)[0][0]
            if found:
                return found
            time.sleep(0.2)

    def stored(self, number):
        return scalar(self.engine, "SELECT count(*) FROM tickets.messages "
                      "WHERE direction = 'outbound' AND body_text = :body",
                      body=self.body(number))

    def make_up(self):
        """Make the replies whose call failed and that never reached the ticket; returns
        how many. Only when the tickets service has no request left (the stored count is
        then final)."""
        made = 0
        for number, ticket_id in self.uncertain.items():
            if self.stored(number) == 0:
                with ClusterRpcProxy(self.config, timeout=30) as rpc:
                    rpc.tickets.reply(self.actor, ticket_id, self.request(number))
                made += 1
        return made


# --- the help desk under test -------------------------------------------------------------
@pytest.fixture
def desk(config, db, engine, rabbit_config, database_url, tmp_path):
    """Two departments (Billing with a 1-minute first-response target around the clock and
    a manager), an agent, the relay, and every part in its own process."""
    first = fixtures.department(db, "Первая линия", ["support@isp.example"],
                                signature="Первая линия поддержки")
    billing = fixtures.department(db, "Биллинг", ["billing@isp.example"])
    _, token = fixtures.agent_with_token(db, "Ольга", "olga@isp.example",
                                         department_ids=[first["id"]])
    fixtures.agent_with_token(db, "Начальник смены", MANAGER, role="manager",
                              department_ids=[billing["id"]])
    relay = Relay(tmp_path / "relay").start()
    event_queues.declare_all(config)
    breaches = Breaches(config)
    smtp_port = free_port()
    env = process_env(config, **relay.settings(), SMTP_ADDRESS=f"127.0.0.1:{smtp_port}",
                      SWEEP_AFTER_SECONDS=3, RPC_TIMEOUT=5, NOTIFY_RETRY_MAX_SECONDS=5)
    names = {"tickets": "tickets", "ingest-1": "ingest", "ingest-2": "ingest",
             "notify": "notify", "escalation": "escalation", "search": "search",
             "smtp": "smtp"}
    parts = Parts({label: Part(name, env, tmp_path / f"{label}.log",
                               listening(smtp_port) if name == "smtp" else None)
                   for label, name in names.items()})
    cluster = postgres_cluster(database_url)
    try:
        for part in parts.values():
            part.start()
        wait_until_serving(config, ["tickets", "ingest", "notify", "escalation", "search"])
        with ClusterRpcProxy(config, timeout=30) as rpc:
            calendar = rpc.escalation.save_calendar(ADMIN, {"name": "Круглосуточно",
                                                            "always_open": True})
            rpc.escalation.save_policy(ADMIN, {"name": "Биллинг", "department_id": billing["id"],
                                               "calendar_id": calendar["id"],
                                               "first_response_minutes": 1})
        wait_callback = extensions.get_wait_callback()
        green_psycopg()  # the test's own queries must not stop its senders meanwhile
        yield {"parts": parts, "relay": relay, "breaches": breaches, "cluster": cluster,
               "smtp": ("127.0.0.1", smtp_port), "agent": contract.agent_by_token(token),
               "first": first["id"], "billing": billing["id"], "vhost": rabbit_config["vhost"],
               "logs": tmp_path}
    finally:
        extensions.set_wait_callback(locals().get("wait_callback"))
        ensure_servers_up(cluster)
        stop_parts(parts)
        relay.stop()


def stop_parts(parts):
    """Tickets last: the others' workers may be waiting for its answers."""
    for group in ([part for label, part in parts.items() if label != "tickets"],
                  [parts["tickets"]]):
        running = [part for part in group if part.process and part.process.poll() is None]
        for part in running:
            part.process.terminate()
        for part in running:
            try:
                part.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                note(f"{part.log.stem} did not stop in 30 s: killed")
                part.process.kill()
                part.process.wait()


def mails_of(run_id):
    """The customers' mails, each from its own customer; every BILLING_EVERY-th of the first
    BILLING_SHARE goes to Billing (sent early, so their breaches fall within the run)."""
    return [customer_mail("billing@isp.example" if n % BILLING_EVERY == 0 and
                          n < int(MAILS * BILLING_SHARE) else "support@isp.example",
                          subject=f"Обращение {n}", sender=f"Клиент {n} <c{n}@mail.example>",
                          Message_ID=f"<chaos-{run_id}-{n}@mail.example>")
            for n in range(MAILS)]


def faults(desk):
    """The chaos, in order: (share of the mails processed, what, how)."""
    parts, relay = desk["parts"], desk["relay"]
    return [
        (0.04, "SIGKILL tickets", parts["tickets"].kill_and_restart),
        (0.10, "SIGKILL parse worker 1", parts["ingest-1"].kill_and_restart),
        (0.16, "relay shut down", lambda: relay.stop(gracefully=True)),
        (0.20, "SIGKILL notify (relay down)", parts["notify"].kill_and_restart),
        (0.28, "relay started again", relay.start),
        (0.36, "RabbitMQ restarted", restart_broker),
        (0.46, "SIGKILL search", parts["search"].kill_and_restart),
        (0.54, "SIGKILL the SMTP listener", parts["smtp"].kill_and_restart),
        (0.62, "PostgreSQL restarted", lambda: pg_ctlcluster(desk["cluster"], "restart")),
        (0.80, "SIGKILL parse worker 2", parts["ingest-2"].kill_and_restart),
    ]


class EscalationKiller(threading.Thread):
    """Kills escalation once a third of the breaches fired, whatever else goes on then."""

    def __init__(self, part, engine):
        super().__init__(daemon=True)
        self.part, self.engine = part, engine

    def run(self):
        if not wait_for(lambda: scalar(self.engine, "SELECT count(*) FROM sla.escalations")
                        >= BILLING_MAILS // 3, TIME_LIMIT, 0.2):
            return
        self.part.kill_and_restart()
        fired = scalar(self.engine, "SELECT count(*) FROM sla.escalations")
        note(f"SIGKILL escalation while firing ({fired} of {BILLING_MAILS} breaches fired)")


def run_faults(steps, progress, parts):
    for share, what, act in steps:
        moment = lambda share=share: progress() >= share * MAILS  # noqa: E731
        if not wait_for(lambda: parts.watch() or moment(), 90, 0.2):
            note(f"(its moment did not come in 90 s: going on) {what}")
        started = time.monotonic()
        act()
        note(f"{what} ({progress()} mails processed; took {time.monotonic() - started:.1f} s)")


# --- what there is to see afterwards --------------------------------------------------------
def counter(engine, sql, **parameters):
    return Counter(dict(query(engine, sql, **parameters)))


def observe(engine, desk, deliveries, run_id):
    """Everything the assertions look at, read once."""
    seen = {}
    seen["messages"], seen["message_ids"], seen["tickets"] = query(
        engine, "SELECT count(*), count(DISTINCT message_id), count(DISTINCT ticket_id) "
        "FROM tickets.messages WHERE message_id LIKE :pattern",
        pattern=f"<chaos-{run_id}-%")[0]
    seen["raw_mail"] = counter(engine, "SELECT status, count(*) FROM ingest.raw_mail "
                                       "GROUP BY status")
    seen["billing"] = {row[0] for row in query(
        engine, "SELECT id FROM tickets.tickets WHERE department_id = :id", id=desk["billing"])}
    seen["fired"] = counter(engine, "SELECT ticket_id, count(*) FROM sla.escalations "
                                    "GROUP BY ticket_id")
    seen["on_tickets"] = counter(engine, "SELECT ticket_id, count(*) FROM tickets.escalations "
                                         "GROUP BY ticket_id")
    events = desk["breaches"].drain()
    seen["event_deliveries"] = len(events)
    seen["events"] = Counter(ticket for _, ticket in set(events))
    seen["replies"] = dict(query(engine, "SELECT message_id, body_text FROM tickets.messages "
                                         "WHERE direction = 'outbound'"))
    seen["acks"], seen["alerts"] = deliveries.acknowledgements(), deliveries.alerts()
    seen["at_relay"] = deliveries.by_message_id()
    seen["search"] = tuple(query(engine, """
        SELECT count(t.id), count(s.ticket_id),
               count(*) FILTER (WHERE t.id IS NULL OR s.ticket_id IS NULL
                                OR s.version <> t.version OR s.status <> t.status)
        FROM tickets.tickets t FULL JOIN search.tickets s ON s.ticket_id = t.id""")[0])
    seen["search_messages"] = tuple(query(engine, """
        SELECT count(m.id), count(s.message_id),
               count(*) FILTER (WHERE m.id IS NULL OR s.message_id IS NULL
                                OR s.ticket_id <> m.ticket_id)
        FROM tickets.messages m FULL JOIN search.messages s ON s.message_id = m.id""")[0])
    seen["outbox"] = counter(engine, "SELECT CASE WHEN unconfirmed THEN 'sent unconfirmed' "
                                     "ELSE status END, count(*) FROM notify.outbox GROUP BY 1")
    seen["inbox"] = counter(engine, "SELECT status, count(*) FROM notify.inbox GROUP BY 1")
    return seen


def anomalies(engine, seen, mail_ids):
    """What the database says about whatever went wrong (it is dropped after the test)."""
    def rows(sql, **parameters):
        return [tuple(row) for row in query(engine, sql, **parameters)][:10]
    doubled_acks = [key for key, count in seen["acks"].items() if count > 1]
    missing_acks = sorted(mail_ids - set(seen["acks"]))[:10]
    doubled_texts = [body for body, count in Counter(seen["replies"].values()).items()
                     if count > 1]
    found = {
        "acknowledgements twice": doubled_acks and rows(
            "SELECT m.message_id, o.id, o.status, o.attempts, o.unconfirmed, o.created_at, "
            "o.sent_at FROM tickets.messages m JOIN notify.outbox o ON o.ticket_id = m.ticket_id "
            "AND o.kind = 'auto_ack' WHERE m.message_id = ANY(:ids)", ids=doubled_acks),
        "acknowledgements missing": missing_acks and rows(
            "SELECT m.message_id, m.ticket_id, o.id, o.status, o.last_error "
            "FROM tickets.messages m LEFT JOIN notify.outbox o ON o.ticket_id = m.ticket_id "
            "AND o.kind = 'auto_ack' WHERE m.message_id = ANY(:ids)", ids=missing_acks),
        "replies stored twice": doubled_texts and rows(
            "SELECT id, ticket_id, message_id, created_at FROM tickets.messages "
            "WHERE body_text = ANY(:bodies) ORDER BY id", bodies=doubled_texts),
        "replies not delivered once": [(key, seen["at_relay"][key]) for key in seen["replies"]
                                       if seen["at_relay"][key] != 1][:10],
        "breaches fired twice": [ticket for ticket, count in seen["fired"].items()
                                 if count > 1][:10],
        "search out of step": seen["search"][2] and rows(
            "SELECT t.id, t.version, t.status, s.ticket_id, s.version, s.status "
            "FROM tickets.tickets t FULL JOIN search.tickets s ON s.ticket_id = t.id "
            "WHERE t.id IS NULL OR s.ticket_id IS NULL OR s.version <> t.version "
            "OR s.status <> t.status"),
        "events notify set aside": rows("SELECT event_type, payload->>'event_id', last_error "
                                        "FROM notify.inbox WHERE status = 'dead'"),
    }
    return {what: details for what, details in found.items() if details}


def settled(seen):
    """Whether all the work there is has been done (not whether it was done right)."""
    return (seen["messages"] >= MAILS and not seen["raw_mail"]["received"]
            and len(seen["acks"]) >= MAILS
            and all(seen["at_relay"][message_id] for message_id in seen["replies"])
            and len(seen["billing"]) == BILLING_MAILS
            and seen["billing"] <= set(seen["fired"]) and seen["billing"] <= set(seen["events"])
            and seen["billing"] <= set(seen["on_tickets"])
            and seen["billing"] <= set(seen["alerts"]) and seen["search"][2] == 0
            and seen["search_messages"][2] == 0)


def wait_until_settled(engine, desk, deliveries, run_id):
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        desk["parts"].watch()
        seen = observe(engine, desk, deliveries, run_id)
        if settled(seen) or time.monotonic() > deadline:
            return seen
        time.sleep(1)


def tickets_requests_waiting(config, vhost):
    """Requests in the tickets service's RPC queue, ready or being worked on."""
    answer = requests.get(f"{config['RABBIT_MANAGEMENT_URL']}/api/queues/"
                          f"{requests.utils.quote(vhost, safe='')}/rpc-tickets", timeout=10)
    answer.raise_for_status()
    queue = answer.json()
    return queue.get("messages", 0) + queue.get("messages_unacknowledged", 0)


def report(seen, agent, made_up, exits):
    """Print what was counted, and append it to test-artifacts/chaos.txt: a passing run's
    figures are kept too."""
    replies = Counter(seen["replies"].values())
    delivered = [seen["at_relay"][message_id] for message_id in seen["replies"]]
    counted = f"""
mails sent {MAILS}; raw mails {sum(seen['raw_mail'].values())} {dict(seen['raw_mail'])}
messages of the run {seen['messages']}, distinct Message-IDs {seen['message_ids']}, \
tickets {seen['tickets']}
acknowledgements at the relay {sum(seen['acks'].values())} for {len(seen['acks'])} mails \
(most for one mail: {max(seen['acks'].values(), default=0)})
replies asked {REPLIES}: calls failed {len(agent.uncertain)} {dict(agent.failures)}, made up \
afterwards {made_up}; stored {len(seen['replies'])} for {len(replies)} texts (most for one \
text: {max(replies.values(), default=0)}); delivered {sum(delivered)} (most for one reply: \
{max(delivered, default=0)})
breaches expected {BILLING_MAILS} (Billing tickets {len(seen['billing'])}): fired \
{sum(seen['fired'].values())} for {len(seen['fired'])} tickets; events {seen['event_deliveries']} \
deliveries of {sum(seen['events'].values())} distinct; on the tickets' history \
{sum(seen['on_tickets'].values())}; manager alerts {sum(seen['alerts'].values())} for \
{len(seen['alerts'])} tickets
search: tickets {seen['search'][0]}, indexed {seen['search'][1]}, missing or stale \
{seen['search'][2]}; messages {seen['search_messages'][0]}, indexed \
{seen['search_messages'][1]}, missing or misplaced {seen['search_messages'][2]}
relay: {sum(seen['at_relay'].values())} mails; outbox {dict(seen['outbox'])}; notify's events \
{dict(seen['inbox'])}
parts that ended by themselves: {', '.join(exits) or 'none'}"""
    print(counted, flush=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / "chaos.txt", "a", encoding="utf-8") as kept:
        kept.write(f"\n# {time.strftime('%Y-%m-%d %H:%M:%S')}, "
                   f"{time.monotonic() - STARTED[0]:.0f} s{counted}\n")


# --- the test -------------------------------------------------------------------------------
@pytest.mark.timeout(TIME_LIMIT)
def test_nothing_lost_or_doubled_while_every_part_is_killed_and_the_servers_restart(
        desk, config, engine):
    STARTED[0] = time.monotonic()
    run_id = os.urandom(4).hex()
    mails = mails_of(run_id)
    agent = run_chaos(desk, config, engine, mails, run_id)
    deliveries = Deliveries(desk["relay"].directory)
    seen = wait_until_settled(engine, desk, deliveries, run_id)
    assert wait_for(lambda: tickets_requests_waiting(config, desk["vhost"]) == 0, 30)
    made_up = agent.make_up()
    if made_up:
        seen = wait_until_settled(engine, desk, deliveries, run_id)
    time.sleep(3)  # a second delivery of anything would show now
    seen = observe(engine, desk, deliveries, run_id)
    note(f"settled: {settled(seen)}; logs in {desk['logs']}")
    report(seen, agent, made_up, desk["parts"].exits)
    mail_ids = {mail["Message-ID"] for mail in mails}
    for what, details in anomalies(engine, seen, mail_ids).items():
        print(f"{what}:", *details, sep="\n  ")
    assert_exactly_once(seen, mail_ids)
    assert seen["inbox"]["dead"] == 0, "notify set events aside (about tickets that are not)"
    assert desk["parts"].exits == [], "parts ended by themselves"
    with open(ARTIFACTS / "chaos.txt", "a", encoding="utf-8") as kept:
        kept.write("every check passed\n")


def run_chaos(desk, config, engine, mails, run_id):
    """Send the mails and make the replies while the faults happen; returns the agent."""
    progress = lambda: scalar(engine, "SELECT count(*) FROM ingest.raw_mail "  # noqa: E731
                                      "WHERE status = 'processed'")
    agent = Agent(config, engine, desk["agent"], desk["first"], run_id, progress)
    senders = [threading.Thread(target=send_many, args=(desk["smtp"], mails[i::CLIENTS]),
                                daemon=True) for i in range(CLIENTS)]
    killer = EscalationKiller(desk["parts"]["escalation"], engine)
    for thread in (*senders, agent, killer):
        thread.start()
    run_faults(faults(desk), progress, desk["parts"])
    for thread in (*senders, agent, killer):
        while thread.is_alive() and time.monotonic() - STARTED[0] < TIME_LIMIT - 200:
            desk["parts"].watch()
            thread.join(timeout=1)
    assert not any(thread.is_alive() for thread in (*senders, agent)), "sending never ended"
    assert not killer.is_alive(), "not a third of the breaches fired"
    note(f"all mails sent and replies made ({progress()} mails processed); settling")
    return agent


def assert_exactly_once(seen, mail_ids):
    assert (seen["messages"], seen["message_ids"], seen["tickets"]) == (MAILS, MAILS, MAILS)
    assert set(seen["raw_mail"]) == {"processed"}, seen["raw_mail"]
    assert set(seen["acks"]) == mail_ids, "an acknowledgement never arrived"
    assert set(seen["acks"].values()) == {1}, "an acknowledgement arrived twice"
    replies = Counter(seen["replies"].values())
    assert len(replies) == REPLIES, "a reply was never made"
    assert set(replies.values()) == {1}, "a reply was stored twice"
    assert {seen["at_relay"][message_id] for message_id in seen["replies"]} == {1}, \
        "a reply did not arrive exactly once"
    assert len(seen["billing"]) == BILLING_MAILS
    for fired in ("fired", "events", "on_tickets", "alerts"):
        assert set(seen[fired]) == seen["billing"], f"breaches {fired}: not every ticket's"
        assert set(seen[fired].values()) == {1}, f"a breach {fired} twice"
    assert seen["search"] == (seen["search"][0], seen["search"][0], 0), "search out of step"
    assert seen["search_messages"] == (seen["search_messages"][0],) * 2 + (0,)
    assert sum(seen["at_relay"].values()) == MAILS + REPLIES + BILLING_MAILS, \
        "mail nobody asked for"
