"""Bounces handed over by ingest land on the ticket of the mail that did not arrive: an agent's
reply (marked failed) or one of notify's own notices (named by its Message-ID)."""
from sqlalchemy import select

from services.tickets import access, conversation, inbound
from services.tickets.models import Message
from tests import fixtures


def customer_mail(db):
    fixtures.department(db, "First line", ["support@isp.example"])
    return inbound.ingest(db, fixtures.SYSTEM, {
        "message_id": "<q1@mail.example>", "from_address": "anna@mail.example",
        "to": ["support@isp.example"], "subject": "Нет интернета", "body_text": "Помогите"})


def bounce(original_message_id, message_id="<bounce@mx.mail.example>"):
    return {"message_id": message_id, "from_address": "mailer-daemon@mx.mail.example",
            "subject": "Undelivered Mail Returned to Sender", "auto_reply": True,
            "bounce": {"original_message_id": original_message_id, "action": "failed",
                       "status": "5.1.1", "recipients": ["anna@mail.example"],
                       "diagnostic": "550 5.1.1 User unknown"}}


def notes(db, ticket_id):
    return db.scalars(select(Message.body_text).where(Message.ticket_id == ticket_id,
                                                      Message.direction == "internal")).all()


def test_a_bounced_reply_is_marked_failed_with_a_note(db):
    ticket_id = customer_mail(db)["ticket_id"]
    agent, _ = fixtures.agent_with_token(db, "Olga", "olga@isp.example", role="admin")
    actor = access.resolve(db, {"agent_id": agent["id"]})
    reply = conversation.reply(db, actor, ticket_id, {"body": "Перезагрузите роутер"})
    result = inbound.ingest(db, fixtures.SYSTEM, bounce(reply["message_id"]))
    assert result["ticket_id"] == ticket_id
    assert db.get(Message, reply["id"]).delivery_status == "failed"
    assert notes(db, ticket_id) == ["Delivery to anna@mail.example failed (5.1.1).\n\n"
                                    "550 5.1.1 User unknown"]


def test_a_bounced_acknowledgement_is_noted_on_the_ticket_its_message_id_names(db):
    ticket_id = customer_mail(db)["ticket_id"]
    result = inbound.ingest(db, fixtures.SYSTEM, bounce(f"<hd.{ticket_id}.f00d@isp.example>"))
    assert result["ticket_id"] == ticket_id and result["ignored"] is None
    assert len(notes(db, ticket_id)) == 1


def test_a_bounce_about_mail_we_never_sent_is_ignored(db):
    ticket_id = customer_mail(db)["ticket_id"]
    for original in ("<other@mail.example>", f"<hd.{ticket_id}.f00d@someone-else.example>"):
        result = inbound.ingest(db, fixtures.SYSTEM, bounce(original, f"<b-{original}>"))
        assert result["ignored"] == "a bounce about a mail the help desk did not send"
    assert notes(db, ticket_id) == []
