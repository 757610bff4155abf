"""The payloads of the tickets service's RPC calls, validated on the service side.

The gateway passes request bodies through unchanged and builds its OpenAPI document from
these same models, so the document cannot drift from what the service accepts.
"""
import re
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, StringConstraints,
                      ValidationError)

from helpdesk.contract import Channel, Priority, Role, Status
from helpdesk.errors import InvalidInput

MAX_BODY_CHARS = 1_000_000
MAX_ATTACHMENT_BASE64_CHARS = 28_000_000

_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")


def _address(value):
    value = value.strip()
    if not _ADDRESS.match(value):
        raise ValueError("is not a mail address")
    return value


# the pattern is in the OpenAPI document too, so clients (and schemathesis) know the rule
Address = Annotated[str, StringConstraints(max_length=320), AfterValidator(_address),
                    Field(json_schema_extra={"pattern": _ADDRESS.pattern})]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=998)]
Body = Annotated[str, StringConstraints(max_length=MAX_BODY_CHARS)]
# Ids fit PostgreSQL's integer (departments, agents… are int4): a larger one names nothing
# and must not reach the database as an out-of-range number.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=MAX_ATTACHMENT_BASE64_CHARS)


class AttachmentIn(Payload):
    filename: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    content_type: str = "application/octet-stream"
    content_base64: str
    content_id: Annotated[str, StringConstraints(max_length=500)] | None = None
    inline: bool = False


SenderName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Language = Literal["ru", "en"]


class DepartmentIn(Payload):
    name: Name
    addresses: list[Address] = []
    signature: Body = ""
    sender_name: SenderName = ""
    agent_name_in_from: bool = False
    parent_id: Id | None = None
    on_portal: bool = False


class DepartmentPatch(Payload):
    name: Name | None = None
    addresses: list[Address] | None = None
    signature: Body | None = None
    sender_name: SenderName | None = None
    agent_name_in_from: bool | None = None
    parent_id: Id | None = None
    on_portal: bool | None = None


def _time_zone(value):
    if value is not None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
    return value


class Preferences(Payload):
    """An agent's own choice of workspace language and time zone (None: the defaults)."""
    language: Literal["ru", "en"] | None = None
    time_zone: Annotated[str | None, StringConstraints(max_length=64),
                         AfterValidator(_time_zone)] = None


class AgentIn(Payload):
    name: Name
    email: Address
    password: Annotated[str, StringConstraints(min_length=8, max_length=200)] | None = None
    role: Role = Role.AGENT
    department_ids: list[Id] = []


class AgentPatch(Payload):
    name: Name | None = None
    email: Address | None = None
    password: Annotated[str, StringConstraints(min_length=8, max_length=200)] | None = None
    role: Role | None = None
    department_ids: list[Id] | None = None
    active: bool | None = None


class Credentials(Payload):
    email: Annotated[str, StringConstraints(max_length=320)]
    password: Annotated[str, StringConstraints(max_length=200)]


class CustomerIn(Payload):
    email: Address
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    phones: list[Annotated[str, StringConstraints(max_length=50)]] = []
    contract_number: Annotated[str, StringConstraints(max_length=100)] | None = None
    organisation: Annotated[str, StringConstraints(max_length=200)] | None = None


class CustomerPatch(Payload):
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    phones: list[Annotated[str, StringConstraints(max_length=50)]] | None = None
    contract_number: Annotated[str, StringConstraints(max_length=100)] | None = None
    organisation: Annotated[str, StringConstraints(max_length=200)] | None = None


class TicketIn(Payload):
    """A ticket registered by an agent: a phone call, or a request through the API."""
    subject: Subject
    body: Body
    department_id: Id
    customer_id: Id | None = None
    customer: CustomerIn | None = None
    channel: Channel = Channel.API
    priority: Priority = Priority.NORMAL
    assignee_id: Id | None = None
    # Mail the customer the acknowledgement (ticket number, portal link), as for their mail.
    acknowledge: bool = False


class PortalRequestIn(Payload):
    """A request a customer sends through the portal's form; client_address is the sender's
    IP address as the gateway saw it (the rate limit counts by it)."""
    email: Address
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    department_id: Id
    subject: Subject
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=MAX_BODY_CHARS)]
    attachments: list[AttachmentIn] = []
    client_address: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class PortalReplyIn(Payload):
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=MAX_BODY_CHARS)]
    attachments: list[AttachmentIn] = []


class PresenceIn(Payload):
    """What an agent is doing on a ticket, for the colleagues who have it open."""
    state: Literal["viewing", "typing", "left"]


# The caller's name for one request: the same key again (a retry, a redelivered RPC) answers
# with the message the first one made instead of making another. The API takes it from the
# Idempotency-Key header too, and gives every request a key of its own when none is sent.
RequestKey = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class ReplyIn(Payload):
    body: Annotated[str, StringConstraints(min_length=1, max_length=MAX_BODY_CHARS)]
    body_html: Body | None = None
    cc: list[Address] | None = None  # None: the Cc's of the customer's last mail
    status: Status | None = None
    attachments: list[AttachmentIn] = []
    request_key: RequestKey | None = None


class NoteIn(Payload):
    body: Annotated[str, StringConstraints(min_length=1, max_length=MAX_BODY_CHARS)]
    attachments: list[AttachmentIn] = []
    request_key: RequestKey | None = None


