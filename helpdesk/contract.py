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


# Event types dispatched by the tickets service (source service "tickets").
TICKET_CREATED = "ticket_created"
MESSAGE_ADDED = "message_added"
TICKET_UPDATED = "ticket_updated"
TICKET_SPLIT = "ticket_split"
TICKET_MERGED = "ticket_merged"
RATING_RECEIVED = "rating_received"

# The ticket tag in mail subjects: "Re: No internet [#1234]".
SUBJECT_TAG = "[#{number}]"
_SUBJECT_TAG_PATTERN = re.compile(r"\[#(\d{1,12})\]")


def tag_subject(subject, number):
    """Add the ticket tag to a subject, once."""
    tag = SUBJECT_TAG.format(number=number)
    return subject if tag in subject else f"{subject} {tag}".strip()


def ticket_number_in(subject):
    """The ticket number tagged in a subject, or None."""
    match = _SUBJECT_TAG_PATTERN.search(subject or "")
    return int(match.group(1)) if match else None


# Who is acting, as passed in every RPC call of the tickets service.
def agent_by_token(token):
    return {"token": token}


def agent_by_id(agent_id):
    """For callers that authenticated the agent themselves (the gateway's web session)."""
    return {"agent_id": agent_id}


def system(name):
    """A service acting on its own behalf (mail ingest, escalation)."""
    return {"system": name}
