"""What agents' browsers are told at once (the gateway relays it over Server-Sent Events):
a customer wrote, a ticket arrived, a ticket was assigned. Small on purpose: the browser
asks for details itself, through the API, which applies the agent's department access."""
from helpdesk import contract
from services.notify import events


def live_event(event_type, payload):
    """The broadcast for an event, or None."""
    if event_type == events.MESSAGE and payload.get("direction") == contract.Direction.INBOUND \
            and not payload.get("auto_reply"):
        return {"kind": "message", "ticket_id": payload["ticket_id"],
                "department_id": payload["department_id"], "message_id": payload["message_id"]}
    if event_type == events.CREATED:
        ticket = payload["ticket"]
        return {"kind": "ticket", "ticket_id": ticket["id"],
                "department_id": ticket["department_id"], "subject": ticket["subject"]}
    if event_type == events.UPDATED:
        assignee = (payload.get("changes") or {}).get("assignee_id")
        if assignee and assignee.get("new"):
            return {"kind": "assigned", "ticket_id": payload["ticket_id"],
                    "department_id": payload["department_id"], "assignee_id": assignee["new"]}
    return None