class TicketPatch(Payload):
    status: Status | None = None
    priority: Priority | None = None
    assignee_id: Id | None = None
    department_id: Id | None = None
    language: Language | None = None


class SplitIn(Payload):
    message_id: Id


class MergeIn(Payload):
    into_ticket_id: Id


class RatingIn(Payload):
    score: Annotated[int, Field(ge=1, le=5)]
    comment: Annotated[str, StringConstraints(max_length=5000)] = ""


class TemplateIn(Payload):
    title: Name
    body: Annotated[str, StringConstraints(min_length=1, max_length=MAX_BODY_CHARS)]
    department_id: Id | None = None


class TemplatePatch(Payload):
    title: Name | None = None
    body: Annotated[str, StringConstraints(min_length=1, max_length=MAX_BODY_CHARS)] | None = None


class RenderIn(Payload):
    ticket_id: Id


class TicketQuery(Payload):
    department_id: Id | None = None
    status: list[Status] = []
    priority: Priority | None = None
    assignee_id: Id | None = None
    unassigned: bool = False
    customer_id: Id | None = None
    page: Annotated[int, Field(ge=1, le=100_000)] = 1
    per_page: Annotated[int, Field(ge=1, le=100)] = 25


class BounceIn(Payload):
    """A delivery report about a mail we sent."""
    original_message_id: Annotated[str, StringConstraints(max_length=998)] | None = None
    action: Annotated[str, StringConstraints(max_length=40)] = "failed"
    status: Annotated[str, StringConstraints(max_length=40)] | None = None
    recipients: list[Annotated[str, StringConstraints(max_length=400)]] = []
    diagnostic: Annotated[str, StringConstraints(max_length=4000)] = ""


class InboundMessage(Payload):
    """A parsed customer mail handed over by mail ingest."""
    message_id: Annotated[str, StringConstraints(min_length=1, max_length=998)] | None = None
    raw_sha256: Annotated[str, StringConstraints(min_length=64, max_length=64)] | None = None
    from_address: Address
    from_name: Annotated[str, StringConstraints(max_length=200)] = ""
    to: list[Annotated[str, StringConstraints(max_length=400)]] = []
    cc: list[Annotated[str, StringConstraints(max_length=400)]] = []
    subject: Annotated[str, StringConstraints(max_length=998)] = ""
    body_text: Body = ""
    body_html: Body | None = None
    in_reply_to: Annotated[str, StringConstraints(max_length=998)] | None = None
    references: list[Annotated[str, StringConstraints(max_length=998)]] = []
    ticket_id: Id | None = None
    department_id: Id | None = None
    attachments: list[AttachmentIn] = []
    received_at: datetime | None = None
    raw_mail_id: Id | None = None
    auto_reply: bool = False          # never opens a ticket, never reopens one
    bounce: BounceIn | None = None    # goes to the ticket of the bounced mail as a note


def parse(model, data):
    """Validate `data` as `model`, or raise InvalidInput naming the first field at fault."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidInput("INVALID_INPUT", "the request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = "unknown field"
        raise InvalidInput("INVALID_INPUT", f"{field}: {message}" if field else message,
                           field) from None


# --- mail ingest ------------------------------------------------------------------------
Host = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255,
                                        pattern=r"^[A-Za-z0-9.\-:\[\]]+$")]
Port = Annotated[int, Field(ge=1, le=65535)]
Security = Literal["tls", "starttls", "none"]
AfterImport = Literal["seen", "delete"]
Text500 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class MailboxIn(Payload):
    """An IMAP mailbox to poll. The password is stored to log in and never shown again."""
    name: Name
    host: Host
    port: Port = 993
    security: Security = "tls"
    username: Annotated[str, StringConstraints(min_length=1, max_length=320)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    folder: Annotated[str, StringConstraints(min_length=1, max_length=200)] = "INBOX"
    department_id: Id | None = None
    after_import: AfterImport = "seen"
    enabled: bool = True


class MailboxPatch(Payload):
    name: Name | None = None
    host: Host | None = None
    port: Port | None = None
    security: Security | None = None
    username: Annotated[str, StringConstraints(min_length=1, max_length=320)] | None = None
    password: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    folder: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    department_id: Id | None = None
    after_import: AfterImport | None = None
    enabled: bool | None = None


class RoutingRuleIn(Payload):
    """Every condition given must hold; rules are tried by `position`, lowest first."""
    department_id: Id
    position: Annotated[int, Field(ge=0, le=1_000_000)] = 100
    sender_domain: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                    max_length=255)] | None = None
    subject_contains: Text500 | None = None
    body_contains: Text500 | None = None
    enabled: bool = True


class RoutingRulePatch(Payload):
    department_id: Id | None = None
    position: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    sender_domain: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                    max_length=255)] | None = None
    subject_contains: Text500 | None = None
    body_contains: Text500 | None = None
    enabled: bool | None = None


class RawMailIn(Payload):
    """A raw mail handed in through the API (e.g. an admin re-feeding a saved .eml)."""
    content_base64: Annotated[str, StringConstraints(min_length=1)]
    envelope_recipients: list[Annotated[str, StringConstraints(max_length=400)]] = []
