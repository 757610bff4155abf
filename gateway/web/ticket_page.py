"""The ticket page: the conversation in order with who wrote each message, the history, the
SLA, and the agent's actions — reply (canned replies, attachments), internal note, status,
priority, assignee, department, split, merge. Actions are plain form posts that come back to
the page; the conversation part is also served alone, for the page to refresh it live."""
import uuid

import nh3
from flask import redirect, request, url_for
from nameko.exceptions import UnknownService
from flask_babel import gettext as _, lazy_gettext

from gateway.rpc import ServiceUnavailable
from gateway.web.pages import NAMES, agent_required, bp, call, render, uploaded_files, when
from helpdesk.contract import Priority, Status
from helpdesk.errors import InvalidInput

MAIL_URL_SCHEMES = {"http", "https", "mailto", "tel"}
HISTORY_FIELDS = {
    "created": lazy_gettext("Created"), "status": lazy_gettext("Status"),
    "priority": lazy_gettext("Priority"), "assignee_id": lazy_gettext("Assignee"),
    "department_id": lazy_gettext("Department"), "language": lazy_gettext("Language"),
    "first_response_at": lazy_gettext("First response"),
    "split": lazy_gettext("Message split off into"), "split_from": lazy_gettext("Split off from"),
    "merged_from": lazy_gettext("Merged in"), "escalation": lazy_gettext("SLA escalation"),
    "escalation_skipped": lazy_gettext("SLA escalation not applied"),
    "delivery_failed": lazy_gettext("Mail not delivered"),
}


@bp.get("/tickets/<int:ticket_id>")
@agent_required
def ticket(ticket_id):
    found = call("get_ticket", ticket_id)
    me = call("whoami")
    return render("web/ticket.html", ticket=found, me=me, **_page_context(found, me))


@bp.get("/tickets/<int:ticket_id>/conversation")
@agent_required
def conversation(ticket_id):
    found = call("get_ticket", ticket_id)
    return render("web/_conversation.html", ticket=found, mail_html=mail_html)


@bp.post("/tickets/<int:ticket_id>/reply")
@agent_required
def reply(ticket_id):
    data = {"body": _text("body"), "attachments": uploaded_files(),
            "request_key": _request_key()}
    if request.form.get("status") in set(Status):
        data["status"] = request.form["status"]
    call("reply", ticket_id, data)
    return _back(ticket_id)


@bp.post("/tickets/<int:ticket_id>/note")
@agent_required
def note(ticket_id):
    call("add_note", ticket_id, {"body": _text("body"), "attachments": uploaded_files(),
                                 "request_key": _request_key()})
    return _back(ticket_id)


@bp.post("/tickets/<int:ticket_id>/update")
@agent_required
def update(ticket_id):
    """Only what the agent changed is sent, so one form serves every field."""
    current = call("get_ticket", ticket_id)
    form, changes = request.form, {}
    if form.get("status") in set(Status) and form["status"] != current["status"]:
        changes["status"] = form["status"]
    if form.get("priority") in set(Priority) and form["priority"] != current["priority"]:
        changes["priority"] = form["priority"]
    if "assignee_id" in form:
        assignee = int(form["assignee_id"]) if form["assignee_id"].isdigit() else None
        if assignee != current["assignee_id"]:
            changes["assignee_id"] = assignee
    department = form.get("department_id", "")
    if department.isdigit() and int(department) != current["department_id"]:
        changes["department_id"] = int(department)
    if changes:
        call("update_ticket", ticket_id, changes)
    if "department_id" in changes and not _sees(call("whoami"), changes["department_id"]):
        return redirect(url_for("web.queues"))  # moved out of my departments: gone from me
    return _back(ticket_id)


def _sees(me, department_id):
    return me.get("role") == "admin" or department_id in (me.get("department_ids") or [])


@bp.post("/tickets/<int:ticket_id>/split")
@agent_required
def split(ticket_id):
    message_id = request.form.get("message_id", "")
    if not message_id.isdigit():
        raise InvalidInput("INVALID_ID", _("Choose the message to split off."))
    new = call("split_ticket", ticket_id, {"message_id": int(message_id)})
    return redirect(url_for("web.ticket", ticket_id=new["id"]))


@bp.post("/tickets/<int:ticket_id>/merge")
@agent_required
def merge(ticket_id):
    into = request.form.get("into_ticket_id", "").strip().lstrip("#")
    if not into.isdigit():
        raise InvalidInput("INVALID_ID", _("Give the number of the ticket to merge into."))
    call("merge_ticket", ticket_id, {"into_ticket_id": int(into)})
    return redirect(url_for("web.ticket", ticket_id=int(into)))


def _page_context(found, me):
    departments = call("list_departments")
    agents = call("list_agents")
    names = _names(agents)
    return {"departments": departments, "agents": names,
            "history": history_lines(found["history"], names, departments),
            "assignable": [a for a in agents if a["active"]
                           and found["department_id"] in a["department_ids"]],
            "templates": call("list_templates", found["department_id"]),
            "sla": _sla(found["id"]),
            "statuses": list(Status), "priorities": list(Priority), "mail_html": mail_html}


def history_lines(entries, agents, departments):
    """(who, when, what, old, new) of each audit entry, ids shown as names."""
    department_names = {d["id"]: d["name"] for d in departments}
    lines = []
    for entry in entries:
        field = entry["field"]
        old, new = (_shown(field, entry[side], agents, department_names) for side in ("old", "new"))
        lines.append((entry["actor"], entry["created_at"], HISTORY_FIELDS.get(field, field),
                      old, new))
    return lines


def _shown(field, value, agents, departments):
    if value in (None, ""):
        return ""
    if field in ("status", "priority"):
        return NAMES.get(value, value)
    if field == "assignee_id" and value.isdigit():
        return agents.get(int(value), f"#{value}")
    if field == "department_id" and value.isdigit():
        return departments.get(int(value), f"#{value}")
    if field == "first_response_at":
        return when(value)
    return value


def _sla(ticket_id):
    """The SLA box is a help, not the page: without the escalation service it says so."""
    try:
        return call("ticket_sla", ticket_id, service="escalation")
    except (ServiceUnavailable, UnknownService):
        return None


def _names(agents):
    return {agent["id"]: agent["name"] for agent in agents}


def mail_html(html):
    """A mail's HTML for the sandboxed frame it is shown in: cleaned again here, whatever the
    service stored, and links opened outside the frame."""
    cleaned = nh3.clean(html or "", url_schemes=MAIL_URL_SCHEMES,
                        link_rel="noopener noreferrer nofollow")
    return f'<!doctype html><meta charset="utf-8"><base target="_blank">{cleaned}'


def _text(field):
    value = request.form.get(field, "").replace("\r\n", "\n").strip()
    if not value:
        raise InvalidInput("EMPTY", _("Write something first."))
    return value


def _request_key():
    """The form's own key (drawn when the page was shown): a form sent twice — a double click,
    the browser sending it again — makes one message."""
    key = request.form.get("request_key", "").strip()
    return key[:200] if key else uuid.uuid4().hex


def _back(ticket_id):
    return redirect(url_for("web.ticket", ticket_id=ticket_id) + "#latest")
