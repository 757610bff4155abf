"""Who hears which live event, and what a stream is told when it fell behind or the broker
cannot be reached; no broker needed."""
import time

import pytest

from gateway import live
from gateway.rpc import ServiceUnavailable
from tests.mail import free_port

FIRST_LINE, BILLING = 1, 2


def event(department_id, kind="ticket"):
    return {"kind": kind, "ticket_id": 1000, "department_id": department_id}


def hub_with(*agents):
    hub = live.LiveEvents({"AMQP_URI": "pyamqp://guest:guest@127.0.0.1:1//"})
    listeners = [live.Listener(agent) for agent in agents]
    hub.listeners.update(listeners)
    return hub, listeners


def test_an_event_reaches_the_departments_agents_and_the_admins_only():
    hub, (olga, boris, ada) = hub_with(
        {"role": "agent", "department_ids": [FIRST_LINE]},
        {"role": "manager", "department_ids": [BILLING]},
        {"role": "admin", "department_ids": []})
    hub._on_message(event(FIRST_LINE), message=None)
    assert olga.next_event(timeout=0) == event(FIRST_LINE)
    assert boris.next_event(timeout=0) is None
    assert ada.next_event(timeout=0) == event(FIRST_LINE)


def test_events_that_came_in_one_message_are_each_relayed_to_whoever_may_see_them():
    hub, (olga, boris) = hub_with({"role": "agent", "department_ids": [FIRST_LINE]},
                                  {"role": "agent", "department_ids": [BILLING]})
    hub._on_message({"events": [event(FIRST_LINE), event(BILLING, "message"),
                                {"kind": "ticket\ndata: forged", "department_id": BILLING}]},
                    message=None)
    assert olga.next_event(timeout=0) == event(FIRST_LINE)
    assert olga.next_event(timeout=0) is None
    assert boris.next_event(timeout=0) == event(BILLING, "message")
    assert boris.next_event(timeout=0) is None


@pytest.mark.parametrize("body", ["text", {"ticket_id": 1}, {"kind": "ticket\ndata: forged"},
                                  {"kind": 7}])
def test_a_malformed_event_is_not_relayed(body):
    hub, (ada,) = hub_with({"role": "admin"})
    hub._on_message(body, message=None)
    assert ada.next_event(timeout=0) is None


def test_a_stream_that_fell_behind_is_told_to_resync():
    hub, (olga,) = hub_with({"role": "agent", "department_ids": [FIRST_LINE]})
    for _ in range(live.BACKLOG + 3):
        hub._on_message(event(FIRST_LINE), message=None)
    assert olga.next_event(timeout=0) == live.RESYNC
    assert olga.next_event(timeout=0) == event(FIRST_LINE)


def test_without_a_broker_a_stream_is_refused_and_the_consumer_keeps_trying(monkeypatch):
    monkeypatch.setattr(live, "READY_SECONDS", 0.5)
    hub = live.LiveEvents({"AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:{free_port()}//"})
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as refused:
        hub.listen({"role": "admin"})
    assert refused.value.code == "BROKER_UNAVAILABLE" and time.monotonic() - started < 3
    assert hub._consumer.is_alive() and hub.listeners == set()
    hub.stop()
    assert not hub._consumer.is_alive()
