"""SQLAlchemy models of the `ingest` schema: raw mail as received, mailboxes, routing rules."""
from datetime import datetime, timezone

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, DateTime, Identity, Index, Integer,
                        LargeBinary, String, Text, text)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from helpdesk.database import schema_metadata

SCHEMA = "ingest"
Timestamp = DateTime(timezone=True)

# received -> processed | ignored (loop, auto-reply to nothing: kept, not on a ticket)
#          -> quarantined (with its reason, until an admin reprocesses it)
RAW_MAIL_STATUSES = ("received", "processed", "ignored", "quarantined")


def utcnow():
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


class RawMail(Base):
    """One mail exactly as it arrived; committed before the sender hears "250"."""
    __tablename__ = "raw_mail"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    source: Mapped[str] = mapped_column(String(16))            # smtp, imap, api
    # What makes a fetched mail the same mail on a second fetch (imap:mailbox:uidvalidity:uid).
    source_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    mailbox_id: Mapped[int | None] = mapped_column(Integer)
    envelope_sender: Mapped[str | None] = mapped_column(String(998))
    envelope_recipients: Mapped[list[str]] = mapped_column(ARRAY(String(998)), default=list)
    received_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="received")
    published_at: Mapped[datetime | None] = mapped_column(Timestamp)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    reason: Mapped[str | None] = mapped_column(Text)           # why quarantined / ignored
    ticket_id: Mapped[int | None] = mapped_column(Integer)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    trail: Mapped[list] = mapped_column(JSONB, default=list)   # which filters decided what
    __table_args__ = (
        CheckConstraint(f"status in {RAW_MAIL_STATUSES}", name="status"),
        # The sweeper and the quarantine list only look at the few rows not yet processed.
        Index("ix_raw_mail_waiting", "status", "received_at",
              postgresql_where=text("status in ('received', 'quarantined')")),
    )


class Mailbox(Base):
    """An IMAP mailbox polled for mail (from the config file or added by an admin)."""
    __tablename__ = "mailboxes"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    security: Mapped[str] = mapped_column(String(16), default="tls")
    username: Mapped[str] = mapped_column(String(320))
    password: Mapped[str] = mapped_column(String(500))
    folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    department_id: Mapped[int | None] = mapped_column(Integer)
    after_import: Mapped[str] = mapped_column(String(16), default="seen")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    from_config: Mapped[bool] = mapped_column(Boolean, default=False)
    last_polled_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("security in ('tls', 'starttls', 'none')", name="security"),
        CheckConstraint("after_import in ('seen', 'delete')", name="after_import"),
    )


class RoutingRule(Base):
    """An admin's routing rule; `position` orders them (lowest first)."""
    __tablename__ = "routing_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=100)
    department_id: Mapped[int] = mapped_column(Integer)
    sender_domain: Mapped[str | None] = mapped_column(String(255))
    subject_contains: Mapped[str | None] = mapped_column(String(500))
    body_contains: Mapped[str | None] = mapped_column(String(500))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
