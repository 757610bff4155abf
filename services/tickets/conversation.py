"""The conversation on a ticket: customer mail in, agent replies out, internal notes, and
moving messages between tickets (split, merge)."""
import base64
import binascii
import hashlib
import uuid
from datetime import datetime, timezone

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm.attributes import set_committed_value

from helpdesk import contract
from helpdesk.contract import Direction, Status
from helpdesk.errors import Conflict, InvalidInput, NotFound
from helpdesk.payloads import MergeIn, NoteIn, ReplyIn, SplitIn, parse
from services.tickets import access, departments, escalations, history, outbound, serialise
from services.tickets.models import (Agent, Attachment, Blob, Customer, DepartmentAddress, Message,
                                     Ticket)


def reply(session, actor, ticket_id, data):
    """An agent's answer to the customer, to be mailed by notify; the first one sets the
    ticket's first-response time."""
    payload = parse(ReplyIn, data)
    ticket = access.visible_ticket(session, actor, ticket_id, lock=True)
    made = _made_before(session, actor, ticket, payload.request_key)
    if made is not None:
        return made
    customer = session.get(Customer, ticket.customer_id)
    department = departments.get(session, ticket.department_id)
    sender = department.addresses[0].address if department.addresses else ""
    answered = _last_customer_message(session, ticket.id)
    cc = payload.cc if payload.cc is not None else _kept_cc(session, answered, customer)
    message = Message(ticket_id=ticket.id, direction=Direction.OUTBOUND,
                      author_agent_id=actor.agent_id, from_address=sender,
                      to_addresses=[customer.email], cc_addresses=cc,
                      subject=contract.tag_subject(f"Re: {ticket.subject}", ticket.id),
                      body_text=payload.body, body_html=payload.body_html,
                      message_id=_new_message_id(ticket.id, sender),
                      in_reply_to=answered.message_id if answered else None,
                      request_key=_request_key(actor, payload.request_key))
    add_message(session, message, payload.attachments)
    now = datetime.now(timezone.utc)
    changes = {"status": str(payload.status or Status.OPEN)}
    if ticket.first_response_at is None:
        changes["first_response_at"] = now
    history.apply_changes(session, ticket, actor, changes)
    ticket.updated_at = now
    answer = with_authors(session, [message])[0]
    announce_message(session, ticket, message,
                     outbound.reply_context(session, ticket, department, customer, answer))
    session.commit()
    return answer


def note(session, actor, ticket_id, data):
    """An internal note: seen by agents only, never mailed."""
    payload = parse(NoteIn, data)
    ticket = access.visible_ticket(session, actor, ticket_id, lock=True)
    made = _made_before(session, actor, ticket, payload.request_key)
    if made is not None:
        return made
    message = Message(ticket_id=ticket.id, direction=Direction.INTERNAL,
                      author_agent_id=actor.agent_id, subject=ticket.subject,
                      body_text=payload.body,
                      request_key=_request_key(actor, payload.request_key))
    add_message(session, message, payload.attachments)
    ticket.updated_at = datetime.now(timezone.utc)
    announce_message(session, ticket, message)
    session.commit()
    return serialise.message(message, author_of(session, message))


def split(session, actor, ticket_id, data):
    """Move one message out into a new ticket of the same customer, linked to the old one."""
    payload = parse(SplitIn, data)
    ticket = access.visible_ticket(session, actor, ticket_id, lock=True)
    message = session.get(Message, payload.message_id)
    if message is None or message.ticket_id != ticket.id:
        raise InvalidInput("MESSAGE_NOT_ON_TICKET",
                           f"message {payload.message_id} is not on ticket {ticket.id}",
                           "message_id")
    remaining = session.scalar(select(func.count()).where(Message.ticket_id == ticket.id))
    if remaining < 2:
        raise Conflict("LAST_MESSAGE", "the only message of a ticket cannot be split out")
    new = Ticket(subject=message.subject or ticket.subject, channel=ticket.channel,
                 status=Status.NEW, priority=ticket.priority, language=ticket.language,
                 department_id=ticket.department_id, customer_id=ticket.customer_id,
                 parent_id=ticket.id)
    session.add(new)
    session.flush()
    message.ticket_id = new.id
    ticket.updated_at = datetime.now(timezone.utc)  # a new version: the message left it
    history.record_change(session, ticket, actor, "split", message.id, f"#{new.id}")
    history.record_change(session, new, actor, "split_from", None, f"#{ticket.id}")
    announce_created(session, new, message, session.get(Customer, new.customer_id),
                     contract.ORIGIN_SPLIT)
    history.announce(session, contract.TICKET_SPLIT,
                     {"ticket_id": ticket.id, "new_ticket_id": new.id, "message_id": message.id,
                      "department_id": ticket.department_id, "actor": history.actor_ref(actor)})
    session.commit()
    return serialise.ticket(new)


