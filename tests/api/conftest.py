import base64
import time
from email.utils import make_msgid

import pytest
from sqlalchemy import text

from gateway import create_app
from services.escalation.service import EscalationService
from services.ingest.service import IngestService
from services.notify.service import NotifyService
from services.search.service import SearchService
from services.tickets.service import TicketsService
from tests import fixtures
from tests.mail import customer_mail, wire_bytes
from tests.relay import Relay

PUBLIC_URL = "http://desk.example"  # where notify's links point; the tests open their paths


@pytest.fixture
def tickets_service(container_factory, config):
    container = container_factory(TicketsService, config)
    container.start()
    return container


@pytest.fixture
def app(config, tickets_service):
    app = create_app(config)
    yield app
    app.extensions["live"].stop()
    app.extensions["rpc"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin(db):
    agent, token = fixtures.agent_with_token(db, "Ada Admin", "admin@isp.example", role="admin")
    return {**agent, "token": token, "headers": {"Authorization": f"Bearer {token}"}}


@pytest.fixture
def relay(tmp_path):
    """A real SMTP server (its own process) standing in for the outbound relay."""
    relay = Relay(tmp_path / "relay").start()
    yield relay
    relay.stop()


@pytest.fixture
def notify_service(container_factory, config, tickets_service, relay):
    container = container_factory(NotifyService, {**config, **relay.settings(),
                                                  "PUBLIC_URL": PUBLIC_URL})
    container.start()
    return container


@pytest.fixture
def escalation_service(container_factory, config, tickets_service):
    container = container_factory(EscalationService, config)
    container.start()
    return container


@pytest.fixture
def search_service(container_factory, config, tickets_service):
    container = container_factory(SearchService, config)
    container.start()
    return container


@pytest.fixture
def every_service(tickets_service, ingest_service, notify_service, escalation_service,
                  search_service):
    """All five services in containers: whatever the gateway calls answers."""
    return True


@pytest.fixture
def support(db):
    """A support department, another one, and an agent (API token) of the first only."""
    department = fixtures.department(db, "Техподдержка", ["support@isp.example"])
    other = fixtures.department(db, "Биллинг", ["billing@isp.example"])
    _, token = fixtures.agent_with_token(db, "Ivan", "ivan@isp.example",
                                         department_ids=[department["id"]])
    return {"department": department, "other": other,
            "agent": {"Authorization": f"Bearer {token}"}}


@pytest.fixture
def ingest_service(container_factory, config, tickets_service):
    container = container_factory(IngestService, config)
    container.start()
    return container


@pytest.fixture
def customer_writes(client, admin, engine, ingest_service):
    """A customer's mail handed to ingest as the SMTP listener would; returns its ticket id
    once ingest has made the ticket."""
    def write(to, subject="Нет интернета", body="С утра нет подключения к интернету.",
              sender="Анна Иванова <anna@mail.example>"):
        mail = customer_mail(to, subject, body, sender=sender, Message_ID=make_msgid())
        response = client.post("/api/v1/mail/raw", headers=admin["headers"], json={
            "content_base64": base64.b64encode(wire_bytes(mail)).decode(),
            "envelope_recipients": [to]})
        assert response.status_code == 202, response.json
        return ticket_of_raw_mail(engine, response.json["id"])
    return write


def ticket_of_raw_mail(engine, raw_mail_id, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            row = connection.execute(text("SELECT status, reason, ticket_id FROM ingest.raw_mail "
                                          "WHERE id = :id"), {"id": raw_mail_id}).one()
        if row.status != "received":
            assert row.ticket_id is not None, f"no ticket: {row.status} {row.reason}"
            return row.ticket_id
        time.sleep(0.1)
    raise AssertionError(f"raw mail {raw_mail_id} was not processed in {seconds} s")
