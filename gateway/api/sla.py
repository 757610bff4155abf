"""SLA for agents, managers and admins: where a ticket stands against its targets, which
tickets of a department are about to breach, and the policies and business calendars
(admins change them; the escalation service checks who is asking)."""
from flask import Blueprint, request

from gateway.api import body, call, number
from helpdesk.errors import InvalidInput

bp = Blueprint("sla", __name__)


def escalation(method, *args):
    return call(method, *args, service="escalation")


@bp.get("/tickets/<ticket_id>/sla")
def ticket_sla(ticket_id):
    return escalation("ticket_sla", number(ticket_id, "ticket_id"))


@bp.get("/departments/<department_id>/sla/at-risk")
def at_risk(department_id):
    within = request.args.get("within_minutes", "60")
    if not (within.isdigit() and len(within) < 7):
        raise InvalidInput("INVALID_INPUT", "within_minutes must be a whole number of minutes",
                           "within_minutes")
    return escalation("at_risk", number(department_id, "department_id"), int(within))


@bp.get("/sla/calendars")
def list_calendars():
    return escalation("list_calendars")


@bp.post("/sla/calendars")
def create_calendar():
    return escalation("save_calendar", body()), 201


@bp.put("/sla/calendars/<calendar_id>")
def replace_calendar(calendar_id):
    return escalation("save_calendar", body(), number(calendar_id, "calendar_id"))


@bp.delete("/sla/calendars/<calendar_id>")
def delete_calendar(calendar_id):
    escalation("delete_calendar", number(calendar_id, "calendar_id"))
    return {"deleted": True}


@bp.get("/sla/policies")
def list_policies():
    return escalation("list_policies")


@bp.post("/sla/policies")
def create_policy():
    return escalation("save_policy", body()), 201


@bp.put("/sla/policies/<policy_id>")
def replace_policy(policy_id):
    return escalation("save_policy", body(), number(policy_id, "policy_id"))


@bp.delete("/sla/policies/<policy_id>")
def delete_policy(policy_id):
    escalation("delete_policy", number(policy_id, "policy_id"))
    return {"deleted": True}
