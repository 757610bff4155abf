"""Structured logs: one JSON object per line (LOG_FORMAT=json), each with the correlation id
of the work it belongs to, so one mail can be followed from the SMTP listener to the reply.

The correlation id of a mail is `mail-<raw mail id>`: the SMTP listener logs it, the parse
worker takes it up, and from there it travels with the work — in nameko's context data
across RPC calls (the `nameko.correlation_id` header, beside the call id stack) and in the
payload of the events a worker records (the outbox publishes them later, outside the
worker). Work that starts elsewhere (an agent's request, a timer) is known by the first
entry of nameko's call id stack."""
import contextvars
import json
import logging
import sys
from contextlib import contextmanager
from datetime import datetime, timezone

KEY = "correlation_id"
_current = contextvars.ContextVar(KEY, default=None)


def current():
    return _current.get()


def use(value):
    """Name the correlation id of the work this (green) thread is doing."""
    _current.set(value)


@contextmanager
def continuing(payload):
    """Log as the work an event's payload continues while one worker handles the events of
    a batch: each event's lines carry its own correlation id, not the batch worker's."""
    token = _current.set(payload.get(KEY) or _current.get())
    try:
        yield
    finally:
        _current.reset(token)


def mail_correlation(raw_mail_id):
    return f"mail-{raw_mail_id}"


class JsonFormatter(logging.Formatter):
    def __init__(self, part):
        super().__init__()
        self.part = part

    def format(self, record):
        entry = {"time": datetime.fromtimestamp(record.created, timezone.utc)
                 .isoformat(timespec="milliseconds"),
                 "level": record.levelname, "part": self.part, "logger": record.name,
                 "message": record.getMessage(),
                 KEY: getattr(record, KEY, None) or current()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(part, log_format):
    """JSON lines on stderr for LOG_FORMAT=json (the logging config's handlers otherwise)."""
    if log_format != "json":
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(part))
    root = logging.getLogger()
    root.handlers[:] = [handler]
