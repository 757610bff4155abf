"""What the customer portal may do on a customer's behalf: send a request to a department
offered on the portal (rate-limited), list and read the customer's own tickets without
internal notes, answer them, download their attachments.

The gateway proves who the customer is (a signed link); these rules only ever take the
customer id it vouches for, and only from the portal's own system actor."""
import base64
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, or_, select

from helpdesk import contract
from helpdesk.contract import ORIGIN_CUSTOMER, Direction, Status
from helpdesk.errors import Forbidden, InvalidInput, NotFound, TooManyRequests
from helpdesk.payloads import PortalReplyIn, PortalRequestIn, parse
from services.tickets import customers, lifecycle, serialise
from services.tickets.conversation import add_message, announce_created, with_authors
from services.tickets.inbound import customer_wrote_again
from services.tickets.models import Attachment, Blob, Department, Message, PortalSubmission, \
    Rating, Ticket

PORTAL = "portal"
KEPT = timedelta(days=1)
WINDOW = timedelta(hours=1)
DEFAULT_REQUESTS_PER_HOUR = 5


def departments(session, actor):
    """The departments a customer may choose in the request form, by name."""
    _require_portal(actor)
    rows = session.execute(select(Department.id, Department.name)
                           .where(Department.on_portal.is_(True)).order_by(Department.name))
    return [{"id": row.id, "name": row.name} for row in rows]


def submit(session, actor, data, per_hour=DEFAULT_REQUESTS_PER_HOUR):
    """A new ticket from the form, channel portal; the customer is found or created by address."""
    _require_portal(actor)
    payload = parse(PortalRequestIn, data)
    department = session.get(Department, payload.department_id)
    if department is None or not department.on_portal:
        raise InvalidInput("INVALID_INPUT", "this department does not take requests here",
                           "department_id")
    email = payload.email.strip().lower()
    _within_limit(session, payload.client_address, email, per_hour)
    customer = customers.find_or_create(session, payload.email, payload.name)
    ticket, message = lifecycle.open_ticket(session, customer, payload.subject, payload.body,
                                            contract.Channel.PORTAL, department.id,
                                            attachments=payload.attachments)
    session.add(PortalSubmission(client_address=payload.client_address, email=email,
                                 ticket_id=ticket.id))
    announce_created(session, ticket, message, customer, ORIGIN_CUSTOMER)
    session.commit()
    return {"ticket_id": ticket.id, "customer_id": customer.id}


def _within_limit(session, client_address, email, per_hour):
    """TooManyRequests when the address or the mailbox has sent `per_hour` requests within
    the hour. Rows older than a day go first: the table only ever holds a day."""
    now = datetime.now(timezone.utc)
    session.execute(delete(PortalSubmission).where(PortalSubmission.created_at < now - KEPT))
    recent = session.scalar(
        select(func.count()).select_from(PortalSubmission)
        .where(PortalSubmission.created_at > now - WINDOW,
               or_(PortalSubmission.client_address == client_address,
                   PortalSubmission.email == email)))
    if recent >= per_hour:
        raise TooManyRequests("TOO_MANY_REQUESTS", f"at most {per_hour} requests an hour "
                              "from one address; please try again later")


def tickets(session, actor, customer_id):
    """The customer's tickets, newest first (merged ones are shown as the ticket they joined)."""
    _require_portal(actor)
    rows = session.scalars(select(Ticket).where(Ticket.customer_id == customer_id,
                                                Ticket.merged_into_id.is_(None))
                           .order_by(Ticket.created_at.desc()).limit(200))
    names = _department_names(session)
    return [{**_public(row), "department": names.get(row.department_id, "")} for row in rows]


def ticket(session, actor, customer_id, ticket_id):
    """One of the customer's tickets: what the customer was told and wrote, never notes."""
    _require_portal(actor)
    row = _own_ticket(session, customer_id, ticket_id)
    if row.merged_into_id:
        return {"merged_into_id": row.merged_into_id}
    messages = session.scalars(select(Message)
                               .where(Message.ticket_id == row.id,
                                      Message.direction != Direction.INTERNAL)
                               .order_by(Message.created_at, Message.id)).all()
    rating = session.get(Rating, row.id)
    return {**_public(row), "department": _department_names(session).get(row.department_id, ""),
            "messages": [_public_message(item) for item in with_authors(session, messages)],
            "rating": serialise.rating(rating) if rating else None}


def reply(session, actor, customer_id, ticket_id, data):
    """The customer's answer from the portal: like a mail, it reopens a waiting ticket."""
    _require_portal(actor)
    payload = parse(PortalReplyIn, data)
    row = _own_ticket(session, customer_id, ticket_id, lock=True)
    if row.merged_into_id:
        row = _own_ticket(session, customer_id, row.merged_into_id, lock=True)
    customer = customers.get(session, customer_id)
    message = Message(ticket_id=row.id, direction=Direction.INBOUND,
                      author_customer_id=customer_id, from_address=customer.email,
                      subject=f"Re: {row.subject}", body_text=payload.body)
    add_message(session, message, payload.attachments)
    customer_wrote_again(session, actor, row, message)
    session.commit()
    return {"ticket_id": row.id, "message_id": message.id,
            "reopened": row.status == Status.OPEN}


def attachment(session, actor, customer_id, attachment_id):
    """An attachment of a message the customer can see on their own ticket."""
    _require_portal(actor)
    found = session.execute(
        select(Attachment, Message.direction)
        .join(Message, Message.id == Attachment.message_id)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(Attachment.id == attachment_id, Ticket.customer_id == customer_id)).first()
    if found is None or found.direction == Direction.INTERNAL:
        raise NotFound("ATTACHMENT_NOT_FOUND", f"attachment {attachment_id} does not exist")
    row = found.Attachment
    content = session.get(Blob, row.sha256).content
    return {**serialise.attachment(row), "content_base64": base64.b64encode(content).decode()}


def _require_portal(actor):
    if actor.system != PORTAL:
        raise Forbidden("FORBIDDEN", "only the customer portal may act for a customer")


def _own_ticket(session, customer_id, ticket_id, lock=False):
    query = select(Ticket).where(Ticket.id == ticket_id, Ticket.customer_id == customer_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:  # someone else's ticket is as missing as one that never was
        raise NotFound("TICKET_NOT_FOUND", f"ticket {ticket_id} does not exist")
    return row


def _department_names(session):
    return dict(session.execute(select(Department.id, Department.name)).all())


def _public(row):
    return {"id": row.id, "number": row.id, "subject": row.subject, "status": row.status,
            "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat(),
            "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
            "rateable": row.status in (Status.RESOLVED, Status.CLOSED)}


def _public_message(message):
    """A message as the customer sees it: agents by name only, no addresses of ours."""
    author = message["author"] or {}
    return {"id": message["id"], "direction": message["direction"],
            "author": {"kind": author.get("kind"), "name": author.get("name", "")},
            "body_text": message["body_text"], "body_html": message["body_html"],
            "created_at": message["created_at"],
            "attachments": [{key: item[key] for key in ("id", "filename", "content_type", "size")}
                            for item in message["attachments"] if not item["inline"]]}
