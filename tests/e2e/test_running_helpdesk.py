"""The help desk as `helpdesk up` runs it: the tickets service and the gateway in their own
processes, talked to over HTTP, many requests at once."""
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy.orm import Session

from helpdesk.cli import wait_healthy
from tests import fixtures
from tests.mail import free_port
from tests.processes import stop_all


@pytest.fixture
def running(config, engine):
    address = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "DATABASE_URL": config["DATABASE_URL"],
           "AMQP_URI": config["AMQP_URI"], "GATEWAY_ADDRESS": address}
    processes = [subprocess.Popen([sys.executable, "-m", "helpdesk.runner", name], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for name in ("tickets", "gateway")]
    url = f"http://{address}"
    try:
        wait_healthy(url, processes, seconds=30)
        yield url
    finally:
        stop_all(processes, seconds=15)


def test_healthz_names_what_it_depends_on(running):
    body = requests.get(f"{running}/healthz", timeout=5).json()
    assert body == {"status": "ok",
                    "checks": {"broker": "ok", "tickets": "ok", "database": "ok"}}
    assert "helpdesk_http_requests_total" in requests.get(f"{running}/metrics", timeout=5).text


def test_concurrent_agents_each_get_their_own_answer(running, engine):
    with Session(engine, expire_on_commit=False) as session:
        departments = [fixtures.department(session, f"Dept {n}") for n in range(4)]
        tokens = [fixtures.agent_with_token(session, f"Agent {n}", f"a{n}@isp.example",
                                            department_ids=[departments[n]["id"]])[1]
                  for n in range(4)]

    def work(n):
        headers = {"Authorization": f"Bearer {tokens[n % 4]}"}
        created = requests.post(f"{running}/api/v1/tickets", headers=headers, timeout=20, json={
            "subject": f"Request {n}", "body": "text", "department_id": departments[n % 4]["id"],
            "customer": {"email": f"c{n}@mail.example"}}).json()
        fetched = requests.get(f"{running}/api/v1/tickets/{created['id']}", headers=headers,
                               timeout=20).json()
        return n, fetched["subject"], fetched["department_id"]

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(work, range(48)))
    assert all(subject == f"Request {n}" and department == departments[n % 4]["id"]
               for n, subject, department in results)
