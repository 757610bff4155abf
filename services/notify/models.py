"""SQLAlchemy models of the `notify` schema: the events taken in, the mail to send, each
delivery attempt, and the notification templates admins changed."""
from datetime import datetime, timezone

from sqlalchemy import (BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary,
                        String, Text, text)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from helpdesk.database import schema_metadata
from helpdesk.outbox import OutboxColumns

SCHEMA = "notify"
Timestamp = DateTime(timezone=True)


def utcnow():
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


class InboxEvent(Base):
    """An event that may call for mail, stored on arrival (then acked) and worked off with
    retries: a tickets service that does not answer delays the mail, it does not lose it."""
    __tablename__ = "inbox"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, done, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(Timestamp)
    __table_args__ = (Index("ix_inbox_due", "next_attempt_at",
                            postgresql_where=text("status = 'pending'")),)


class OutboxMail(Base):
    """One mail to send, written in the same transaction as the decision to send it.
    `key` (event id + kind + recipient) makes a redelivered event a no-op; the bytes are
    final, so a retry sends the very same mail with the very same Message-ID."""
    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    ticket_message_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[str] = mapped_column(String(998))
    envelope_from: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[list[str]] = mapped_column(ARRAY(String(320)))
    recipient: Mapped[str] = mapped_column(String(320))  # the first, lower-case: rate limits
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # queued -> (committing) -> sent | failed; committing: the end of DATA was being sent
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    committing_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # sent, but the relay's answer to the end of DATA never came (the sender died waiting)
    unconfirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(Timestamp)
    __table_args__ = (
        Index("ix_outbox_due", "next_attempt_at", postgresql_where=text("status = 'queued'")),
        Index("ix_outbox_committing", "committing_at",
              postgresql_where=text("status = 'committing'")),
        Index("ix_outbox_kind_recipient_created", "kind", "recipient", "created_at"),
    )


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"),
                                           index=True)
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))  # sent, retry, failed
    code: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="")


class NotificationTemplate(Base):
    """An admin's version of a shipped template, for one language and one department (or for
    every department when department_id is 0)."""
    __tablename__ = "templates"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    department_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=0)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class NotifyEvent(OutboxColumns, Base):
    """Events notify announces (delivery failed), published after their commit."""
    __tablename__ = "event_outbox"
