"""Plain, JSON-able dicts of the tickets schema's rows: the only shape that leaves the service."""


def _time(value):
    return value.isoformat() if value is not None else None


def department(row):
    return {"id": row.id, "name": row.name, "addresses": [a.address for a in row.addresses],
            "signature": row.signature, "sender_name": row.sender_name,
            "agent_name_in_from": row.agent_name_in_from, "parent_id": row.parent_id,
            "on_portal": row.on_portal,
            "created_at": _time(row.created_at)}


def agent(row, department_ids=None):
    """An Agent, or a row of its columns with the ids of its departments given beside it."""
    if department_ids is None:
        department_ids = [d.id for d in row.departments]
    return {"id": row.id, "name": row.name, "email": row.email, "role": row.role,
            "active": row.active, "department_ids": sorted(department_ids),
            "language": row.language, "time_zone": row.time_zone,
            "created_at": _time(row.created_at)}


def customer(row):
    return {"id": row.id, "email": row.email, "name": row.name, "phones": list(row.phones or []),
            "contract_number": row.contract_number, "organisation": row.organisation,
            "created_at": _time(row.created_at)}


def ticket(row):
    return {"id": row.id, "number": row.id, "subject": row.subject, "channel": row.channel,
            "department_id": row.department_id, "status": row.status, "priority": row.priority,
            "assignee_id": row.assignee_id, "customer_id": row.customer_id,
            "parent_id": row.parent_id, "merged_into_id": row.merged_into_id,
            "language": row.language, "created_at": _time(row.created_at), "updated_at": _time(row.updated_at),
            "first_response_at": _time(row.first_response_at),
            "resolved_at": _time(row.resolved_at)}


def attachment(row):
    return {"id": row.id, "filename": row.filename, "content_type": row.content_type,
            "size": row.size, "sha256": row.sha256, "content_id": row.content_id,
            "inline": row.inline}


def message(row, author=None):
    """`author` is {"kind", "id", "name"}: who wrote it, kept even if the agent is disabled."""
    return {"id": row.id, "ticket_id": row.ticket_id, "direction": row.direction,
            "author": author, "from": row.from_address, "to": list(row.to_addresses or []),
            "cc": list(row.cc_addresses or []), "subject": row.subject,
            "body_text": row.body_text, "body_html": row.body_html,
            "message_id": row.message_id, "in_reply_to": row.in_reply_to,
            "auto_reply": row.auto_reply, "delivery_status": row.delivery_status,
            "raw_mail_id": row.raw_mail_id, "created_at": _time(row.created_at),
            "attachments": [attachment(a) for a in row.attachments]}


def audit_entry(row):
    return {"id": row.id, "agent_id": row.agent_id, "actor": row.actor, "field": row.field,
            "old": row.old_value, "new": row.new_value, "created_at": _time(row.created_at)}


def template(row):
    return {"id": row.id, "title": row.title, "body": row.body,
            "department_id": row.department_id, "created_at": _time(row.created_at)}


def rating(row):
    return {"score": row.score, "comment": row.comment, "created_at": _time(row.created_at)}
