"""The audit log and the events of a ticket: every change is recorded with who made it."""
from datetime import datetime, timezone

from helpdesk import contract, outbox
from services.tickets.models import AuditEntry, OutboxEvent


def _text(value):
    return None if value is None else str(_jsonable(value))


def _jsonable(value):
    return value.isoformat() if isinstance(value, datetime) else value


def record_change(session, ticket, actor, field, old, new):
    session.add(AuditEntry(ticket_id=ticket.id, agent_id=actor.agent_id, actor=actor.label,
                           field=field, old_value=_text(old), new_value=_text(new)))


def apply_changes(session, ticket, actor, changes):
    """Set fields on a ticket, audit each real change, and announce them in one event."""
    changed = {}
    for field, new in changes.items():
        old = getattr(ticket, field)
        if old == new:
            continue
        setattr(ticket, field, new)
        record_change(session, ticket, actor, field, old, new)
        changed[field] = {"old": _jsonable(old), "new": _jsonable(new)}
    if changed:
        ticket.updated_at = datetime.now(timezone.utc)
        announce(session, contract.TICKET_UPDATED,
                 {"ticket_id": ticket.id, "department_id": ticket.department_id,
                  "changes": changed, "actor": actor_ref(actor)})
    return changed


def actor_ref(actor):
    return {"agent_id": actor.agent_id, "label": actor.label, "system": actor.system}


def announce(session, event_type, payload):
    return outbox.record(session, OutboxEvent, event_type, payload)
