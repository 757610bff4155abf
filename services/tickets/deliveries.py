"""Mail the help desk could not deliver (notify.delivery_failed): a system note on the
ticket so agents see it, and the agent's reply marked failed. The note carries the event's
id as its Message-ID, so the event delivered twice leaves one note."""
from sqlalchemy import select

from helpdesk import contract
from helpdesk.contract import Direction
from services.tickets import access, history
from services.tickets.conversation import add_message, announce_message
from services.tickets.models import Message, Ticket

WHAT_FAILED = {"reply": "The reply", "auto_ack": "The acknowledgement",
               "resolved": "The resolution notice", "sla_breached": "The SLA alert",
               "sla_warning": "The SLA warning", "assigned": "The assignment notice"}


def record_failure(session, payload):
    """True when a note was added; False for a redelivery or a mail about no ticket."""
    key = f"<delivery-failed.{payload['event_id']}@helpdesk.invalid>"
    ticket = session.get(Ticket, payload.get("ticket_id")) \
        if isinstance(payload.get("ticket_id"), int) else None
    if ticket is None or session.scalar(select(Message.id).where(Message.message_id == key)):
        return False
    original = session.get(Message, payload["message_id"]) \
        if isinstance(payload.get("message_id"), int) else None
    if original is not None and original.ticket_id != ticket.id:
        original = None
    note = Message(ticket_id=ticket.id, direction=Direction.INTERNAL, subject=ticket.subject,
                   body_text=_note(payload), message_id=key, auto_reply=True)
    note_failure(session, access.resolve(session, contract.system("notify")), ticket, note,
                 original, "failed", original.id if original else None, payload.get("code"))
    return True


def note_failure(session, actor, ticket, note, original, status, audit_old, audit_new,
                 attachments=()):
    """What every failed delivery does, reported by notify or by a bounce: the original
    message marked, the system note added, audited and announced, all committed."""
    if original is not None:
        original.delivery_status = status
    add_message(session, note, attachments)
    history.record_change(session, ticket, actor, "delivery_failed", audit_old, audit_new)
    announce_message(session, ticket, note)
    session.commit()


def _note(payload):
    what = WHAT_FAILED.get(payload.get("kind"), "A mail")
    recipients = ", ".join(payload.get("recipients") or []) or "the recipient"
    return f"{what} to {recipients} could not be delivered.\n\n{payload.get('reason') or ''}" \
        .strip()
