"""Tickets and their conversation."""
import base64

from flask import Blueprint, Response, current_app, request

from gateway.api import body, call, number, once
from helpdesk.payloads import PresenceIn, parse

bp = Blueprint("tickets", __name__)


@bp.get("/tickets")
def list_tickets():
    args = request.args
    query = {name: number(args[name], name) for name in
             ("department_id", "assignee_id", "customer_id", "page", "per_page") if name in args}
    if "status" in args:
        query["status"] = [s for s in args["status"].split(",") if s]
    if "priority" in args:
        query["priority"] = args["priority"]
    if "unassigned" in args:
        query["unassigned"] = args["unassigned"].lower() in ("1", "true", "yes")
    return call("list_tickets", query)


@bp.get("/tickets/counts")
def ticket_counts():
    return call("ticket_counts")


@bp.post("/tickets")
def create_ticket():
    return call("create_ticket", body()), 201


@bp.get("/tickets/<ticket_id>")
def get_ticket(ticket_id):
    return call("get_ticket", number(ticket_id, "ticket_id"))


@bp.patch("/tickets/<ticket_id>")
def update_ticket(ticket_id):
    return call("update_ticket", number(ticket_id, "ticket_id"), body())


@bp.post("/tickets/<ticket_id>/replies")
def reply(ticket_id):
    return call("reply", number(ticket_id, "ticket_id"), once(body())), 201


@bp.post("/tickets/<ticket_id>/presence")
def presence(ticket_id):
    """Tell the agents who have the ticket open that the caller views it, types or left."""
    facts = call("presence", number(ticket_id, "ticket_id"))  # who may, before what they say
    state = parse(PresenceIn, body()).state
    current_app.extensions["presence"].announce(facts, state)
    return {"announced": state}, 202


@bp.post("/tickets/<ticket_id>/notes")
def add_note(ticket_id):
    return call("add_note", number(ticket_id, "ticket_id"), once(body())), 201


@bp.post("/tickets/<ticket_id>/split")
def split_ticket(ticket_id):
    return call("split_ticket", number(ticket_id, "ticket_id"), body()), 201


@bp.post("/tickets/<ticket_id>/merge")
def merge_ticket(ticket_id):
    return call("merge_ticket", number(ticket_id, "ticket_id"), body())


@bp.post("/tickets/<ticket_id>/rating")
def rate_ticket(ticket_id):
    return call("rate_ticket", number(ticket_id, "ticket_id"), body()), 201


@bp.get("/attachments/<attachment_id>")
def download_attachment(attachment_id):
    """Served as a download, never rendered inline, so a hostile file cannot run in the page."""
    item = call("get_attachment", number(attachment_id, "attachment_id"))
    response = Response(base64.b64decode(item["content_base64"]),
                        mimetype="application/octet-stream")
    response.headers.set("Content-Disposition", "attachment", filename=item["filename"])
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/templates")
def list_templates():
    return call("list_templates", number(request.args.get("department_id"), "department_id"))


@bp.post("/templates")
def create_template():
    return call("create_template", body()), 201


@bp.get("/templates/<template_id>")
def get_template(template_id):
    return call("get_template", number(template_id, "template_id"))


@bp.patch("/templates/<template_id>")
def update_template(template_id):
    return call("update_template", number(template_id, "template_id"), body())


@bp.delete("/templates/<template_id>")
def delete_template(template_id):
    return call("delete_template", number(template_id, "template_id"))


@bp.post("/templates/<template_id>/render")
def render_template(template_id):
    return call("render_template", number(template_id, "template_id"), body())
