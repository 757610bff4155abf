"""A ticket's life: registering it, finding it, changing its status, priority, assignee and
department, and the customer's rating at the end."""
from datetime import datetime, timezone

from sqlalchemy import BigInteger, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by, array
from sqlalchemy.orm import aliased

from helpdesk import contract
from helpdesk.contract import Status
from helpdesk.errors import Conflict, InvalidInput
from helpdesk.payloads import RatingIn, TicketIn, TicketPatch, TicketQuery, parse
from services.tickets import access, conversation, customers, history, languages, serialise
from services.tickets.models import Agent, AuditEntry, Customer, Message, Rating, Ticket

CLOSED_STATES = (Status.RESOLVED, Status.CLOSED)
ACTIVE_STATES = (Status.NEW, Status.OPEN, Status.PENDING)


def create(session, actor, data):
    """A ticket registered by an agent (a phone call, the API); its first message is the body."""
    payload = parse(TicketIn, data)
    access.existing_department(session, payload.department_id)
    customer = _customer_of(session, payload)
    if payload.assignee_id is not None:
        assignable_agent(session, payload.assignee_id, payload.department_id)
    ticket, message = open_ticket(session, customer, payload.subject, payload.body,
                                  payload.channel, payload.department_id, payload.priority,
                                  payload.assignee_id)
    history.record_change(session, ticket, actor, "created", None, f"channel {ticket.channel}")
    origin = contract.ORIGIN_CUSTOMER \
        if payload.channel == contract.Channel.PORTAL or payload.acknowledge \
        else contract.ORIGIN_AGENT
    conversation.announce_created(session, ticket, message, customer, origin)
    session.commit()
    return serialise.ticket(ticket)


def open_ticket(session, customer, subject, body, channel, department_id,
                priority=contract.Priority.NORMAL, assignee_id=None, attachments=()):
    """A new ticket and its first message, the customer's words (not yet announced)."""
    ticket = Ticket(subject=subject, channel=channel, status=Status.NEW, priority=priority,
                    department_id=department_id, customer_id=customer.id,
                    assignee_id=assignee_id, language=languages.detect(subject, body))
    session.add(ticket)
    session.flush()
    message = Message(ticket_id=ticket.id, direction=contract.Direction.INBOUND,
                      author_customer_id=customer.id, from_address=customer.email,
                      subject=subject, body_text=body)
    conversation.add_message(session, message, attachments)
    return ticket, message


def _customer_of(session, payload):
    if payload.customer_id is not None:
        return customers.get(session, payload.customer_id)
    if payload.customer is None:
        raise InvalidInput("INVALID_INPUT", "customer: give customer_id or customer", "customer")
    details = payload.customer.model_dump(exclude={"email", "name"})
    return customers.find_or_create(session, payload.customer.email, payload.customer.name,
                                    **details)


tickets_table, customers_table = Ticket.__table__, Customer.__table__
QUEUE_COLUMNS = (*(column for column in tickets_table.c if column.key != "version"),
                 customers_table.c.name.label("customer_name"),
                 customers_table.c.email.label("customer_email"))


def find(session, actor, data):
    """A page of the tickets the actor may see, newest first."""
    query = parse(TicketQuery, data)
    conditions = _visibility(actor)
    if query.department_id is not None:
        conditions.append(Ticket.department_id == query.department_id)
    if query.status:
        conditions.append(Ticket.status.in_([str(s) for s in query.status]))
    if query.priority is not None:
        conditions.append(Ticket.priority == query.priority)
    if query.assignee_id is not None:
        conditions.append(Ticket.assignee_id == query.assignee_id)
    if query.unassigned:
        conditions.append(Ticket.assignee_id.is_(None))
    if query.customer_id is not None:
        conditions.append(Ticket.customer_id == query.customer_id)
    total = session.scalar(select(func.count()).select_from(Ticket).where(*conditions))
    # plain rows, not ORM objects: a queue page is read far more often than anything else
    rows = session.execute(select(*QUEUE_COLUMNS)
                           .outerjoin(customers_table, customers_table.c.id == Ticket.customer_id)
                           .where(*conditions)
                           .order_by(Ticket.created_at.desc(), Ticket.id.desc())
                           .offset((query.page - 1) * query.per_page).limit(query.per_page))
    return {"items": [_queue_item(row) for row in rows], "total": total,
            "page": query.page, "per_page": query.per_page}


def _queue_item(row):
    """A ticket with its customer's name and address: what a queue shows of who wrote."""
    return {**serialise.ticket(row), "customer": {
        "id": row.customer_id, "name": row.customer_name or "",
        "email": row.customer_email or ""}}


def queue_counts(session, actor):
    """Per department the actor sees, the agent's queues: new, open and pending tickets, the
    active ones assigned to the actor (mine) and to nobody (unassigned)."""
    active = Ticket.status.in_([str(state) for state in ACTIVE_STATES])
    queues = {str(state): Ticket.status == str(state) for state in ACTIVE_STATES}
    queues["mine"] = Ticket.assignee_id == actor.agent_id
    queues["unassigned"] = Ticket.assignee_id.is_(None)
    rows = session.execute(select(Ticket.department_id,
                                  *(func.count().filter(condition) for condition in queues.values()))
                           .where(*_visibility(actor), active)
                           .group_by(Ticket.department_id)).all()
    return {str(row[0]): dict(zip(queues, row[1:])) for row in rows}


