"""The tickets service's event outbox in a real container: every committed change's event
reaches subscribers and its row is marked published; an event whose publisher died before
publishing is published by the relay."""
import time
from datetime import datetime, timedelta, timezone

import eventlet
from nameko.events import event_handler
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import select

from helpdesk import contract, outbox
from helpdesk.errors import InvalidInput
from services.tickets.models import OutboxEvent
from services.tickets.service import TicketsService
from tests import fixtures

INGEST = contract.system("ingest")


class Subscriber:
    name = "outbox_test_subscriber"
    received = []

    @event_handler("tickets", contract.TICKET_CREATED)
    def ticket_created(self, payload):
        Subscriber.received.append(payload)


def wait_for(condition, seconds=10):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        eventlet.sleep(0.1)
    return condition()


def outbox_rows(db):
    db.rollback()
    return db.scalars(select(OutboxEvent)).all()


def test_an_event_is_delivered_and_its_row_marked_published(container_factory, config, db):
    fixtures.department(db, "First line", ["support@isp.example"])
    Subscriber.received = []
    for service in (TicketsService, Subscriber):
        container_factory(service, config).start()
    with ClusterRpcProxy(config) as rpc:
        created = rpc.tickets.ingest_message(INGEST, {
            "message_id": "<outbox-1@mail.example>", "from_address": "anna@mail.example",
            "to": ["support@isp.example"], "subject": "Нет интернета", "body_text": "Нет связи"})
    assert wait_for(lambda: Subscriber.received)
    assert Subscriber.received[0]["ticket"]["id"] == created["ticket_id"]
    assert wait_for(lambda: all(row.published_at for row in outbox_rows(db)), 5)
    assert len(outbox_rows(db)) == 1


def test_the_relay_publishes_an_event_left_unpublished(container_factory, config, db):
    Subscriber.received = []
    db.add(OutboxEvent(id="left-behind", event_type=contract.TICKET_CREATED,
                       payload={"event_id": "left-behind", "ticket": {"id": 77}},
                       created_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
    db.commit()
    for service in (TicketsService, Subscriber):
        container_factory(service, config).start()
    assert wait_for(lambda: Subscriber.received, 15)  # the relay runs every 5 s
    assert Subscriber.received == [{"event_id": "left-behind", "ticket": {"id": 77}}]
    assert wait_for(lambda: outbox_rows(db)[0].published_at is not None, 5)


def test_a_savepoint_rolled_back_takes_its_events_with_it(db):
    """A mail of a batch that tickets refuses is rolled back to its savepoint: its events
    must not go out with the others' commit."""
    outbox.record(db, OutboxEvent, contract.TICKET_CREATED, {"ticket": {"id": 1}}, "kept")
    try:
        with outbox.savepoint(db):
            outbox.record(db, OutboxEvent, contract.TICKET_CREATED, {"ticket": {"id": 2}},
                          "rolled-back")
            raise InvalidInput("INVALID_INPUT", "refused")
    except InvalidInput:
        pass
    with outbox.savepoint(db):
        outbox.record(db, OutboxEvent, contract.TICKET_CREATED, {"ticket": {"id": 3}},
                      "released")
    db.commit()
    committed = [event_id for event_id, _, _ in db.info.pop(outbox._COMMITTED, [])]
    assert committed == ["kept", "released"]
    assert sorted(row.id for row in outbox_rows(db)) == ["kept", "released"]


def test_savepoints_released_in_a_transaction_rolled_back_announce_nothing(db):
    """PostgreSQL restarting between a batch's savepoints and its COMMIT: none of its events
    may go out (they did, about tickets that never were)."""
    for number in (1, 2):
        with outbox.savepoint(db):
            outbox.record(db, OutboxEvent, contract.TICKET_CREATED, {"ticket": {"id": number}})
    db.rollback()
    assert db.info.pop(outbox._COMMITTED, []) == []
    assert outbox_rows(db) == []
