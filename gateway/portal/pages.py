"""How the customer's pages are served: HTML in the customer's language (flask-babel: the one
chosen on the portal, else the browser's), and headers that keep a signed link in the address
bar to this page (no referrer, no caching, no framing)."""
from flask import make_response, render_template
from flask_babel import get_locale, lazy_gettext

# Inline styles only, no script; images from us only; forms post back to us only.
POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
          "frame-ancestors 'none'; base-uri 'none'")

# What the customer is told when something is wrong; %(value)s is a ticket number or a limit.
PROBLEMS = {
    "invalid_link": lazy_gettext(
        "This rating link is not valid or has expired. Please use the link from the latest "
        "mail about your request, or simply reply to that mail."),
    "invalid_form": lazy_gettext(
        "This form is not valid any more. Please open the rating link from the mail again."),
    "not_resolved": lazy_gettext(
        "Ticket %(value)s is not resolved at the moment, so it cannot be rated yet. You will "
        "get a new link when it is resolved."),
    "no_ticket": lazy_gettext("Ticket %(value)s no longer exists."),
    "choose_score": lazy_gettext("Please choose a score from 1 to 5."),
    "comment_too_long": lazy_gettext(
        "The comment is too long: at most %(value)s characters, please."),
    "unavailable": lazy_gettext(
        "The help desk cannot record ratings at the moment. Please try again in a few "
        "minutes."),
    "failed": lazy_gettext("Something went wrong on our side. Please try again later."),
}


class PageProblem(Exception):
    """Something the customer is told on a page of its own: the HTTP status, the key of the
    text in PROBLEMS and the value it names (a ticket number, a limit)."""

    def __init__(self, status, text, value=""):
        super().__init__(status, text, value)
        self.status, self.text, self.value = status, text, value


def say(key, value=""):
    return str(PROBLEMS[key]) % {"value": value}


def render(template, status=200, **values):
    response = make_response(render_template(template, lang=str(get_locale()), say=say,
                                             **values), status)
    return protect(response)


def problem(status, text, value=""):
    return render("portal/problem.html", status, text=text, value=value)


def protect(response):
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.vary.add("Accept-Language")
    return response
