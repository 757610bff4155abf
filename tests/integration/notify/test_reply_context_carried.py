"""An agent's reply is mailed from the context its message_added event carries: notify does
not ask tickets back, and the mail is the one tickets' own answer would have made."""
import email
from email import policy

from sqlalchemy import select

from helpdesk import contract
from services.notify import events, inbox, notifications
from services.notify.models import OutboxMail
from services.tickets import access, conversation, inbound, outbound
from services.tickets.models import OutboxEvent
from tests import fixtures

OPTIONS = notifications.options_from({"SECRET_KEY": "test", "GATEWAY_ADDRESS": "127.0.0.1:1"})


def never_asked(ticket_id, message_id):
    raise AssertionError(f"notify asked tickets for ticket {ticket_id}'s mail context")


def reply_event(db):
    return db.scalars(select(OutboxEvent.payload)
                      .where(OutboxEvent.event_type == contract.MESSAGE_ADDED)
                      .order_by(OutboxEvent.created_at.desc()).limit(1)).one()


def mailed(db, payload, mail_context):
    db.commit()
    assert inbox.take_many(db, [(events.MESSAGE, payload)],
                           lambda session, event_type, event: notifications.queue_mail(
                               session, event_type, event, mail_context, OPTIONS)) == [1]
    return db.scalars(select(OutboxMail).where(OutboxMail.ticket_message_id ==
                                               payload["message_id"])).one()


def test_a_reply_is_mailed_from_its_events_context_as_from_tickets_answer(db):
    billing = fixtures.department(db, "Биллинг", ["billing@isp.example"], signature="-- Биллинг")
    olga, _ = fixtures.agent_with_token(db, "Ольга", "olga@isp.example",
                                        department_ids=[billing["id"]])
    ticket_id = inbound.ingest(db, access.resolve(db, {"system": "ingest"}), {
        "message_id": "<ask-1@mail.example>", "from_address": "anna@mail.example",
        "to": ["billing@isp.example"], "subject": "Счёт за ноябрь",
        "body_text": "Пришёл двойной счёт"})["ticket_id"]
    reply = conversation.reply(db, access.resolve(db, {"agent_id": olga["id"]}), ticket_id,
                               {"body": "Вернём разницу."})
    payload = reply_event(db)
    assert payload["message_id"] == reply["id"] and "mail_context" in payload
    carried = email.message_from_bytes(mailed(db, payload, never_asked).content,
                                       policy=policy.default)

    # the same event without its context: notify asks tickets, as it does for a reply with files
    notify = access.resolve(db, contract.system("notify"))
    asked = {key: value for key, value in payload.items() if key != "mail_context"}
    asked["event_id"] += "-asked"
    db.execute(OutboxMail.__table__.delete())
    answered = email.message_from_bytes(mailed(db, asked, lambda number, message: (
        outbound.mail_context(db, notify, number, message))).content, policy=policy.default)

    assert carried["To"] == answered["To"] == "anna@mail.example"
    for header in ("From", "Subject", "In-Reply-To", "References", "Message-ID"):
        assert carried[header] == answered[header], header
    assert carried["References"] == "<ask-1@mail.example>"
    text = carried.get_body(("plain",)).get_content()
    assert "Вернём разницу." in text and "-- Биллинг" in text
    assert text == answered.get_body(("plain",)).get_content()
