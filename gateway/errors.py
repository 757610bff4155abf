"""Every error the API returns has one shape: {"error": CODE, "message": "..."}.

Remote errors from the services map to HTTP statuses in this one table.
"""
import logging

from flask import jsonify
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


def init_app(app):
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
