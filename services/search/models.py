"""SQLAlchemy models of the `search` schema: the PostgreSQL full-text index (a document per
ticket with its text vectors, a document per message for snippets), saved searches, and the
state of an index rebuild. The text-search functions live in migration 0001."""
from datetime import datetime, timezone

from sqlalchemy import (BigInteger, DateTime, Index, Integer, String, Text, UniqueConstraint)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from helpdesk.database import schema_metadata

SCHEMA = "search"
Timestamp = DateTime(timezone=True)


def utcnow():
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


class TicketEntry(Base):
    """A ticket as search sees it. `words_vector` holds the subject (weight A) and every
    message and attachment name (weight B), so a search of both is one index scan;
    `subject_vector` serves subject-only searches."""
    __tablename__ = "tickets"
    ticket_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)
    department_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    assignee_id: Mapped[int | None] = mapped_column(Integer)
    assignee_name: Mapped[str] = mapped_column(String(200), default="")
    customer_id: Mapped[int | None] = mapped_column(Integer)
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    customer_email: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(Text)
    agent_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list)
    senders: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    recipients: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
    resolved_at: Mapped[datetime | None] = mapped_column(Timestamp)
    indexed_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    subject_vector = mapped_column(TSVECTOR)
    words_vector = mapped_column(TSVECTOR)
    __table_args__ = (
        # btree_gin: the department and the words in one GIN index
        Index("ix_tickets_department_subject", "department_id", "subject_vector",
              postgresql_using="gin"),
        Index("ix_tickets_department_words", "department_id", "words_vector",
              postgresql_using="gin"),
        Index("ix_tickets_agent_ids", "agent_ids", postgresql_using="gin"),
        Index("ix_tickets_senders", "senders", postgresql_using="gin"),
        Index("ix_tickets_recipients", "recipients", postgresql_using="gin"),
        Index("ix_tickets_department_updated", "department_id", "updated_at"),
        Index("ix_tickets_updated_at", "updated_at"),
        Index("ix_tickets_created_at", "created_at"),
        Index("ix_tickets_resolved_at", "resolved_at"),
        Index("ix_tickets_customer_email", "customer_email"),
    )


class MessageEntry(Base):
    """A message as search sees it: for the snippet under a hit, and who wrote it."""
    __tablename__ = "messages"
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ticket_id: Mapped[int] = mapped_column(BigInteger, index=True)
    version: Mapped[int] = mapped_column(BigInteger)
    direction: Mapped[str] = mapped_column(String(16))
    author_kind: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[int | None] = mapped_column(Integer)
    author_name: Mapped[str] = mapped_column(String(200), default="")
    sender: Mapped[str] = mapped_column(Text, default="")
    recipients: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    attachment_names: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    # no index: only the messages of one page of hits are matched, to choose their snippets
    vector = mapped_column(TSVECTOR)


class SavedSearch(Base):
    """An agent's named query ("workspace"); shared with a department, its agents see it too."""
    __tablename__ = "saved_searches"
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(200))
    query: Mapped[dict] = mapped_column(JSONB)
    department_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    __table_args__ = (UniqueConstraint("agent_id", "name"),)


class Rebuild(Base):
    """An index rebuild (`helpdesk reindex`): where it has got to, so it can resume."""
    __tablename__ = "rebuilds"
    id: Mapped[int] = mapped_column(primary_key=True)
    backend: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(200))  # what is being built (an ES index name)
    after_ticket_id: Mapped[int] = mapped_column(BigInteger, default=0)
    done: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    started_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)
