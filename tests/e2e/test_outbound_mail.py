"""Outbound mail as `helpdesk up` runs it — tickets and notify in their own processes, a
real SMTP relay — through a relay outage and notify processes killed with SIGKILL: every
reply arrives, none twice (counted by Message-ID at the receiving server)."""
import os
import signal
import time
from collections import Counter

import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import text

from helpdesk import contract, event_queues
from services.tickets import lifecycle
from tests import fixtures
from tests.mail import process_env
from tests.processes import start, stop_all, wait_until_serving
from tests.relay import Relay

# With retries at most 5 s apart, half a minute is six rounds of failing to reach the
# relay: what the outage must prove (nothing lost, given up or sent) holds or fails by then.
OUTAGE_SECONDS = int(os.environ.get("RELAY_OUTAGE_SECONDS", 30))


@pytest.fixture
def desk(config, db, tmp_path):
    """Tickets and notify processes, a relay, a department, an agent and a way to open tickets
    (agent-registered, so no acknowledgements: only replies go out)."""
    department = fixtures.department(db, "First line", ["support@isp.example"],
                                     signature="First line support")
    _, token = fixtures.agent_with_token(db, "Olga", "olga@isp.example",
                                         department_ids=[department["id"]])
    # a relay that takes 50 ms to answer each mail (4 senders: 80 mails/s at most), so that
    # a notify process killed while sending is killed in the middle of it
    relay = Relay(tmp_path / "relay", answer_seconds=0.05).start()
    event_queues.declare_all(config)
    env = process_env(config, **relay.settings(), NOTIFY_RETRY_MAX_SECONDS=5, RPC_TIMEOUT=10)
    processes = {name: start(name, env) for name in ("tickets", "notify")}
    wait_until_serving(config, processes)

    def open_tickets(count):
        return [lifecycle.create(db, fixtures.SYSTEM, {
            "subject": f"Request {n}", "body": "text", "department_id": department["id"],
            "channel": "phone", "customer": {"email": f"customer{n}@mail.example"}})["id"]
            for n in range(count)]

    try:
        yield {"relay": relay, "agent": contract.agent_by_token(token), "env": env,
               "processes": processes, "open_tickets": open_tickets}
    finally:
        stop_all(list(processes.values()))
        relay.stop()


def reply_to_each(config, agent, ticket_ids):
    """One reply per ticket, made concurrently through the tickets process."""
    with ClusterRpcProxy(config, timeout=60) as rpc:
        calls = [rpc.tickets.reply.call_async(agent, ticket_id, {"body": f"Answer {ticket_id}"})
                 for ticket_id in ticket_ids]
        return [call.result()["message_id"] for call in calls]


def outbox_by_status(engine):
    with engine.connect() as connection:
        return dict(connection.execute(text(
            "SELECT status, count(*) FROM notify.outbox GROUP BY status")).all())


def arrived(relay):
    return Counter(mail["Message-ID"] for mail in relay.mails())


@pytest.mark.timeout(OUTAGE_SECONDS + 240)
def test_replies_made_while_the_relay_is_down_all_arrive_once_when_it_is_back(desk, config,
                                                                              engine):
    ticket_ids = desk["open_tickets"](100)
    desk["relay"].stop()
    message_ids = reply_to_each(config, desk["agent"], ticket_ids)
    time.sleep(OUTAGE_SECONDS)
    waiting = outbox_by_status(engine)
    assert waiting == {"queued": 100}, waiting  # none lost, none given up, none sent
    desk["relay"].start()
    desk["relay"].wait_for(100, seconds=60)
    time.sleep(2)  # a duplicate would show up now
    counts = arrived(desk["relay"])
    print(f"\nrelay down {OUTAGE_SECONDS} s: {len(counts)} replies arrived, "
          f"{sum(counts.values())} mails, outbox {outbox_by_status(engine)}")
    assert set(counts) == set(message_ids) and set(counts.values()) == {1}
    assert outbox_by_status(engine) == {"sent": 100}


@pytest.mark.timeout(300)
def test_a_notify_process_killed_while_sending_loses_no_mail_and_sends_none_twice(desk, config,
                                                                                  engine):
    """Killed three times over, once 50, 200 and 350 mails were delivered (or more: the
    replies are still being made when it starts sending)."""
    ticket_ids = desk["open_tickets"](500)
    message_ids = reply_to_each(config, desk["agent"], ticket_ids)
    relay, processes = desk["relay"], desk["processes"]
    kills = []
    for threshold in (50, 200, 350):
        relay.wait_until(threshold, seconds=60)
        processes["notify"].send_signal(signal.SIGKILL)
        processes["notify"].wait()
        kills.append(relay.count())
        processes["notify"] = start("notify", desk["env"])
        wait_until_serving(config, ["notify"])
    relay.wait_until(500, seconds=120)
    time.sleep(3)  # a duplicate would show up now
    counts = arrived(relay)
    print(f"\nkilled at {kills} of 500 mails; then {len(counts)} distinct replies, "
          f"{sum(counts.values())} mails, outbox {outbox_by_status(engine)}")
    assert kills[-1] < 500, "the last kill came too late to prove anything"
    assert set(counts) == set(message_ids)
    assert [m for m, n in counts.items() if n > 1] == []
    assert outbox_by_status(engine).get("queued", 0) == 0
