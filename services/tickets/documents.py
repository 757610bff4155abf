"""What the search service indexes: each ticket as it stands now, with every message on it,
and the version a trigger stamped on its last change. Read in one snapshot, so a version
always describes the content that goes with it."""
from sqlalchemy import func, select, text

from helpdesk.errors import Forbidden, InvalidInput
from services.tickets import access, serialise
from services.tickets.conversation import with_authors
from services.tickets.models import Agent, Customer, Message, Ticket

MAX_BATCH = 500
# A message's text as indexed: a pasted 10 MB log adds nothing a search would find.
MAX_INDEXED_CHARS = 100_000


def for_tickets(session, actor, ticket_ids):
    """The search documents of these tickets (those that exist), in one snapshot."""
    _require_system(actor)
    access.ticket_numbers(ticket_ids, MAX_BATCH)
    _snapshot(session)
    tickets = session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids))
                              .order_by(Ticket.id)).all()
    return _documents(session, tickets)


def after(session, actor, after_id=0, limit=200):
    """A page of documents in ticket order, for rebuilding an index: those after `after_id`."""
    _require_system(actor)
    if not isinstance(after_id, int) or not isinstance(limit, int) or \
            not 1 <= limit <= MAX_BATCH:
        raise InvalidInput("INVALID_INPUT", f"after_id: a ticket number; limit: 1 to "
                           f"{MAX_BATCH}", "limit")
    _snapshot(session)
    tickets = session.scalars(select(Ticket).where(Ticket.id > after_id)
                              .order_by(Ticket.id).limit(limit)).all()
    return _documents(session, tickets)


def count(session, actor):
    """How many tickets there are: the length of a rebuild's progress bar."""
    _require_system(actor)
    return session.scalar(select(func.count()).select_from(Ticket))


def _require_system(actor):
    if actor.system is None:  # every department's tickets: never for an agent's token
        raise Forbidden("SYSTEM_ONLY", "only the help desk's own services may do this")


def _snapshot(session):
    session.commit()  # whatever came before: the isolation level is set as a transaction starts
    # said in the transaction itself: a connection's own isolation option would cost two
    # more statements to reset each time it goes back to the pool
    session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))


def _documents(session, tickets):
    if not tickets:
        session.commit()
        return []
    ids = [ticket.id for ticket in tickets]
    messages = session.scalars(select(Message).where(Message.ticket_id.in_(ids))
                               .order_by(Message.created_at, Message.id)).all()
    customers = {row.id: row for row in session.scalars(
        select(Customer).where(Customer.id.in_({t.customer_id for t in tickets})))}
    assignees = {row.id: row.name for row in session.execute(
        select(Agent.id, Agent.name).where(
            Agent.id.in_({t.assignee_id for t in tickets if t.assignee_id})))}
    by_ticket = {}
    for item in with_authors(session, messages):
        item["body_text"] = (item["body_text"] or "")[:MAX_INDEXED_CHARS]
        item.pop("body_html", None)
        by_ticket.setdefault(item["ticket_id"], []).append(item)
    session.commit()
    return [{"ticket": {**serialise.ticket(ticket), "version": ticket.version},
             "customer": _customer(customers.get(ticket.customer_id)),
             "assignee": {"id": ticket.assignee_id, "name": assignees.get(ticket.assignee_id)}
             if ticket.assignee_id else None,
             "messages": by_ticket.get(ticket.id, [])} for ticket in tickets]


def _customer(row):
    return {"id": row.id, "email": row.email, "name": row.name} if row else None
