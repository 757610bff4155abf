"""Nothing lost, nothing doubled: 2,000 mails over SMTP from 4 concurrent clients while a
parse worker is killed with SIGKILL (another takes over) and the broker is restarted."""
import os
import signal
import subprocess
import threading
import time
import uuid

import pytest
from sqlalchemy import text

from helpdesk.infra import SEARCH_PATH
from tests import fixtures
from tests.mail import customer_mail, process_env, send_many, smtp_listener
from tests.processes import start

MAILS, CLIENTS = int(os.environ.get("CHAOS_MAILS", 2000)), 4


def restart_broker():
    env = {**os.environ, "PATH": SEARCH_PATH}
    for action in ("stop_app", "start_app"):
        subprocess.run(["rabbitmqctl", action], check=True, env=env, cwd="/",
                       stdout=subprocess.DEVNULL, timeout=120)


def statuses(engine):
    with engine.connect() as connection:
        return dict(connection.execute(text(
            "SELECT status, count(*) FROM ingest.raw_mail GROUP BY status")).all())


def wait_for(condition, seconds):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


@pytest.mark.timeout(600)
def test_every_mail_lands_once_through_a_killed_worker_and_a_broker_restart(config, db,
                                                                            engine):
    fixtures.department(db, "First line", ["support@isp.example"])
    env = process_env(config, SWEEP_AFTER_SECONDS=3, RPC_TIMEOUT=5)
    tickets, worker = start("tickets", env), start("ingest", env)
    run = uuid.uuid4().hex[:8]
    mails = [customer_mail("support@isp.example", subject=f"Обращение {n}",
                           Message_ID=f"<chaos-{run}-{n}@mail.example>")
             for n in range(MAILS)]
    try:
        with smtp_listener(config, SWEEP_AFTER_SECONDS=3) as address:
            senders = [threading.Thread(target=send_many, args=(address, mails[i::CLIENTS]))
                       for i in range(CLIENTS)]
            for sender in senders:
                sender.start()
            assert wait_for(lambda: statuses(engine).get("processed", 0) >= 300, 120)
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            worker = start("ingest", env)
            assert wait_for(lambda: sum(statuses(engine).values()) >= MAILS // 2, 120)
            restart_broker()
            for sender in senders:
                sender.join()
        finished = wait_for(lambda: statuses(engine).get("processed", 0) >= MAILS, 300)
        counts = statuses(engine)
        print(f"\nraw mail by status: {counts}")
        assert finished, counts
    finally:
        for process in (tickets, worker):
            process.terminate()
            process.wait(timeout=30)
    with engine.connect() as connection:
        messages, distinct, tickets_opened = connection.execute(text(
            "SELECT count(*), count(DISTINCT message_id), count(DISTINCT ticket_id) "
            "FROM tickets.messages WHERE message_id LIKE :pattern"),
            {"pattern": f"<chaos-{run}-%"}).one()
    print(f"messages on tickets: {messages}, distinct Message-IDs: {distinct}, "
          f"tickets: {tickets_opened}")
    assert (messages, distinct, tickets_opened) == (MAILS, MAILS, MAILS)
    assert counts == {"processed": MAILS}
