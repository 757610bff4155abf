"""SQLAlchemy models of the `tickets` schema."""
from datetime import datetime, timezone

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Column, DateTime, FetchedValue,
                        ForeignKey, Identity, Index, Integer, LargeBinary, String, Table, Text,
                        func, text)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from helpdesk.database import schema_metadata
from helpdesk.outbox import OutboxColumns

SCHEMA = "tickets"


def utcnow():
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


Timestamp = DateTime(timezone=True)

agent_departments = Table(
    "agent_departments", Base.metadata,
    Column("agent_id", ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
)


class Department(Base):
    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    signature: Mapped[str] = mapped_column(Text, default="")
    # How the department signs its mail: "Billing" or, with agent_name_in_from,
    # "Anna Petrova via Billing". Empty: the department's name.
    sender_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    agent_name_in_from: Mapped[bool] = mapped_column(Boolean, default=False,
                                                     server_default="false")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    # Offered to customers in the portal's request form (internal lines are not).
    on_portal: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    addresses: Mapped[list["DepartmentAddress"]] = relationship(
        order_by="DepartmentAddress.position", cascade="all, delete-orphan", lazy="selectin")


class DepartmentAddress(Base):
    """A receiving mail address; stored lower-case so routing is one exact lookup."""
    __tablename__ = "department_addresses"
    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"),
                                               index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Agent(Base):
    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16), default="agent")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The workspace's language and time zone the agent chose (none: the browser's language,
    # the help desk's default zone).
    language: Mapped[str | None] = mapped_column(String(8))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    departments: Mapped[list[Department]] = relationship(secondary=agent_departments,
                                                         lazy="selectin")
    __table_args__ = (Index("uq_agents_email_lower", func.lower(email), unique=True),
                      CheckConstraint("role in ('agent', 'manager', 'admin')", name="role"))


class ApiToken(Base):
    """An agent's API token; only its sha256 is kept."""
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    phones: Mapped[list[str]] = mapped_column(ARRAY(String(50)), default=list)
    contract_number: Mapped[str | None] = mapped_column(String(100), index=True)
    organisation: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    __table_args__ = (Index("uq_customers_email_lower", func.lower(email), unique=True),)


class Ticket(Base):
    """`id` is the human ticket number: a sequence, so a number is never reused."""
    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(BigInteger, Identity(start=1000), primary_key=True)
    subject: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    status: Mapped[str] = mapped_column(String(16), default="new")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    # The customer's language for the help desk's own mail: detected from the first
    # message, changeable by agents.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(Timestamp, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # Stamped by a trigger from one sequence on every insert and update (migration 0005):
    # the search index keeps only the newest version it was given of a ticket.
    version: Mapped[int] = mapped_column(BigInteger, server_default=FetchedValue(),
                                         server_onupdate=FetchedValue())
    __table_args__ = (
        Index("ix_tickets_department_status_created", "department_id", "status", "created_at"),
        # the queues and the backlog: the tickets still being worked on
        Index("ix_tickets_active", "department_id", "status",
              postgresql_where=text("status IN ('new', 'open', 'pending')")),
        CheckConstraint("status in ('new', 'open', 'pending', 'resolved', 'closed')",
                        name="status"),
        CheckConstraint("priority in ('low', 'normal', 'high', 'urgent')", name="priority"),
        CheckConstraint("channel in ('mail', 'phone', 'portal', 'api')", name="channel"),
    )


class Message(Base):
    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    author_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    author_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    from_address: Mapped[str] = mapped_column(String(400), default="")
    to_addresses: Mapped[list[str]] = mapped_column(ARRAY(String(400)), default=list)
    cc_addresses: Mapped[list[str]] = mapped_column(ARRAY(String(400)), default=list)
    subject: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(998), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    # An automatic answer (out-of-office...): shown, but it neither reopens nor notifies.
    auto_reply: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # Set on an outbound message when a bounce says it did not arrive.
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    # The mail as received, kept by ingest ("show original").
    raw_mail_id: Mapped[int | None] = mapped_column(BigInteger)
    # An agent's message: a digest of the agent and the request's key (conversation.py), so
    # the same request twice makes one message.
    request_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    attachments: Mapped[list["Attachment"]] = relationship(lazy="selectin",
                                                           order_by="Attachment.id")
    # Not read anywhere: it tells the unit of work that a flush inserts tickets before their
    # messages (a batch of new tickets and their first messages goes out in one flush).
    ticket: Mapped[Ticket] = relationship(lazy="raise", viewonly=False)
    __table_args__ = (
        CheckConstraint("direction in ('inbound', 'outbound', 'internal')", name="direction"),
        # agents' answers in a period, for statistics
        Index("ix_messages_outbound_created_at", "created_at",
              postgresql_where=text("direction = 'outbound'")),
    )


class Blob(Base):
    """Attachment content, stored once per sha256 however often it is attached."""
    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    content_id: Mapped[str | None] = mapped_column(String(500))  # for cid: images in HTML
    inline: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class Template(Base):
    """A canned reply; department_id None makes it global."""
    __tablename__ = "templates"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    actor: Mapped[str] = mapped_column(String(200))
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Rating(Base):
    __tablename__ = "ratings"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    __table_args__ = (CheckConstraint("score between 1 and 5", name="score"),)


class PortalSubmission(Base):
    """A request sent through the portal's form, kept a day for its rate limit (per client
    address and per e-mail address) — in the database, so every gateway replica counts alike."""
    __tablename__ = "portal_submissions"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    client_address: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    __table_args__ = (Index("ix_portal_submissions_client_address", client_address, created_at),
                      Index("ix_portal_submissions_email", email, created_at))


class OutboxEvent(OutboxColumns, Base):
    __tablename__ = "event_outbox"


class Escalation(Base):
    """An SLA breach the escalation service reported (escalation.sla_breached), once per event:
    the ticket's history shows it, and statistics count breaches per department."""
    __tablename__ = "escalations"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    department_id: Mapped[int] = mapped_column(Integer, index=True)
    target: Mapped[str] = mapped_column(String(32))
    level: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
