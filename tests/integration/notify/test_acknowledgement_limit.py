"""The hourly limit of acknowledgements holds for events taken together: their senders'
counts are read once for the batch, and each acknowledgement queued in it counts."""
from sqlalchemy import func, select

from services.notify import events, inbox, notifications, texts
from services.notify.models import OutboxMail
from services.tickets import access, inbound
from services.tickets.models import OutboxEvent
from tests import fixtures

OPTIONS = notifications.options_from({"SECRET_KEY": "test", "GATEWAY_ADDRESS": "127.0.0.1:1",
                                      "AUTO_ACK_PER_SENDER_HOUR": 5})


def new_tickets(db, senders):
    """ticket_created payloads, as tickets makes them, for mails from these senders."""
    department = fixtures.department(db, "First line", ["support@isp.example"])["id"]
    actor = access.resolve(db, {"system": "ingest"})
    inbound.ingest_many(db, actor, [
        {"message_id": f"<n{number}@mail.example>", "from_address": sender,
         "to": ["support@isp.example"], "subject": "Нет интернета", "body_text": "Нет связи",
         "department_id": department} for number, sender in enumerate(senders)])
    payloads = [row.payload for row in db.scalars(
        select(OutboxEvent).where(OutboxEvent.event_type == "ticket_created")
        .order_by(OutboxEvent.created_at))]
    db.commit()
    return payloads


def take_together(db, payloads):
    return inbox.take_many(db, [(events.CREATED, payload) for payload in payloads],
                           lambda session, event_type, payload: notifications.queue_mail(
                               session, event_type, payload, None, OPTIONS),
                           notifications.read_ahead, notifications.queue_held)


def acknowledgements(db, recipient):
    db.rollback()
    return db.scalar(select(func.count()).select_from(OutboxMail).where(
        OutboxMail.kind == texts.AUTO_ACK, OutboxMail.recipient == recipient))


def test_a_batch_acknowledges_a_sender_no_more_often_than_the_hourly_limit(db):
    payloads = new_tickets(db, ["Anna@mail.example"] * 3 + ["boris@mail.example"]
                           + ["anna@mail.example"] * 4)
    assert take_together(db, payloads[:7]) == [1, 1, 1, 1, 1, 1, 0]  # Anna's sixth: none
    assert take_together(db, payloads[7:]) == [0]  # nor in the next batch
    assert acknowledgements(db, "anna@mail.example") == 5
    assert acknowledgements(db, "boris@mail.example") == 1
