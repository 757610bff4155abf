"""Live events over Server-Sent Events: the gateway served by eventlet's WSGI server (as
`helpdesk.runner gateway` serves it), notify broadcasting from a real container, customers'
mail going in through ingest. Each agent hears only about their own departments."""
import json
import logging
import time

import eventlet
import pytest
import requests
from eventlet import wsgi

from gateway import live
from tests import fixtures
from tests.waiting import wait_until

EVENTS = "/api/v1/events"


class EventStream:
    """An agent's /api/v1/events, read in the background as a browser would."""

    def __init__(self, url, token):
        self.response = requests.get(url + EVENTS, headers={"Authorization": f"Bearer {token}"},
                                     stream=True, timeout=(5, 30))
        assert self.response.status_code == 200, self.response.text
        assert self.response.headers["Content-Type"].startswith("text/event-stream")
        self.events, self.comments = [], []
        self.reader = eventlet.spawn(self._read)

    def _read(self):
        name = None
        for line in self.response.iter_lines(chunk_size=None, decode_unicode=True):
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                self.events.append((name, json.loads(line[len("data: "):])))
            elif line.startswith(":"):
                self.comments.append(line)

    def wait_for(self, kind, seconds=10, **fields):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for name, data in self.events:
                if name == kind and all(data.get(k) == v for k, v in fields.items()):
                    return data
            eventlet.sleep(0.05)
        raise AssertionError(f"no {kind} event {fields} in {seconds} s; got {self.events}")

    def close(self):
        self.reader.kill()  # first: the socket must not close under a read in progress
        self.response.close()


@pytest.fixture
def gateway_url(app):
    """The app served over HTTP by eventlet, in this process; a 1 s heartbeat."""
    app.config[live.HEARTBEAT_SECONDS] = 1
    listener = eventlet.listen(("127.0.0.1", 0))
    server = eventlet.spawn(wsgi.server, listener, app, log=logging.getLogger("test.gateway"),
                            log_output=False)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    server.kill()
    listener.close()


@pytest.fixture
def desk(db, admin, notify_service):
    """Two departments, an agent in each, and the admin."""
    first = fixtures.department(db, "First line", ["support@isp.example"])
    billing = fixtures.department(db, "Billing", ["billing@isp.example"])
    _, first_token = fixtures.agent_with_token(db, "Olga", "olga@isp.example",
                                               department_ids=[first["id"]])
    _, billing_token = fixtures.agent_with_token(db, "Boris", "boris@isp.example",
                                                 department_ids=[billing["id"]])
    return {"first": first, "billing": billing, "first_agent": first_token,
            "billing_agent": billing_token, "admin": admin["token"]}


@pytest.fixture
def streams():
    opened = []
    yield opened
    for stream in opened:
        stream.close()


def open_stream(streams, url, token):
    stream = EventStream(url, token)
    streams.append(stream)
    return stream


def test_an_agent_hears_of_new_tickets_in_their_department_only(gateway_url, desk, streams,
                                                                customer_writes, app):
    first = open_stream(streams, gateway_url, desk["first_agent"])
    billing = open_stream(streams, gateway_url, desk["billing_agent"])
    admin = open_stream(streams, gateway_url, desk["admin"])
    ticket_id = customer_writes("support@isp.example")
    started = time.monotonic()
    event = first.wait_for("ticket", seconds=5, ticket_id=ticket_id)
    assert event["department_id"] == desk["first"]["id"]
    assert event["subject"] == "Нет интернета"
    assert time.monotonic() - started < 5
    admin.wait_for("ticket", seconds=5, ticket_id=ticket_id)  # admins see every department
    eventlet.sleep(1.5)  # long enough for anything addressed to Billing to have arrived
    assert billing.events == []
    assert billing.comments  # the heartbeat kept the quiet stream alive
    billing_ticket = customer_writes("billing@isp.example", subject="Счёт")
    billing.wait_for("ticket", seconds=5, ticket_id=billing_ticket)
    eventlet.sleep(0.5)
    assert all(data["department_id"] == desk["first"]["id"] for _, data in first.events)


def test_a_browser_that_goes_away_is_forgotten(gateway_url, desk, streams, app):
    hub = app.extensions["live"]
    first = open_stream(streams, gateway_url, desk["first_agent"])
    open_stream(streams, gateway_url, desk["billing_agent"])
    assert len(hub.listeners) == 2
    first.close()
    # the server notices when its next heartbeat cannot be written
    assert wait_until(lambda: len(hub.listeners) == 1, seconds=10), hub.listeners


def test_the_consumer_comes_back_after_the_broker_drops_it(gateway_url, desk, streams, app,
                                                           customer_writes, rabbit_manager,
                                                           rabbit_config):
    first = open_stream(streams, gateway_url, desk["first_agent"])
    hub = app.extensions["live"]
    [name] = wait_for_connection(rabbit_manager, rabbit_config["vhost"], hub.queue_name)
    rabbit_manager.delete_connection(name)  # what a broker restart does to its clients
    first.wait_for("resync", seconds=15)  # told that events in the gap may be lost
    ticket_id = customer_writes("support@isp.example")
    first.wait_for("ticket", seconds=5, ticket_id=ticket_id)


def test_live_events_need_an_agent(client):
    assert client.get(EVENTS).status_code == 401
    response = client.get(EVENTS, headers={"Authorization": "Bearer nobody"})
    assert response.status_code == 401 and response.json["error"] == "UNAUTHORIZED"


def wait_for_connection(rabbit_manager, vhost, queue_name, seconds=15):
    """The names of the live-event consumer's connections, once the broker lists them."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        names = [c["name"] for c in rabbit_manager.get_connections()
                 if c.get("vhost") == vhost and queue_name in
                 str((c.get("client_properties") or {}).get("connection_name"))]
        if names:
            return names
        eventlet.sleep(0.2)
    raise AssertionError("the broker does not list the live-event consumer's connection")


def test_presence_on_a_ticket_reaches_its_department_only(gateway_url, desk, streams,
                                                          customer_writes):
    ticket_id = customer_writes("support@isp.example")
    first = open_stream(streams, gateway_url, desk["first_agent"])
    billing = open_stream(streams, gateway_url, desk["billing_agent"])
    url = f"{gateway_url}/api/v1/tickets/{ticket_id}/presence"
    said = requests.post(url, json={"state": "typing"}, timeout=5,
                         headers={"Authorization": f"Bearer {desk['first_agent']}"})
    assert said.status_code == 202, said.text
    event = first.wait_for("presence", ticket_id=ticket_id)
    assert (event["agent_name"], event["state"]) == ("Olga", "typing")
    assert event["department_id"] == desk["first"]["id"]

    refused = requests.post(url, json={"state": "typing"}, timeout=5,
                            headers={"Authorization": f"Bearer {desk['billing_agent']}"})
    assert refused.status_code == 404  # Boris may not know the ticket exists
    wrong = requests.post(url, json={"state": "asleep"}, timeout=5,
                          headers={"Authorization": f"Bearer {desk['first_agent']}"})
    assert wrong.status_code == 400 and wrong.json()["field"] == "state"
    assert requests.post(url, json={"state": "viewing"}, timeout=5).status_code == 401
    eventlet.sleep(1)
    assert [name for name, _ in billing.events if name == "presence"] == []
