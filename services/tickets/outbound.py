"""What the notify service needs to write a mail about a ticket, in one answer: the ticket,
its department (addresses, sender name, signature), the customer, the thread's Message-IDs
for References, the department's managers, and the message being mailed with its files."""
import base64

from sqlalchemy import select

from helpdesk.contract import Direction, Role
from helpdesk.database import per_transaction
from services.tickets import access, conversation, customers, departments, serialise
from services.tickets.models import Agent, Blob, DepartmentAddress, Message, agent_departments

THREAD_REFERENCES = 20  # the first message and the latest ones are what clients thread by

# the columns a mail names an agent by (an Agent object would load its departments too)
PERSON = (Agent.id, Agent.name, Agent.email)


def mail_context(session, actor, ticket_id, message_id=None):
    access.require_admin(actor)  # system callers (notify) and admins only
    ticket = access.visible_ticket(session, actor, ticket_id)
    department = departments.get(session, ticket.department_id)
    thread = _thread(session, ticket)
    context = _context(session, ticket, department, customers.get(session, ticket.customer_id),
                       thread)
    if message_id is not None:
        message = session.get(Message, message_id)
        if message is None or message.ticket_id != ticket.id:
            return context
        context["message"] = _with_content(session, conversation.with_authors(session,
                                                                              [message])[0])
        context["references"] = _references(thread, message.id)
    return context


def reply_context(session, ticket, department, customer, message):
    """The mail context of an agent's reply, read in the reply's own transaction: it rides
    on message_added so that notify can mail it without asking back. `message` is the reply
    as the agent gets it back; one with files is not carried (notify asks for it, files and
    all, rather than every consumer of the event getting them)."""
    if message["attachments"]:
        return None
    thread = _thread(session, ticket)
    return {**_context(session, ticket, department, customer, thread), "message": message,
            "references": _references(thread, message["id"])}


def _thread(session, ticket):
    return session.execute(select(Message.id, Message.message_id, Message.direction,
                                  Message.auto_reply, Message.subject)
                           .where(Message.ticket_id == ticket.id)
                           .order_by(Message.created_at, Message.id)).all()


def _context(session, ticket, department, customer, thread):
    """A ticket's mail context, no message in it yet."""
    return {"ticket": serialise.ticket(ticket), "department": serialise.department(department),
            "customer": serialise.customer(customer), "assignee": _assignee(session, ticket),
            "own_addresses": list(session.scalars(select(DepartmentAddress.address))),
            "managers": _managers(session, department.id), "first_message": _first(thread),
            "message": None, "references": []}


def new_ticket_context(session, ticket, message, customer):
    """The mail context of a ticket being created with its first message, from what is in
    hand: it rides on the ticket_created event so that notify can acknowledge the request
    without asking back. The department's addresses and managers are read once per
    transaction (a batch of mails shares them)."""
    known = per_transaction(session, "mail_context")
    # read without flushing: the batch's new rows wait to go in one INSERT a table at the
    # commit, and none of them changes what is read here
    with session.no_autoflush:
        if "own_addresses" not in known:
            known["own_addresses"] = list(session.scalars(select(DepartmentAddress.address)))
        if ("department", ticket.department_id) not in known:
            department = departments.get(session, ticket.department_id)
            known["department", department.id] = (serialise.department(department),
                                                  _managers(session, department.id))
    department_context, managers = known["department", ticket.department_id]
    return {"ticket": serialise.ticket(ticket), "department": department_context,
            "customer": serialise.customer(customer),
            "assignee": _assignee(session, ticket),
            "own_addresses": known["own_addresses"], "managers": managers,
            "first_message": _first([message]), "message": None, "references": []}


def _first(thread):
    if not thread:
        return None
    row = thread[0]
    return {"id": row.id, "message_id": row.message_id, "auto_reply": row.auto_reply,
            "subject": row.subject}


def _references(thread, up_to_id):
    """The Message-IDs of the mails in the thread before this one (internal notes never left
    the help desk), the first and the latest kept when there are many."""
    ids = []
    for row in thread:
        if row.id == up_to_id:
            break
        if row.message_id and row.direction != Direction.INTERNAL:
            ids.append(row.message_id)
    if len(ids) > THREAD_REFERENCES:
        ids = [ids[0], *ids[-(THREAD_REFERENCES - 1):]]
    return ids


def _with_content(session, message):
    for item in message["attachments"]:
        content = session.get(Blob, item["sha256"]).content
        item["content_base64"] = base64.b64encode(content).decode()
    return message


def _managers(session, department_id):
    rows = session.execute(select(*PERSON).join(agent_departments,
                                                agent_departments.c.agent_id == Agent.id)
                           .where(agent_departments.c.department_id == department_id,
                                  Agent.role == Role.MANAGER, Agent.active.is_(True))
                           .order_by(Agent.id))
    return [_person(agent) for agent in rows]


def _assignee(session, ticket):
    if ticket.assignee_id is None:
        return None
    return _person(session.execute(select(*PERSON).where(Agent.id == ticket.assignee_id))
                   .first())


def _person(agent):
    return {"id": agent.id, "name": agent.name, "email": agent.email} if agent else None
