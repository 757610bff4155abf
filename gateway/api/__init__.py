"""The REST API, /api/v1: one blueprint per resource."""
import uuid

from flask import current_app, request

from gateway.auth import current_actor
from helpdesk.errors import InvalidInput
from helpdesk.payloads import MAX_ID


# What anyone may call; everything else under /api/v1 wants an agent first, so a caller with
# no token learns that (401) before anything about the request they sent.
PUBLIC = {"session.login", "session.logout", "session.issue_token", "openapi.openapi_json"}


def init_app(app, blueprints):
    names = {blueprint.name for blueprint in blueprints}

    @app.before_request
    def caller_first():
        if request.blueprint in names and request.endpoint not in PUBLIC:
            current_actor()


def call(method, *args, service="tickets"):
    """Call a service (tickets unless named) as the current caller."""
    return current_app.extensions["rpc"].call(service, method, current_actor(), *args)


def body():
    """The JSON object of the request, or a 400 naming what is wrong with it."""
    if not request.is_json:
        raise InvalidInput("INVALID_JSON", "send a JSON body with Content-Type: application/json")
    data = request.get_json(silent=True)
    if data is None:
        raise InvalidInput("INVALID_JSON", "the request body is not valid JSON")
    if not isinstance(data, dict):
        raise InvalidInput("INVALID_JSON", "the request body must be a JSON object")
    return data


def once(data):
    """The body with the request's key: the client's Idempotency-Key header (its retries make
    nothing twice), else one of this request's own (a call the broker delivers again after a
    restart still makes one message). A `request_key` in the body comes first."""
    if "request_key" not in data:
        data = {**data, "request_key": request.headers.get("Idempotency-Key")
                or uuid.uuid4().hex}
    return data


def number(value, field):
    """An id from the URL or the query string, or a 400 naming the field."""
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit() and len(value) < 12 \
            and 0 < int(value) <= MAX_ID:
        return int(value)
    raise InvalidInput("INVALID_ID", f"{field} must be a whole number from 1 to {MAX_ID}",
                       field)
