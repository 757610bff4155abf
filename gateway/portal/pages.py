"""How the customer's pages are served: HTML in the browser's language, and headers that keep
the signed link in the address bar to this page (no referrer, no caching, no framing)."""
from flask import make_response, render_template

from gateway.portal import texts

# Inline styles only (the page loads nothing else); forms post back to us only.
POLICY = ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
          "frame-ancestors 'none'; base-uri 'none'")


class PageProblem(Exception):
    """Something the customer is told on a page of its own: the HTTP status, the key of the
    text in texts.TEXTS and the value it names (a ticket number, a limit)."""

    def __init__(self, status, text, value=""):
        super().__init__(status, text, value)
        self.status, self.text, self.value = status, text, value


def render(template, status=200, **values):
    language, strings, say = texts.for_page()
    response = make_response(render_template(template, lang=language, t=strings, say=say,
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
