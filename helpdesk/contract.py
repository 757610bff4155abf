"""What the services agree on: event names, the value sets of a ticket, the subject tag."""
import re
from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Channel(StrEnum):
    MAIL = "mail"
    PHONE = "phone"
    PORTAL = "portal"
    API = "api"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class Role(StrEnum):
    AGENT = "agent"
    MANAGER = "manager"
    ADMIN = "admin"


# Event types dispatched by the tickets service (source service "tickets"). ticket_created
# carries, besides the ticket, its first SLA facts ("sla_facts", what tickets.sla_facts
# answers) and for a customer's request its acknowledgement's "mail_context" (what
# tickets.mail_context answers): a snapshot of the moment it was made.
TICKET_CREATED = "ticket_created"
# tickets_created: the ticket_created events one transaction committed (a batch of mails
# handed over together), in one message: {"events": [ticket_created payload, ...]}. Each item
# is the whole ticket_created payload with its own event_id; a consumer treats them as if
# they had come one by one. Why: one message to each consumer instead of one a ticket was
# most of what RabbitMQ and the consumers spent on a mail (bench/floors.py).
TICKETS_CREATED = "tickets_created"
MESSAGE_ADDED = "message_added"
TICKET_UPDATED = "ticket_updated"
TICKET_SPLIT = "ticket_split"
TICKET_MERGED = "ticket_merged"
RATING_RECEIVED = "rating_received"


def events_together(payload):
    """The events a together-message (tickets_created) carries; [] when it carries none."""
    events = payload.get("events") if isinstance(payload, dict) else None
    return [event for event in events if isinstance(event, dict)] \
        if isinstance(events, list) else []


# How a ticket came to be, in ticket_created: only a customer's own request is acknowledged.
ORIGIN_CUSTOMER = "customer"   # their mail, or the portal
ORIGIN_AGENT = "agent"         # registered by an agent (a phone call, the API)
ORIGIN_SPLIT = "split"         # split out of another ticket

# Events of the escalation service (source "escalation"). Payload: event_id, ticket_id,
# department_id, target ("first_response", "next_response", "resolution"), due_at (ISO),
# level (1, 2, ...).
SLA_BREACHED = "sla_breached"
SLA_WARNING = "sla_warning"

# Events of the notify service (source "notify").
# delivery_failed: event_id, ticket_id, message_id (the ticket's message, for replies),
# kind, recipients, code (SMTP, or null), reason.
DELIVERY_FAILED = "delivery_failed"
# live: what an agent's browser is told at once: kind ("message", "ticket", "assigned"),
# ticket_id, department_id, and for assignments assignee_id. What one batch of events calls
# for goes in one message, {"events": [live event, ...]}.
LIVE = "live"

# The ticket tag in mail subjects: "Re: No internet [#1234]". The prefix is configurable
# (TICKET_TAG_PREFIX), so two help desks mailing each other do not grab each other's tags.
DEFAULT_TAG_PREFIX = "#"


def tag_subject(subject, number, prefix=DEFAULT_TAG_PREFIX):
    """Add the ticket tag to a subject, once."""
    tag = f"[{prefix}{number}]"
    return subject if tag in subject else f"{subject} {tag}".strip()


def ticket_number_in(subject, prefix=DEFAULT_TAG_PREFIX):
    """The ticket number tagged in a subject, or None."""
    match = re.search(r"\[" + re.escape(prefix) + r"\s?(\d{1,12})\]", subject or "")
    return int(match.group(1)) if match else None


# The Message-IDs of the mail we send name their ticket, so a reply threads even when the
# customer's client drops the subject tag: <hd.1234.a1b2c3@support.example.net>.
_OWN_MESSAGE_ID = re.compile(r"<?hd\.(\d{1,12})\.[0-9a-z.]+@([^>\s]+)>?", re.I)


def own_message_id(ticket_id, domain, nonce):
    return f"<hd.{ticket_id}.{nonce}@{domain}>"


def ticket_number_in_message_id(value, own_domains):
    """The ticket named by one of our own Message-IDs (only for domains we send from)."""
    match = _OWN_MESSAGE_ID.fullmatch((value or "").strip())
    if match and match.group(2).lower() in own_domains:
        return int(match.group(1))
    return None


# Who is acting, as passed in every RPC call of the tickets service.
def agent_by_token(token):
    return {"token": token}


def agent_by_id(agent_id):
    """For callers that authenticated the agent themselves (the gateway's web session)."""
    return {"agent_id": agent_id}


def system(name):
    """A service acting on its own behalf (mail ingest, escalation)."""
    return {"system": name}