def merge(session, actor, ticket_id, data):
    """Merge this ticket into another: its messages move there, and it is closed."""
    payload = parse(MergeIn, data)
    source = access.visible_ticket(session, actor, ticket_id, lock=True)
    target = access.visible_ticket(session, actor, payload.into_ticket_id, lock=True)
    if source.id == target.id or target.merged_into_id:
        raise Conflict("CANNOT_MERGE", "a ticket cannot be merged into itself or into a "
                       "ticket that was itself merged away")
    moved = session.execute(update(Message).where(Message.ticket_id == source.id)
                            .values(ticket_id=target.id)).rowcount
    history.apply_changes(session, source, actor, {"status": str(Status.CLOSED),
                                                   "merged_into_id": target.id})
    history.record_change(session, target, actor, "merged_from", None, f"#{source.id}")
    target.updated_at = datetime.now(timezone.utc)
    history.announce(session, contract.TICKET_MERGED,
                     {"ticket_id": source.id, "into_ticket_id": target.id,
                      "messages_moved": moved, "department_id": target.department_id,
                      "actor": history.actor_ref(actor)})
    session.commit()
    return serialise.ticket(target)


def attachment(session, actor, attachment_id):
    """An attachment's metadata and content, if its ticket is visible to the actor."""
    row = session.get(Attachment, attachment_id) if isinstance(attachment_id, int) else None
    if row is not None:
        message = session.get(Message, row.message_id)
        try:
            access.visible_ticket(session, actor, message.ticket_id)
        except NotFound:
            row = None
    if row is None:
        raise NotFound("ATTACHMENT_NOT_FOUND", f"attachment {attachment_id} does not exist")
    content = session.get(Blob, row.sha256).content
    return {**serialise.attachment(row), "content_base64": base64.b64encode(content).decode()}


def _request_key(actor, key):
    """What is stored of a request's key: a digest with the agent in it, so one agent's keys
    never meet another's."""
    if key is None:
        return None
    return hashlib.sha256(f"{actor.agent_id}\n{key}".encode()).hexdigest()


def _made_before(session, actor, ticket, key):
    """The message a request with this key made already (serialised as it was answered), or
    None. The ticket's row lock makes two such requests at once wait for each other."""
    if key is None:
        return None
    message = session.scalar(select(Message).where(
        Message.request_key == _request_key(actor, key)))
    if message is None:
        return None
    if message.ticket_id != ticket.id:
        raise Conflict("REQUEST_KEY_REUSED", "this request key already made a message on "
                       f"ticket {message.ticket_id}", "request_key")
    answer = serialise.message(message, author_of(session, message))
    session.rollback()  # nothing to change: let go of the ticket's lock
    return answer


def add_message(session, message, attachments):
    """Store a message with its attachments (content once per sha256)."""
    session.add(message)
    session.flush()
    for index, item in enumerate(attachments):
        try:
            content = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("INVALID_ATTACHMENT", f"attachment {item.filename!r} is not "
                               "valid base64", f"attachments.{index}.content_base64") from None
        digest = hashlib.sha256(content).hexdigest()
        session.execute(insert(Blob).values(sha256=digest, content=content)
                        .on_conflict_do_nothing())
        session.add(Attachment(message_id=message.id, filename=item.filename,
                               content_type=item.content_type, size=len(content), sha256=digest,
                               content_id=item.content_id, inline=item.inline))
    session.flush()
    if attachments:
        session.refresh(message, ["attachments"])
    else:  # nothing to read back: spare the query on every plain mail
        set_committed_value(message, "attachments", [])


