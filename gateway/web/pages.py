"""How the workspace's pages are served: who is logged in, in which language and time zone,
the CSRF token of every form, HTML error pages, and headers that let the page load only our
own scripts (a mail's HTML is shown in a sandboxed frame besides)."""
import base64
import secrets
from datetime import datetime
from functools import wraps
from zoneinfo import available_timezones

from flask import (Blueprint, current_app, make_response, redirect, render_template, request,
                   session, url_for)
from flask_babel import format_datetime, get_timezone, gettext as _, lazy_gettext
from werkzeug.exceptions import HTTPException

from gateway.auth import csrf_matches
from gateway.rpc import ServiceUnavailable
from helpdesk import contract
from helpdesk.errors import Forbidden, HelpdeskError, NotFound, Unauthorized

bp = Blueprint("web", __name__)

LANGUAGES = {"ru": "Русский", "en": "English"}
DEFAULT_TIME_ZONE = "Europe/Moscow"
TIME_ZONES = sorted(zone for zone in available_timezones() if "/" in zone
                    and zone.split("/")[0] in ("Europe", "Asia", "America", "Africa",
                                               "Australia", "Pacific", "Atlantic", "Indian"))
# What the workspace calls statuses, priorities and queues, in the agent's language.
NAMES = {
    "new": lazy_gettext("New"), "open": lazy_gettext("Open"), "pending": lazy_gettext("Pending"),
    "resolved": lazy_gettext("Resolved"), "closed": lazy_gettext("Closed"),
    "mine": lazy_gettext("Mine"), "unassigned": lazy_gettext("Unassigned"),
    "low": lazy_gettext("Low"), "normal": lazy_gettext("Normal"), "high": lazy_gettext("High"),
    "urgent": lazy_gettext("Urgent"),
    "first_response": lazy_gettext("First response"),
    "next_response": lazy_gettext("Next response"), "resolution": lazy_gettext("Resolution"),
    "running": lazy_gettext("running"), "paused": lazy_gettext("paused"),
    "met": lazy_gettext("met"), "breached": lazy_gettext("breached"),
}
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "media-src 'self' data:; connect-src 'self'; frame-src 'self'; object-src 'none'; "
          "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def language():
    chosen = session.get("language")
    return chosen if chosen in LANGUAGES else request.accept_languages.best_match(
        list(LANGUAGES), default="ru")


def time_zone():
    chosen = session.get("time_zone")
    return chosen if chosen in TIME_ZONES else DEFAULT_TIME_ZONE


def when(value, style="short"):
    """An ISO time from a service, in the agent's time zone (flask-babel rebases it) and
    language."""
    if not value:
        return ""
    return format_datetime(datetime.fromisoformat(value) if isinstance(value, str) else value,
                           style)


def local_midnight(day):
    """The start of `day` in the agent's time zone, as the services take times (ISO 8601)."""
    return datetime(day.year, day.month, day.day, tzinfo=get_timezone()).isoformat()


def csrf_token():
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def check_csrf():
    if not csrf_matches(request.form.get("csrf_token")):
        raise Forbidden("CSRF_TOKEN_MISSING", _("This form has expired. Please try again."))


def uploaded_files():
    """The form's `attachments` files, as the services take attachments."""
    return [{"filename": upload.filename, "content_type": upload.mimetype or
             "application/octet-stream",
             "content_base64": base64.b64encode(upload.read()).decode()}
            for upload in request.files.getlist("attachments") if upload and upload.filename]


def agent_required(view):
    """The page needs a logged-in agent; a form post also its CSRF token."""
    @wraps(view)
    def checked(*args, **kwargs):
        if not isinstance(session.get("agent_id"), int):
            return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
        if request.method == "POST":
            check_csrf()
        return view(*args, **kwargs)
    return checked


def actor():
    return contract.agent_by_id(session["agent_id"])


def call(method, *args, service="tickets"):
    """A service call as the logged-in agent."""
    return current_app.extensions["rpc"].call(service, method, actor(), *args)


def my_departments(me=None):
    """The departments the agent works in (an admin: every one); `me` is tickets.whoami."""
    me = me or call("whoami")
    return [department for department in call("list_departments")
            if me["role"] == "admin" or department["id"] in me["department_ids"]]


def render(template, status=200, **values):
    response = make_response(render_template(template, **values), status)
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(HelpdeskError)
def service_refused(error):
    if isinstance(error, Unauthorized):  # a disabled agent, a session from before a reset
        session.clear()
        return redirect(url_for("web.login"))
    if isinstance(error, NotFound):
        return not_found()
    status = 403 if isinstance(error, Forbidden) else 400
    return render("web/problem.html", status, title=_("Cannot do that"), message=error.message)


@bp.errorhandler(ServiceUnavailable)
def unavailable(error):
    return render("web/problem.html", 503, title=_("The help desk is not answering"),
                  message=_("A part of the help desk is not reachable at the moment. "
                            "Please try again in a minute."))


@bp.errorhandler(HTTPException)
def http_problem(error):
    if error.code == 404:
        return not_found()
    return render("web/problem.html", error.code, title=str(error.code),
                  message=error.description)


def not_found():
    return render("web/problem.html", 404, title=_("Not found"),
                  message=_("There is no such page, or it is not in your departments."))
