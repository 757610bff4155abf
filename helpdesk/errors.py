"""Errors that cross service boundaries.

Each one is registered with nameko so a caller gets the same class back (not a bare
RemoteError), with its machine-readable code, a human message and, where it applies, the
field at fault. The gateway maps these classes to HTTP statuses in one table.
"""
from nameko.exceptions import deserialize_to_instance


class HelpdeskError(Exception):
    code = "HELPDESK_ERROR"

    def __init__(self, code=None, message="", field=None):
        code, field = code or self.code, field or ""
        # nameko sends exc.args over the wire as strings: "" survives the trip, None would not
        super().__init__(code, message, field)
        self.code, self.message, self.field = code, message, field

    def __str__(self):
        return f"{self.code}: {self.message}"

    def as_dict(self):
        body = {"error": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


@deserialize_to_instance
class NotFound(HelpdeskError):
    code = "NOT_FOUND"


@deserialize_to_instance
class InvalidInput(HelpdeskError):
    code = "INVALID_INPUT"


@deserialize_to_instance
class Unauthorized(HelpdeskError):
    code = "UNAUTHORIZED"


@deserialize_to_instance
class Forbidden(HelpdeskError):
    code = "FORBIDDEN"


@deserialize_to_instance
class Conflict(HelpdeskError):
    code = "CONFLICT"


@deserialize_to_instance
class TooManyRequests(HelpdeskError):
    code = "TOO_MANY_REQUESTS"
