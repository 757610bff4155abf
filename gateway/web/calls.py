"""Registering a phone call while the caller is on the line: type a few letters of the
caller's name, e-mail, phone or contract number, pick them (or fill in a new caller), the
department and the notes — a ticket on the caller's behalf, channel phone, optionally with
the ticket number mailed to them."""
import re

from flask import redirect, request, url_for
from flask_babel import gettext as _

from gateway.web.pages import agent_required, bp, call, my_departments, render
from helpdesk.contract import Channel, Priority
from helpdesk.errors import InvalidInput

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[\d\s()\-]{5,}$")


@bp.get("/calls/new")
@agent_required
def new_call():
    caller = request.args.get("caller", "").strip()
    return _page(caller, {}, None)


@bp.post("/calls")
@agent_required
def register_call():
    form = request.form
    try:
        created = call("create_ticket", _ticket(form))
    except InvalidInput as problem:
        return _page(form.get("caller", ""), form, problem)
    return redirect(url_for("web.ticket", ticket_id=created["id"]))


def _ticket(form):
    data = {"subject": form.get("subject", "").strip(), "body": _notes(form),
            "department_id": _whole(form.get("department_id"), "department_id"),
            "channel": str(Channel.PHONE), "priority": form.get("priority") or "normal",
            "acknowledge": "acknowledge" in form}
    chosen = form.get("customer_id", "")
    if chosen.isdigit():
        data["customer_id"] = int(chosen)
    else:
        data["customer"] = {"name": form.get("name", "").strip(),
                            "email": form.get("email", "").strip(),
                            "phones": [form["phone"].strip()] if form.get("phone", "").strip()
                            else [],
                            "contract_number": form.get("contract_number", "").strip() or None}
    return data


def _page(caller, filled, problem):
    departments = my_departments()
    callers = call("find_customers", caller, 10) if caller else []
    return render("web/call.html", 400 if problem else 200, caller=caller, callers=callers,
                  guess=_guess(caller) if not callers else {}, departments=departments,
                  priorities=list(Priority), filled=filled, problem=problem)


def _guess(caller):
    """A new caller's fields from what was typed: an address, a phone number, or a name."""
    if EMAIL.match(caller):
        return {"email": caller}
    if PHONE.match(caller):
        return {"phone": caller}
    return {"name": caller} if caller else {}


def _notes(form):
    notes = form.get("body", "").replace("\r\n", "\n").strip()
    if not notes:
        raise InvalidInput("EMPTY", _("Write down what the caller said."), "body")
    return notes


def _whole(value, field):
    if not (value or "").isdigit():
        raise InvalidInput("INVALID_INPUT", _("Choose a department."), field)
    return int(value)
