"""The rating page behind the links in a resolution notice: /rate/<token> shows the ticket
number, scores 1-5 (one preselected by ?score=N, the link the customer clicked) and a
comment box; posting it records the rating through tickets.rate_ticket.

The token (helpdesk.rating_links) is the only permission needed. The form also carries an
HMAC of that token, so a post must come from a form we served for that very link."""
import hashlib
import hmac
import logging

from flask import Blueprint, current_app, request
from werkzeug.exceptions import HTTPException

from gateway.portal import pages
from gateway.portal.pages import PageProblem
from gateway.rpc import ServiceUnavailable
from helpdesk import contract, rating_links
from helpdesk.errors import Conflict, HelpdeskError, NotFound

log = logging.getLogger(__name__)
bp = Blueprint("rating", __name__)

PORTAL = contract.system("portal")
SCORES = (1, 2, 3, 4, 5)
MAX_COMMENT_CHARS = 5000  # what tickets takes (helpdesk.payloads.RatingIn)
FORM_SALT = b"helpdesk.rating-form:"


@bp.get("/rate/<token>")
def rating_form(token):
    ticket_id = _ticket_of(token)
    return _form(token, ticket_id, _score(request.args.get("score")))


@bp.post("/rate/<token>")
def record_rating(token):
    ticket_id = _ticket_of(token)
    if not hmac.compare_digest(request.form.get("form_token", ""), form_token(token)):
        raise PageProblem(400, "invalid_form")
    score, comment = _score(request.form.get("score")), request.form.get("comment", "").strip()
    if score is None:
        return _form(token, ticket_id, None, comment, problem=("choose_score", ""))
    if len(comment) > MAX_COMMENT_CHARS:
        return _form(token, ticket_id, score, comment,
                     problem=("comment_too_long", MAX_COMMENT_CHARS))
    current_app.extensions["rpc"].call("tickets", "rate_ticket", PORTAL, ticket_id,
                                       {"score": score, "comment": comment})
    return pages.render("portal/rating_thanks.html", ticket_number=ticket_id, score=score)


def form_token(token):
    """The hidden field of the form served for `token` (HMAC with the help desk's key)."""
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    return hmac.new(key, FORM_SALT + token.encode("utf-8"), hashlib.sha256).hexdigest()


def _ticket_of(token):
    try:
        return rating_links.ticket_of(current_app.config["SECRET_KEY"], token)
    except rating_links.InvalidRatingLink:
        raise PageProblem(400, "invalid_link") from None


def _score(value):
    """The score the form or the link names, or None unless it is a whole number 1-5."""
    value = (value or "").strip()
    return int(value) if value in {str(score) for score in SCORES} else None


def _form(token, ticket_id, chosen, comment="", problem=None):
    """The form; with a problem (which field is wrong), sent back with 400 as filled in."""
    return pages.render("portal/rating_form.html", 400 if problem else 200, token=token,
                        ticket_number=ticket_id, scores=SCORES, chosen=chosen, comment=comment,
                        form_token=form_token(token), max_comment=MAX_COMMENT_CHARS,
                        problem=problem)


# The customer gets a page in their language for every failure, never JSON or a traceback.
@bp.errorhandler(PageProblem)
def page_problem(error):
    return pages.problem(error.status, error.text, error.value)


@bp.errorhandler(Conflict)
def not_rateable(error):
    if error.code == "TICKET_NOT_RESOLVED":
        return pages.problem(409, "not_resolved", _ticket_in_url())
    return pages.problem(409, "failed")


@bp.errorhandler(NotFound)
def no_ticket(error):
    return pages.problem(404, "no_ticket", _ticket_in_url())


@bp.errorhandler(HelpdeskError)
def refused(error):
    log.warning("tickets refused a rating: %s", error)
    return pages.problem(400, "failed")


@bp.errorhandler(ServiceUnavailable)
def unavailable(error):
    return pages.problem(503 if error.code != "SERVICE_TIMEOUT" else 504, "unavailable")


@bp.errorhandler(HTTPException)
def http_error(error):
    return pages.problem(error.code or 500, "failed")


@bp.errorhandler(Exception)
def unexpected(error):
    log.exception("the rating page failed")
    return pages.problem(500, "failed")


def _ticket_in_url():
    try:
        return _ticket_of(request.view_args["token"])
    except (PageProblem, KeyError, TypeError):
        return ""
