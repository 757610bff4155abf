"""Notify asks tickets for a reply's mail context; when tickets does not answer (it is
stopping too, say, in a deploy), the call gives up after its deadline: notify's own stop is
not held until tickets comes back, and the event waits in the inbox for a later try."""
import time

import eventlet
from nameko.rpc import rpc
from nameko.standalone.events import event_dispatcher
from sqlalchemy import select

from helpdesk import contract
from services.notify.models import InboxEvent, OutboxMail
from services.notify.service import NotifyService
from tests.waiting import wait_until

RPC_TIMEOUT = 0.5  # service-to-service deadline: three times this


class TicketsNotAnswering:
    name = "tickets"
    asked = []

    @rpc
    def mail_context(self, actor, ticket_id, message_id=None):
        TicketsNotAnswering.asked.append((ticket_id, message_id))
        eventlet.sleep(60)


def test_notify_stops_without_waiting_for_a_tickets_that_does_not_answer(
        container_factory, config, db, relay):
    TicketsNotAnswering.asked = []
    settings = {**config, **relay.settings(), "RPC_TIMEOUT": RPC_TIMEOUT}
    container_factory(TicketsNotAnswering, settings).start()
    notify = container_factory(NotifyService, settings)
    notify.start()
    event_dispatcher(config)("tickets", contract.MESSAGE_ADDED, {
        "event_id": "reply-1", "ticket_id": 1000, "department_id": 1, "message_id": 7,
        "direction": contract.Direction.OUTBOUND, "author_agent_id": 1,
        "author_customer_id": None, "auto_reply": False, "created_at": "2026-11-24T10:00:00Z"})
    assert wait_until(lambda: TicketsNotAnswering.asked, seconds=10)
    started = time.monotonic()
    notify.stop()
    # the batch's try and the try on its own each wait out the deadline, not tickets' 60 s
    assert time.monotonic() - started < 4 * 3 * RPC_TIMEOUT
    db.rollback()
    kept = db.scalar(select(InboxEvent).where(InboxEvent.event_id == "reply-1"))
    assert kept.status == "pending" and "did not answer in 1.5 s" in kept.last_error
    assert db.scalar(select(OutboxMail.id)) is None
