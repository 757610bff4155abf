"""The customer portal: a request form (department, attachments; rate-limited in tickets, no
CAPTCHA), and — behind the signed link every acknowledgement carries — the customer's own
tickets: the conversation without internal notes, an answer box, the rating of a resolved one.

The link is the customer's permission: opening it puts the customer id in the session; every
call then goes to tickets as the portal's system actor naming that customer, and tickets only
ever shows that customer's tickets."""
import base64
from functools import wraps

from flask import Blueprint, current_app, make_response, redirect, request, session, url_for
from flask_babel import gettext as _, lazy_pgettext
from werkzeug.exceptions import HTTPException

from gateway.portal import pages
from gateway.rpc import ServiceUnavailable
from gateway.web.pages import check_csrf, csrf_token, uploaded_files
from helpdesk import contract, rating_links, signed_links
from helpdesk.errors import Forbidden, HelpdeskError, InvalidInput, NotFound, TooManyRequests

bp = Blueprint("portal", __name__, url_prefix="/portal")
PORTAL = contract.system("portal")
CUSTOMER = "portal_customer"
FIELDS = ("name", "email", "department_id", "subject", "body")


# What the customer is told a ticket's status means.
CUSTOMER_STATUS = {
    "new": lazy_pgettext("customer status", "Registered"),
    "open": lazy_pgettext("customer status", "In progress"),
    "pending": lazy_pgettext("customer status", "Waiting for your answer"),
    "resolved": lazy_pgettext("customer status", "Resolved"),
    "closed": lazy_pgettext("customer status", "Closed"),
}


@bp.context_processor
def names():
    return {"CUSTOMER_STATUS": CUSTOMER_STATUS}


def call(method, *args):
    return current_app.extensions["rpc"].call("tickets", method, PORTAL, *args)


def render(template, status=200, **values):
    return pages.render(template, status, csrf_token=csrf_token,
                        customer=session.get(CUSTOMER), **values)


def customer_required(view):
    @wraps(view)
    def checked(*args, **kwargs):
        if not isinstance(session.get(CUSTOMER), int):
            return render("portal/no_access.html", 401)
        if request.method == "POST":
            check_csrf()
        return view(*args, **kwargs)
    return checked


@bp.get("/")
def request_form():
    return _form({}, None)


@bp.post("/")
def send_request():
    check_csrf()
    filled = {name: request.form.get(name, "").strip() for name in FIELDS}
    try:
        department_id = int(filled["department_id"])
    except ValueError:
        return _form(filled, ("department_id", _("Choose a department.")))
    data = {"email": filled["email"], "name": filled["name"], "department_id": department_id,
            "subject": filled["subject"], "body": filled["body"].replace("\r\n", "\n"),
            "attachments": uploaded_files(), "client_address": request.remote_addr or "unknown"}
    try:
        created = call("portal_submit", data)
    except InvalidInput as error:
        return _form(filled, (error.field, _problem_text(error.field)))
    except TooManyRequests:
        return render("portal/message.html", 429, title=_("Too many requests"),
                      text=_("You have sent several requests within the hour. Please wait a "
                             "while, or write to us by mail."))
    return render("portal/sent.html", 201, ticket_number=created["ticket_id"])


def _form(filled, problem):
    return render("portal/request.html", 400 if problem else 200,
                  departments=call("portal_departments"), filled=filled, problem=problem)


def _problem_text(field):
    """What the customer is told about a field the service refused."""
    field = (field or "").split(".")[0]
    return {"email": _("Please give an e-mail address we can answer to."),
            "subject": _("Please say in a few words what the request is about."),
            "body": _("Please describe your request."),
            "department_id": _("Choose a department."),
            "attachments": _("An attachment could not be read; please attach it again."),
            }.get(field, _("Please check the form."))


@bp.get("/enter/<token>")
def enter(token):
    """The link from our mail: the customer's tickets, with no password."""
    try:
        customer_id = signed_links.PORTAL.value_of(current_app.config["SECRET_KEY"], token)
    except signed_links.InvalidLink:
        return render("portal/no_access.html", 400, expired=True)
    language = session.get("language")
    session.clear()
    session[CUSTOMER] = customer_id
    if language:
        session["language"] = language
    return redirect(url_for("portal.my_tickets"))


@bp.post("/leave")
def leave():
    check_csrf()
    session.pop(CUSTOMER, None)
    return redirect(url_for("portal.request_form"))


@bp.get("/tickets")
@customer_required
def my_tickets():
    return render("portal/tickets.html", tickets=call("portal_tickets", session[CUSTOMER]))


@bp.get("/tickets/<int:ticket_id>")
@customer_required
def my_ticket(ticket_id):
    found = call("portal_ticket", session[CUSTOMER], ticket_id)
    if found.get("merged_into_id"):
        return redirect(url_for("portal.my_ticket", ticket_id=found["merged_into_id"]))
    rating_url = None
    if found["rateable"]:
        token = rating_links.token_for(current_app.config["SECRET_KEY"], ticket_id)
        rating_url = url_for("rating.rating_form", token=token)
    return render("portal/ticket.html", ticket=found, rating_url=rating_url)


@bp.post("/tickets/<int:ticket_id>/reply")
@customer_required
def reply(ticket_id):
    body = request.form.get("body", "").replace("\r\n", "\n").strip()
    if not body:
        return redirect(url_for("portal.my_ticket", ticket_id=ticket_id, empty=1) + "#answer")
    sent = call("portal_reply", session[CUSTOMER], ticket_id,
                {"body": body, "attachments": uploaded_files()})
    return redirect(url_for("portal.my_ticket", ticket_id=sent["ticket_id"]) + "#latest")


@bp.get("/attachments/<int:attachment_id>")
@customer_required
def attachment(attachment_id):
    item = call("portal_attachment", session[CUSTOMER], attachment_id)
    response = make_response(base64.b64decode(item["content_base64"]))
    # always a download: a customer's HTML file must not run as our page
    response.headers["Content-Type"] = "application/octet-stream"
    response.headers.set("Content-Disposition", "attachment", filename=item["filename"])
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


# The customer gets a page in their language for every failure, never JSON or a traceback.
@bp.errorhandler(NotFound)
def not_found(error):
    return render("portal/message.html", 404, title=_("Not found"),
                  text=_("There is no such request among yours."))


@bp.errorhandler(HelpdeskError)
def refused(error):
    return render("portal/message.html", 403 if isinstance(error, Forbidden) else 400,
                  title=_("That did not work"), text=error.message)


@bp.errorhandler(ServiceUnavailable)
def unavailable(error):
    return render("portal/message.html", 503, title=_("Please try again later"),
                  text=_("The help desk cannot take this at the moment. Please try again in a "
                         "few minutes."))


@bp.errorhandler(HTTPException)
def http_problem(error):
    if error.code == 404:
        return not_found(error)
    if error.code == 413:
        return render("portal/message.html", 413, title=_("Too large"),
                      text=_("The attachments are too large. Please send smaller files."))
    return render("portal/message.html", error.code, title=str(error.code),
                  text=error.description)
