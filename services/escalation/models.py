"""SQLAlchemy models of the `sla` schema: business calendars, policies, each ticket's clock
state, the timers still to fire, and the log of escalations fired."""
from datetime import date, datetime, timezone

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, DateTime, Float, ForeignKey,
                        Index, Integer, String, UniqueConstraint, text)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from helpdesk.database import schema_metadata
from helpdesk.outbox import OutboxColumns

SCHEMA = "sla"
Timestamp = DateTime(timezone=True)


def utcnow():
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


class Calendar(Base):
    """Working hours: {"mon": [["09:00", "18:00"]], ...} in `time_zone`, without the
    country's public holidays (the `holidays` package) and the custom `holidays` dates."""
    __tablename__ = "calendars"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    always_open: Mapped[bool] = mapped_column(Boolean, default=False)
    hours: Mapped[dict] = mapped_column(JSONB, default=dict)
    country: Mapped[str | None] = mapped_column(String(8))
    subdivision: Mapped[str | None] = mapped_column(String(16))
    holidays: Mapped[list[date]] = mapped_column(ARRAY(Date), default=list)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Policy(Base):
    """Targets in business minutes for a department and priority; None in either matches
    any (the most specific policy wins). `levels`: [{"after_minutes", "notify_managers",
    "priority", "department_id", "assignee_id"}], level 1 first."""
    __tablename__ = "policies"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int | None] = mapped_column(Integer)
    priority: Mapped[str | None] = mapped_column(String(16))
    calendar_id: Mapped[int | None] = mapped_column(ForeignKey("calendars.id"))
    first_response_minutes: Mapped[int | None] = mapped_column(Integer)
    next_response_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer)
    warning_percent: Mapped[int | None] = mapped_column(Integer)
    levels: Mapped[list] = mapped_column(JSONB, default=list)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    __table_args__ = (
        # NULLS NOT DISTINCT: one catch-all policy, not one per insert
        Index("uq_policies_department_priority", "department_id", "priority", unique=True,
              postgresql_nulls_not_distinct=True),
    )


class Clock(Base):
    """A ticket as the escalation service knows it: its facts as last told by tickets (so a
    policy change can recompute every ticket without asking again)."""
    __tablename__ = "clocks"
    ticket_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    department_id: Mapped[int | None] = mapped_column(Integer, index=True)
    priority: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(16))
    facts: Mapped[dict | None] = mapped_column(JSONB)
    first_response_seconds: Mapped[float | None] = mapped_column(Float)
    stale: Mapped[bool] = mapped_column(Boolean, default=False)  # policy changed since
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    __table_args__ = (Index("ix_clocks_stale", "ticket_id", postgresql_where=text("stale")),)


class Timer(Base):
    """A warning or an escalation level of one cycle of one clock. `due_at` None: the clock
    stands still. Fired timers stay (fired_at set), so no level of a cycle fires twice;
    `live` is false once that cycle is over."""
    __tablename__ = "timers"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigInteger)
    department_id: Mapped[int | None] = mapped_column(Integer)
    target: Mapped[str] = mapped_column(String(32))
    cycle: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime | None] = mapped_column(Timestamp)
    fired_at: Mapped[datetime | None] = mapped_column(Timestamp)
    live: Mapped[bool] = mapped_column(Boolean, default=True)
    __table_args__ = (
        UniqueConstraint("ticket_id", "cycle", "kind", "level"),
        Index("ix_timers_due", "due_at",
              postgresql_where=text("fired_at IS NULL AND due_at IS NOT NULL")),
        Index("ix_timers_department_due", "department_id", "due_at"),
        CheckConstraint("kind in ('warning', 'breach')", name="kind"),
    )


class Escalation(Base):
    """What fired, when, and how late: the audit of the escalation service."""
    __tablename__ = "escalations"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    timer_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    event_id: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int] = mapped_column(BigInteger, index=True)
    department_id: Mapped[int | None] = mapped_column(Integer)
    target: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(Timestamp)
    fired_at: Mapped[datetime] = mapped_column(Timestamp)
    actions: Mapped[dict] = mapped_column(JSONB, default=dict)


class OutboxEvent(OutboxColumns, Base):
    __tablename__ = "event_outbox"
