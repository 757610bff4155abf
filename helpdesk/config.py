"""One YAML file with ${ENV_VAR:default} substitution, nameko's own convention.

Every setting can also come from the environment; keys are constants so tests reuse them.
"""
import os
import re
from pathlib import Path

import yaml

DATABASE_URL = "DATABASE_URL"
AMQP_URI = "AMQP_URI"
RABBIT_MANAGEMENT_URL = "RABBIT_MANAGEMENT_URL"
GATEWAY_ADDRESS = "GATEWAY_ADDRESS"
GATEWAY_MAX_CONNECTIONS = "GATEWAY_MAX_CONNECTIONS"
SECRET_KEY = "SECRET_KEY"
RPC_TIMEOUT = "RPC_TIMEOUT"
RPC_POOL_SIZE = "RPC_POOL_SIZE"
MAX_REQUEST_BYTES = "MAX_REQUEST_BYTES"
REOPEN_DAYS = "REOPEN_DAYS"
PORTAL_REQUESTS_PER_HOUR = "PORTAL_REQUESTS_PER_HOUR"
TICKET_TAG_PREFIX = "TICKET_TAG_PREFIX"
SMTP_ADDRESS = "SMTP_ADDRESS"
MAX_MAIL_BYTES = "MAX_MAIL_BYTES"
SWEEP_AFTER_SECONDS = "SWEEP_AFTER_SECONDS"
IMAP_POLL_SECONDS = "IMAP_POLL_SECONDS"
MAILBOXES = "MAILBOXES"
DEFAULT_DEPARTMENT = "DEFAULT_DEPARTMENT"
LOOP_MARKER = "LOOP_MARKER"
SMTP_RELAY_HOST = "SMTP_RELAY_HOST"
SMTP_RELAY_PORT = "SMTP_RELAY_PORT"
SMTP_RELAY_SECURITY = "SMTP_RELAY_SECURITY"
SMTP_RELAY_USER = "SMTP_RELAY_USER"
SMTP_RELAY_PASSWORD = "SMTP_RELAY_PASSWORD"
SMTP_RELAY_CA_FILE = "SMTP_RELAY_CA_FILE"
OUTBOUND_MAILDIR = "OUTBOUND_MAILDIR"
PUBLIC_URL = "PUBLIC_URL"
MAIL_FROM = "MAIL_FROM"
AUTO_ACK_PER_SENDER_HOUR = "AUTO_ACK_PER_SENDER_HOUR"
NOTIFY_SENDERS = "NOTIFY_SENDERS"
NOTIFY_RETRY_MAX_SECONDS = "NOTIFY_RETRY_MAX_SECONDS"
NOTIFY_GIVE_UP_HOURS = "NOTIFY_GIVE_UP_HOURS"
NOTIFY_ASSIGNMENTS = "NOTIFY_ASSIGNMENTS"
STAFF_LANGUAGE = "STAFF_LANGUAGE"
METRICS_PORT = "METRICS_PORT"
SEARCH_BACKEND = "SEARCH_BACKEND"
ELASTICSEARCH_URL = "ELASTICSEARCH_URL"
ELASTICSEARCH_INDEX = "ELASTICSEARCH_INDEX"
METRICS_FIRST_PORT = "METRICS_FIRST_PORT"
METRICS_ADDRESS = "METRICS_ADDRESS"
LOG_FORMAT = "LOG_FORMAT"

DEFAULT_CONFIG_FILE = Path(__file__).resolve().parent.parent / "config.yaml"

_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}")


def _substitute(text, environ):
    def value(match):
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is None:
            raise KeyError(f"configuration needs the environment variable {name}")
        return default

    return _ENV_PATTERN.sub(value, text)


def load(path=None, environ=None):
    """Read the config file (HELPDESK_CONFIG or config.yaml at the project root)."""
    environ = os.environ if environ is None else environ
    path = Path(path or environ.get("HELPDESK_CONFIG") or DEFAULT_CONFIG_FILE)
    text = _substitute(path.read_text(encoding="utf-8"), environ)
    return yaml.safe_load(text) or {}
