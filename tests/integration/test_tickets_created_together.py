"""The tickets a batch of mails opens go to each consumer in one tickets_created message; each
consumer treats its events as if they had come one by one: every new ticket acknowledged,
followed and indexed once, and the message delivered again changes nothing."""
import time

import eventlet
import pytest
from nameko.events import event_handler
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import func, select

from helpdesk import contract
from services.escalation.models import Clock
from services.escalation.service import EscalationService
from services.notify.models import OutboxMail
from services.notify.service import NotifyService
from services.search.models import TicketEntry
from services.search.service import SearchService
from services.tickets.models import OutboxEvent
from services.tickets.service import TicketsService
from tests import fixtures
from tests.relay import Relay
from tests.waiting import wait_until

INGEST = contract.system("ingest")


class Subscriber:
    name = "together_test_subscriber"
    alone, together = [], []

    @event_handler("tickets", contract.TICKET_CREATED)
    def ticket_created(self, payload):
        Subscriber.alone.append(payload)

    @event_handler("tickets", contract.TICKETS_CREATED)
    def tickets_created(self, payload):
        Subscriber.together.append(payload)


class Browsers:
    """Stands in for the gateways, which relay notify's live events to agents' browsers."""
    name = "together_test_browsers"
    told = []

    @event_handler("notify", contract.LIVE)
    def live(self, payload):
        Browsers.told.append(payload)


def mail(number, **extra):
    return {"message_id": f"<together-{number}@mail.example>",
            "from_address": f"customer{number}@mail.example", "from_name": f"Клиент {number}",
            "to": ["support@isp.example"], "subject": f"Нет интернета {number}",
            "body_text": "С утра нет подключения к интернету.", **extra}


def test_a_batch_of_new_tickets_goes_out_in_one_message(container_factory, config, db):
    fixtures.department(db, "First line", ["support@isp.example"])
    Subscriber.alone, Subscriber.together = [], []
    for service in (TicketsService, Subscriber):
        container_factory(service, config).start()
    batch = [mail(1), mail(2), mail(3), mail(4, in_reply_to="<together-1@mail.example>")]
    with ClusterRpcProxy(config) as rpc:
        outcomes = rpc.tickets.ingest_messages(INGEST, batch)
        opened = [outcome["result"]["ticket_id"] for outcome in outcomes[:3]]
        assert all(outcome["result"]["created_ticket"] for outcome in outcomes[:3])
        assert outcomes[3]["result"]["ticket_id"] == opened[0]  # an answer, not a ticket
        single = rpc.tickets.ingest_message(INGEST, mail(5))
    assert wait_until(lambda: Subscriber.together and Subscriber.alone, seconds=10)
    eventlet.sleep(0.5)  # nothing more comes
    [together] = Subscriber.together
    assert [event["ticket"]["id"] for event in together["events"]] == opened
    assert len({event["event_id"] for event in together["events"]}) == 3
    assert all(event["mail_context"] and event["sla_facts"] for event in together["events"])
    assert [event["ticket"]["id"] for event in Subscriber.alone] == [single["ticket_id"]]

    def all_published():
        db.rollback()
        rows = db.scalars(select(OutboxEvent)).all()
        return rows if all(row.published_at for row in rows) else None
    rows = wait_until(all_published, seconds=5)
    assert sorted(row.event_type for row in rows) == sorted(
        [contract.TICKET_CREATED] * 4 + [contract.MESSAGE_ADDED])  # a row each, as before


@pytest.fixture
def relay(tmp_path):
    relay = Relay(tmp_path / "relay").start()
    yield relay
    relay.stop()


def count(db, column, *conditions):
    db.rollback()
    return db.scalar(select(func.count(column)).where(*conditions))


def test_tickets_opened_together_are_acknowledged_followed_and_indexed_once(
        container_factory, config, db, relay):
    fixtures.department(db, "First line", ["support@isp.example"])
    settings = {**config, **relay.settings()}
    Browsers.told = []
    for service in (TicketsService, NotifyService, EscalationService, SearchService, Browsers):
        container_factory(service, settings).start()
    with ClusterRpcProxy(config) as rpc:
        outcomes = rpc.tickets.ingest_messages(INGEST, [mail(1), mail(2), mail(3)])
    opened = [outcome["result"]["ticket_id"] for outcome in outcomes]
    acknowledged = relay.wait_for(3)
    assert sorted(ack["To"].addresses[0].addr_spec for ack in acknowledged) == [
        "customer1@mail.example", "customer2@mail.example", "customer3@mail.example"]
    assert wait_until(lambda: Browsers.told, seconds=10)
    [told] = Browsers.told  # the browsers hear of all three in one message
    assert [(event["kind"], event["ticket_id"]) for event in told["events"]] == [
        ("ticket", number) for number in opened]
    assert wait_until(lambda: count(db, Clock.ticket_id, Clock.ticket_id.in_(opened)) == 3,
                      seconds=10)
    assert wait_until(lambda: count(db, TicketEntry.ticket_id,
                                    TicketEntry.ticket_id.in_(opened)) == 3, seconds=10)

    db.rollback()
    events = [row.payload for row in db.scalars(
        select(OutboxEvent).where(OutboxEvent.event_type == contract.TICKET_CREATED)
        .order_by(OutboxEvent.created_at))]
    event_dispatcher(config)("tickets", contract.TICKETS_CREATED, {"events": events})
    time.sleep(2)  # the same message again: every consumer has taken it by now
    assert count(db, OutboxMail.id) == 3
    assert len(relay.mails()) == 3
    assert count(db, Clock.ticket_id) == 3 and count(db, TicketEntry.ticket_id) == 3
