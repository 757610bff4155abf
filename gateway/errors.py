"""Every error the API returns has one shape: {"error": CODE, "message": "..."}.

Remote errors from the services map to HTTP statuses in this one table.
"""
import logging

from flask import jsonify, request
from werkzeug.exceptions import HTTPException

from gateway.rpc import ServiceUnavailable
from helpdesk import errors

log = logging.getLogger(__name__)

STATUS_OF = {
    errors.InvalidInput: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.TooManyRequests: 429,
}

HTTP_CODES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
              405: "METHOD_NOT_ALLOWED", 413: "REQUEST_TOO_LARGE",
              415: "UNSUPPORTED_MEDIA_TYPE", 429: "TOO_MANY_REQUESTS"}


def error_response(status, code, message, field=None):
    body = {"error": code, "message": message}
    if field:
        body["field"] = field
    return jsonify(body), status


def refuse_nul(request):
    """A 400 naming the parameter or field that carries a NUL character: no text the help
    desk stores may (PostgreSQL refuses it), and the services should not be the ones to
    find out."""
    for name, value in [*request.args.items(multi=True), *request.form.items(multi=True)]:
        if "\x00" in name or "\x00" in value:
            raise errors.InvalidInput("INVALID_INPUT", f"{name}: contains a NUL character", name)
    if request.is_json:
        where = _nul_in(request.get_json(silent=True), "")
        if where is not None:
            raise errors.InvalidInput("INVALID_INPUT",
                                      f"{where or 'body'}: contains a NUL character", where)


def _nul_in(value, path):
    """The path of the first text holding a NUL character, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    items = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return path
        found = _nul_in(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def init_app(app):
    app.before_request(lambda: refuse_nul(request))

    @app.errorhandler(errors.HelpdeskError)
    def helpdesk_error(error):
        return error_response(STATUS_OF.get(type(error), 400), error.code, error.message,
                              error.field)

    @app.errorhandler(ServiceUnavailable)
    def unavailable(error):
        status = 504 if error.code == "SERVICE_TIMEOUT" else 503
        return error_response(status, error.code, error.message)

    @app.errorhandler(HTTPException)
    def http_error(error):
        code = HTTP_CODES.get(error.code, "HTTP_ERROR")
        message = error.description
        if error.code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            message = f"the request body is larger than the limit of {limit} bytes"
        if error.code == 404:
            message = "no such resource"
        return error_response(error.code, code, message)

    @app.errorhandler(Exception)
    def unexpected(error):
        log.exception("unexpected error")
        return error_response(500, "INTERNAL_ERROR", "an unexpected error happened; it is logged")
