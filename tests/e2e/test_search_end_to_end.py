"""Search in the running help desk (each part its own process, as `helpdesk up` runs them):
a mail sent over SMTP, and an agent's reply, are findable through the API within a second;
and `helpdesk reindex` after the index was dropped brings back the same results."""
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from helpdesk.cli import wait_healthy
from tests import fixtures, processes
from tests.mail import customer_mail, free_port, process_env, send

ROOT = Path(__file__).resolve().parent.parent.parent
PARTS = ("tickets", "ingest", "search", "smtp", "gateway")
MAILS = 20


@pytest.fixture
def desk(config, db, tmp_path):
    billing = fixtures.department(db, "Биллинг", ["billing@isp.example"])
    _, token = fixtures.agent_with_token(db, "Ольга Смирнова", "olga@isp.example",
                                         department_ids=[billing["id"]])
    gateway, smtp = free_port(), free_port()
    env = process_env(config, GATEWAY_ADDRESS=f"127.0.0.1:{gateway}",
                      SMTP_ADDRESS=f"127.0.0.1:{smtp}", OUTBOUND_MAILDIR=tmp_path / "out",
                      SMTP_RELAY_HOST="")
    running = [processes.start(name, env) for name in PARTS]
    url = f"http://127.0.0.1:{gateway}"
    try:
        wait_healthy(url, running, seconds=60)
        processes.wait_until_serving(config, ["ingest", "search"])
        yield {"url": url, "smtp": ("127.0.0.1", smtp), "env": env,
               "headers": {"Authorization": f"Bearer {token}"}}
    finally:
        processes.stop_all(running, seconds=20)


def found(desk, **query):
    response = requests.get(f"{desk['url']}/api/v1/search", headers=desk["headers"],
                            params={"per_page": 100, **query}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def seconds_until_found(desk, started, query, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        hits = found(desk, **query)["hits"]
        if hits:
            return time.monotonic() - started, hits[0]["ticket"]["id"]
        time.sleep(0.05)  # polling faster loads the two cores the desk runs on
    raise AssertionError(f"{query} found nothing in {seconds} s")


def test_mail_and_replies_are_findable_within_a_second(desk, engine):
    def mail(n):
        message = customer_mail("billing@isp.example", subject=f"Счёт номер {n}",
                                body=f"Прошу проверить начисление слово{n}метка.")
        started = time.monotonic()
        send(desk["smtp"], message)  # the listener answers 250 once the mail is stored
        return seconds_until_found(desk, started, {"q": f"слово{n}метка"})

    # The first mail after the processes start pays for their warming up (imports, first
    # statements compiled, pools filled): printed; the 1 s goal is for a desk that is running.
    cold, _ = mail("первое")
    print(f"\nfirst mail after start to findable: {cold:.3f} s")
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(mail, range(MAILS)))
    delays = sorted(delay for delay, _ in results)
    print(f"\nmail to findable: median {statistics.median(delays):.3f} s, "
          f"max {delays[-1]:.3f} s over {MAILS} mails")
    print_stages(engine)
    assert delays[-1] < 1.0

    ticket = results[0][1]
    started = time.monotonic()
    reply = requests.post(f"{desk['url']}/api/v1/tickets/{ticket}/replies", headers=desk["headers"],
                          json={"body": "Начисление исправлено, перерасчётметка."}, timeout=10)
    assert reply.status_code == 201, reply.text
    delay, again = seconds_until_found(desk, started, {"q": "перерасчетметка"})
    print(f"reply to findable: {delay:.3f} s")
    assert again == ticket and delay < 1.0


def print_stages(engine):
    """Where the time went, from the rows' own clocks: stored by the SMTP listener, ticket
    committed, document indexed."""
    with engine.connect() as connection:
        rows = connection.execute(text("""
            SELECT extract(epoch FROM t.created_at - r.received_at) AS ticket,
                   extract(epoch FROM s.indexed_at - t.created_at) AS indexed
            FROM ingest.raw_mail r JOIN tickets.tickets t ON t.id = r.ticket_id
            JOIN search.tickets s ON s.ticket_id = t.id ORDER BY r.id""")).all()
    for stage in ("ticket", "indexed"):
        values = sorted(getattr(row, stage) for row in rows)
        print(f"  {stage}: median {statistics.median(values):.3f} s, max {values[-1]:.3f} s")


def test_reindex_after_the_index_is_dropped_restores_the_same_results(desk, engine):
    for n in range(5):
        send(desk["smtp"], customer_mail("billing@isp.example", subject=f"Подключение {n}",
                                         body=f"Нет подключения, дом {n}."))
    queries = [{"q": "подключения"}, {"q": "дом", "sort": "newest"},
               {"recipient": "billing@isp.example", "sort": "oldest"}]
    deadline = time.monotonic() + 20
    while found(desk, **queries[0])["total"] < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    before = [found(desk, **query) for query in queries]
    assert before[0]["total"] == 5

    with engine.begin() as connection:  # the index is lost
        connection.execute(text("TRUNCATE search.tickets, search.messages"))
    assert found(desk, **queries[0])["total"] == 0

    done = subprocess.run([str(ROOT / "bin" / "helpdesk"), "reindex", "--batch", "2"],
                          env=desk["env"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "search index rebuilt (postgresql, 5 tickets)" in done.stdout
    assert "5/5" in done.stderr  # the progress bar
    assert [found(desk, **query) for query in queries] == before
