"""What the tickets service does for SLA escalation: tells the escalation service a ticket's
story (its facts), and records each breach in the ticket's history, applying what the
policy's escalation level asks for (a higher priority, another department, an assignee)."""
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from helpdesk import contract
from helpdesk.contract import Direction, Priority
from helpdesk.errors import HelpdeskError, NotFound
from services.tickets import access, history, lifecycle
from services.tickets.models import AuditEntry, Escalation, Message, Ticket

ESCALATION = contract.system("escalation")
PRIORITY_ORDER = list(Priority)
MAX_BATCH = 200  # tickets whose facts are asked for at once
TARGET_NAMES = {"first_response": "first response", "next_response": "next response",
                "resolution": "resolution"}


def facts(session, actor, ticket_id):
    """The story the SLA clocks are worked out from: the status timeline, and when the
    customer wrote (automatic replies aside) and when agents replied."""
    ticket = access.visible_ticket(session, actor, ticket_id)
    changes = session.execute(select(AuditEntry.created_at, AuditEntry.new_value)
                              .where(AuditEntry.ticket_id == ticket.id,
                                     AuditEntry.field == "status")
                              .order_by(AuditEntry.created_at, AuditEntry.id)).all()
    messages = session.execute(
        select(Message.created_at, Message.direction, Message.id)
        .where(Message.ticket_id == ticket.id,
               ((Message.direction == Direction.INBOUND) & Message.auto_reply.is_(False)
                & Message.author_customer_id.is_not(None))
               | (Message.direction == Direction.OUTBOUND))
        .order_by(Message.created_at, Message.id)).all()
    return _story(ticket, changes, messages)


def facts_of(session, actor, ticket_ids):
    """The facts of each of these tickets that exists (a batch of the escalation service's)."""
    found = []
    for ticket_id in access.ticket_numbers(ticket_ids, MAX_BATCH):
        try:
            found.append(facts(session, actor, ticket_id))
        except NotFound:
            pass
    return found


def facts_of_new(ticket, messages):
    """The facts of a ticket being created, from what is in hand: they ride on its
    ticket_created event, so the escalation service need not ask for them back (what an
    agent does next reaches it as later events, whose facts it fetches fresh)."""
    if ticket.status != contract.Status.NEW:
        return None
    counted = [(m.created_at, m.direction, m.id) for m in messages
               if m.direction == Direction.OUTBOUND
               or (m.direction == Direction.INBOUND and not m.auto_reply
                   and m.author_customer_id is not None)]
    return _story(ticket, [], sorted(counted, key=lambda row: (row[0], row[2])))


def _story(ticket, changes, messages):
    return {"ticket_id": ticket.id, "department_id": ticket.department_id,
            "priority": ticket.priority, "status": ticket.status,
            "created_at": ticket.created_at.isoformat(),
            "statuses": [[ticket.created_at.isoformat(), contract.Status.NEW]]
                        + [[at.isoformat(), status] for at, status in changes],
            "messages": [[at.isoformat(), direction, message_id]
                         for at, direction, message_id in messages]}


def record_breach(session, payload):
    """Note the breach on the ticket and apply the level's actions; False for a redelivery."""
    ticket = session.scalar(select(Ticket).where(Ticket.id == payload.get("ticket_id"))
                            .with_for_update()) if isinstance(payload.get("ticket_id"), int) \
        else None
    if ticket is None:
        return False
    new = session.execute(insert(Escalation).values(
        event_id=str(payload["event_id"])[:64], ticket_id=ticket.id,
        department_id=ticket.department_id, target=str(payload.get("target", ""))[:32],
        level=int(payload.get("level") or 1), due_at=payload.get("due_at"))
        .on_conflict_do_nothing().returning(Escalation.event_id)).scalar()
    if new is None:
        session.rollback()
        return False
    actor = access.resolve(session, ESCALATION)
    history.record_change(session, ticket, actor, "escalation", None, _describe(payload))
    for problem in _apply(session, actor, ticket, payload.get("actions") or {}):
        history.record_change(session, ticket, actor, "escalation_skipped", None, problem)
    session.commit()
    return True


def _describe(payload):
    target = TARGET_NAMES.get(payload.get("target"), payload.get("target"))
    return f"{target} breached (due {payload.get('due_at')}), level {payload.get('level', 1)}"


def _apply(session, actor, ticket, actions):
    """Make the level's changes; returns why any could not be made."""
    changes, problems = {}, []
    priority = actions.get("priority")
    if priority in PRIORITY_ORDER and \
            PRIORITY_ORDER.index(priority) > PRIORITY_ORDER.index(ticket.priority):
        changes["priority"] = priority  # escalation raises a priority, never lowers it
    department_id = actions.get("department_id")
    if isinstance(department_id, int) and department_id != ticket.department_id:
        try:
            access.existing_department(session, department_id)
            changes["department_id"] = department_id
        except HelpdeskError as error:
            problems.append(f"not moved: {error.message}")
    assignee_id = actions.get("assignee_id")
    if isinstance(assignee_id, int) and assignee_id != ticket.assignee_id:
        try:
            lifecycle.assignable_agent(session, assignee_id,
                                       changes.get("department_id", ticket.department_id))
            changes["assignee_id"] = assignee_id
        except HelpdeskError as error:
            problems.append(f"not assigned: {error.message}")
    history.apply_changes(session, ticket, actor, changes)
    return problems