def counts(session, actor):
    """Ticket counts by department and status, over the departments the actor may see."""
    rows = session.execute(select(Ticket.department_id, Ticket.status, func.count())
                           .where(*_visibility(actor))
                           .group_by(Ticket.department_id, Ticket.status)).all()
    result = {}
    for department_id, status, count in rows:
        result.setdefault(str(department_id), {})[status] = count
    return result


def _visibility(actor):
    if actor.sees_every_department:
        return []
    return [Ticket.department_id.in_(actor.department_ids or [-1])]


def full(session, actor, ticket_id):
    """The ticket with its whole conversation, attachments, audit log, rating and links."""
    ticket, customer, rating, children_ids = _at_a_glance(session, actor, ticket_id)
    messages = session.scalars(select(Message).where(Message.ticket_id == ticket.id)
                               .order_by(Message.created_at, Message.id)).all()
    audit = session.scalars(select(AuditEntry).where(AuditEntry.ticket_id == ticket.id)
                            .order_by(AuditEntry.created_at, AuditEntry.id)).all()
    result = serialise.ticket(ticket)
    result["customer"] = serialise.customer(customer)
    result["messages"] = conversation.with_authors(session, messages, customer)
    result["history"] = [serialise.audit_entry(row) for row in audit]
    result["rating"] = serialise.rating(rating) if rating else None
    result["children_ids"] = children_ids
    return result


_CHILD = aliased(Ticket)
# The tickets split off from a ticket, as a column of it.
_CHILDREN_IDS = (select(func.coalesce(func.array_agg(aggregate_order_by(_CHILD.id, _CHILD.id)),
                                      cast(array([]), ARRAY(BigInteger))))
                 .where(_CHILD.parent_id == Ticket.id).scalar_subquery())


def _at_a_glance(session, actor, ticket_id):
    """(ticket, customer, rating or None, children's ids) in one statement: the ticket view is
    the agents' most frequent call after the queue, and these were four round trips."""
    row = session.execute(select(Ticket, Customer, Rating, _CHILDREN_IDS)
                          .join(Customer, Customer.id == Ticket.customer_id)
                          .outerjoin(Rating, Rating.ticket_id == Ticket.id)
                          .where(Ticket.id == ticket_id)).first() \
        if isinstance(ticket_id, int) else None
    access.seen(actor, row[0] if row else None, ticket_id)
    return row


def update(session, actor, ticket_id, data):
    """Change status, priority, assignee or department; each change audited and announced."""
    payload = parse(TicketPatch, data)
    fields = payload.model_dump(exclude_unset=True)
    if not fields:
        raise InvalidInput("INVALID_INPUT", "nothing to change: give status, priority, "
                           "assignee_id, department_id or language")
    ticket = access.visible_ticket(session, actor, ticket_id, lock=True)
    if fields.get("status") is None:
        fields.pop("status", None)
    for name in ("priority", "language"):
        if fields.get(name) is None:
            fields.pop(name, None)
    if fields.get("department_id") is not None:
        access.existing_department(session, fields["department_id"])
    elif "department_id" in fields:
        raise InvalidInput("INVALID_INPUT", "department_id: a ticket needs a department",
                           "department_id")
    if fields.get("assignee_id") is not None:
        department = fields.get("department_id") or ticket.department_id
        assignable_agent(session, fields["assignee_id"], department)
    changes = {name: str(value) if name in ("status", "priority", "language") else value
               for name, value in fields.items()}
    _stamp_resolution(ticket, changes.get("status"))
    history.apply_changes(session, ticket, actor, changes)
    session.commit()
    return serialise.ticket(ticket)


def _stamp_resolution(ticket, new_status):
    if new_status in CLOSED_STATES and ticket.resolved_at is None:
        ticket.resolved_at = datetime.now(timezone.utc)
    elif new_status is not None and new_status not in CLOSED_STATES:
        ticket.resolved_at = None


def assignable_agent(session, agent_id, department_id):
    agent = session.get(Agent, agent_id)
    if agent is None or not agent.active:
        raise InvalidInput("UNKNOWN_AGENT", f"agent {agent_id} does not exist or is disabled",
                           "assignee_id")
    if agent.role != contract.Role.ADMIN and department_id not in {d.id for d in agent.departments}:
        raise InvalidInput("AGENT_NOT_IN_DEPARTMENT",
                           f"agent {agent_id} does not work in department {department_id}",
                           "assignee_id")
    return agent


def rate(session, actor, ticket_id, data):
    """The customer's rating of a resolved ticket (1-5 and a comment); a new rating replaces it."""
    payload = parse(RatingIn, data)
    ticket = access.visible_ticket(session, actor, ticket_id)
    if ticket.status not in CLOSED_STATES:
        raise Conflict("TICKET_NOT_RESOLVED", "only a resolved ticket can be rated")
    rating = session.get(Rating, ticket.id) or Rating(ticket_id=ticket.id)
    rating.score, rating.comment = payload.score, payload.comment
    rating.created_at = datetime.now(timezone.utc)
    session.add(rating)
    history.announce(session, contract.RATING_RECEIVED,
                     {"ticket_id": ticket.id, "department_id": ticket.department_id,
                      "assignee_id": ticket.assignee_id, "score": payload.score,
                      "comment": payload.comment})
    session.commit()
    return serialise.rating(rating)