def _new_message_id(ticket_id, sender):
    domain = sender.rpartition("@")[2] or "helpdesk.invalid"
    return contract.own_message_id(ticket_id, domain, uuid.uuid4().hex)


def _last_customer_message(session, ticket_id):
    return session.scalar(select(Message)
                          .where(Message.ticket_id == ticket_id,
                                 Message.direction == Direction.INBOUND,
                                 Message.auto_reply.is_(False),
                                 Message.message_id.is_not(None))
                          .order_by(Message.created_at.desc(), Message.id.desc()).limit(1))


def _kept_cc(session, answered, customer):
    """Everyone the customer's last mail went to, except the customer and our own addresses:
    a reply keeps the people the customer copied in."""
    if answered is None:
        return []
    others = {address.lower(): address
              for address in [*answered.to_addresses, *answered.cc_addresses]}
    others.pop(customer.email.lower(), None)
    ours = set(session.scalars(select(DepartmentAddress.address)
                               .where(DepartmentAddress.address.in_(list(others)))))
    return [address for key, address in others.items() if key not in ours]


def author_of(session, message):
    return with_authors(session, [message])[0]["author"] if message else None


def with_authors(session, messages, customer=None):
    """Messages as dicts, each naming who wrote it (a disabled agent keeps their name).
    `customer`, the ticket's own if the caller has it at hand, is not read again."""
    agent_ids = {m.author_agent_id for m in messages if m.author_agent_id}
    customer_ids = {m.author_customer_id for m in messages if m.author_customer_id}
    people = {customer.id: customer} if customer is not None else {}
    customer_ids -= people.keys()
    # the columns shown, not Agent objects: those load their departments and addresses too
    agents = {a.id: a for a in session.execute(select(Agent.id, Agent.name, Agent.active)
                                               .where(Agent.id.in_(agent_ids)))} \
        if agent_ids else {}
    if customer_ids:
        people.update((c.id, c) for c in session.scalars(select(Customer)
                                                          .where(Customer.id.in_(customer_ids))))
    result = []
    for message in messages:
        if message.author_agent_id in agents:
            agent = agents[message.author_agent_id]
            author = {"kind": "agent", "id": agent.id, "name": agent.name,
                      "active": agent.active}
        elif message.author_customer_id in people:
            person = people[message.author_customer_id]
            author = {"kind": "customer", "id": person.id, "name": person.name,
                      "email": person.email}
        else:
            author = {"kind": "system", "id": None, "name": "system"}
        result.append(serialise.message(message, author))
    return result


def announce_created(session, ticket, message, customer, origin):
    """ticket_created, with what its consumers would otherwise ask back at once: the SLA
    facts (escalation) and, for a customer's request, the mail context of its
    acknowledgement (notify). A consumer that gets the event late or again asks afresh."""
    payload = {"ticket": serialise.ticket(ticket), "message_id": message.id, "origin": origin,
               "customer": {"id": customer.id, "email": customer.email, "name": customer.name},
               "sla_facts": escalations.facts_of_new(ticket, [message])}
    if origin == contract.ORIGIN_CUSTOMER:
        payload["mail_context"] = outbound.new_ticket_context(session, ticket, message, customer)
    history.announce(session, contract.TICKET_CREATED, payload)


def announce_message(session, ticket, message, mail_context=None):
    """message_added; an agent's reply brings the mail context notify would otherwise ask
    back for at once (outbound.reply_context)."""
    payload = {"ticket_id": ticket.id, "department_id": ticket.department_id,
               "message_id": message.id, "direction": message.direction,
               "author_agent_id": message.author_agent_id,
               "author_customer_id": message.author_customer_id,
               "auto_reply": message.auto_reply, "created_at": message.created_at.isoformat()}
    if mail_context is not None:
        payload["mail_context"] = mail_context
    history.announce(session, contract.MESSAGE_ADDED, payload)
