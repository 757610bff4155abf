"""Logging in and out, the agent's language and time zone, and the queues: per department
the new, open and pending tickets, mine and the unassigned ones."""
from urllib.parse import urlsplit

from flask import current_app, redirect, request, session, url_for
from flask_babel import gettext as _
from nameko.exceptions import UnknownService

from gateway.auth import start_session
from gateway.rpc import ServiceUnavailable
from gateway.web.pages import (LANGUAGES, TIME_ZONES, agent_required, bp, call, check_csrf,
                               my_departments, render)
from helpdesk.contract import Status
from helpdesk.errors import InvalidInput, Unauthorized

QUEUES = ("new", "open", "pending", "mine", "unassigned")
ACTIVE = ",".join((Status.NEW, Status.OPEN, Status.PENDING))
PER_PAGE = 50


@bp.get("/login")
def login():
    return render("web/login.html", next=_safe_next(request.args.get("next")))


@bp.post("/login")
def login_post():
    check_csrf()
    keep = {key: session[key] for key in ("language", "time_zone") if key in session}
    try:
        agent = current_app.extensions["rpc"].call("tickets", "login", {
            "email": request.form.get("email", ""), "password": request.form.get("password", "")})
    except (InvalidInput, Unauthorized):
        return render("web/login.html", 401, next=_safe_next(request.form.get("next")),
                      email=request.form.get("email", ""),
                      problem=_("Wrong e-mail or password, or the account is disabled."))
    start_session(agent)
    session.update(keep)
    # what the agent chose before, on any machine, wins over this browser's guess
    session.update({key: agent[key] for key in ("language", "time_zone") if agent.get(key)})
    session["agent_name"], session["agent_role"] = agent["name"], agent["role"]
    return redirect(_safe_next(request.form.get("next")) or url_for("web.queues"))


@bp.post("/logout")
@agent_required
def logout():
    session.clear()
    return redirect(url_for("web.login"))


@bp.post("/preferences")
def preferences():
    """Language and time zone, also before logging in (the login page has the switch) and
    for customers in the portal; a logged-in agent's choice is stored with the agent."""
    check_csrf()
    if request.form.get("language") in LANGUAGES:
        session["language"] = request.form["language"]
    if request.form.get("time_zone") in TIME_ZONES:
        session["time_zone"] = request.form["time_zone"]
    if isinstance(session.get("agent_id"), int):  # kept for the agent's next login
        call("set_my_preferences", {key: session[key] for key in ("language", "time_zone")
                                    if key in session})
    return redirect(_safe_next(request.form.get("next")) or url_for("web.queues"))


@bp.get("/")
@agent_required
def queues():
    me = call("whoami")
    departments = my_departments(me)
    counts = call("queue_counts")
    department_id = _department(request.args.get("department"), departments)
    queue = request.args.get("queue") if request.args.get("queue") in QUEUES else "new"
    page = max(1, int(request.args.get("page", "1"))) if request.args.get("page", "1").isdigit() \
        else 1
    tickets = call("list_tickets", _query(queue, department_id, me["id"], page)) \
        if department_id else {"items": [], "total": 0}
    return render("web/queues.html", me=me, departments=departments, counts=counts,
                  department_id=department_id, queue=queue, tickets=tickets, page=page,
                  per_page=PER_PAGE, queues=QUEUES, workspaces=_workspaces())


def _workspaces():
    """The agent's saved searches; the queues still open when search is not answering."""
    try:
        return call("list_saved", service="search")
    except (ServiceUnavailable, UnknownService):
        return []


def _department(value, departments):
    ids = [d["id"] for d in departments]
    if value and value.isdigit() and int(value) in ids:
        return int(value)
    return ids[0] if ids else None


def _query(queue, department_id, agent_id, page):
    query = {"department_id": department_id, "page": page, "per_page": PER_PAGE}
    if queue in ("new", "open", "pending"):
        query["status"] = [queue]
    else:
        query["status"] = ACTIVE.split(",")
        if queue == "mine":
            query["assignee_id"] = agent_id
        else:
            query["unassigned"] = True
    return query


def _safe_next(value):
    """Only a path of ours: a crafted ?next= must not send the agent to another site."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return None
    parts = urlsplit(value)
    return None if parts.scheme or parts.netloc else value
