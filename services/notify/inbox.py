"""Events that may call for mail, stored as they arrive and worked off here: a tickets
service that does not answer, or a database hiccup, delays the mail and retries it with a
growing pause; an event that can never be handled is set aside as `dead` (visible, counted)
instead of being redelivered forever."""
import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from helpdesk.errors import HelpdeskError
from services.notify import metrics
from services.notify.models import InboxEvent

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10  # about 40 minutes of retries with the doubling pause below
FIRST_PAUSE_SECONDS, MAX_PAUSE_SECONDS = 2, 600


def now():
    return datetime.now(timezone.utc)


def store(session, event_type, payload):
    """Keep the event; False if it was kept before (a redelivery)."""
    event_id = str(payload.get("event_id") or "")[:64]
    if not event_id:
        log.warning("an %s event without an event_id was ignored: %r", event_type, payload)
        return False
    inserted = session.execute(
        insert(InboxEvent).values(event_id=event_id, event_type=event_type, payload=payload,
                                  status="pending", attempts=0, next_attempt_at=now(),
                                  received_at=now())
        .on_conflict_do_nothing(index_elements=["event_id"]).returning(InboxEvent.event_id)
    ).scalar()
    session.commit()
    return event_id if inserted else False


def due(session, limit=50):
    return list(session.scalars(select(InboxEvent.event_id).where(
        InboxEvent.status == "pending", InboxEvent.next_attempt_at <= now())
        .order_by(InboxEvent.next_attempt_at).limit(limit)))


def work(session, event_id, handle):
    """Handle one pending event in one transaction with what it queues; returns what
    `handle(session, event_type, payload)` returned, or None if another worker has it."""
    row = session.scalar(select(InboxEvent).where(InboxEvent.event_id == event_id,
                                                  InboxEvent.status == "pending")
                         .with_for_update(skip_locked=True))
    if row is None:
        session.rollback()
        return None
    event_type, payload = row.event_type, row.payload
    try:
        result = handle(session, event_type, payload)
        row.status, row.done_at, row.attempts = "done", now(), row.attempts + 1
        session.commit()
        return result
    except Exception as error:
        session.rollback()
        _failed(session, event_id, event_type, error)
        return None


def _failed(session, event_id, event_type, error):
    row = session.get(InboxEvent, event_id)
    attempts = row.attempts + 1
    hopeless = isinstance(error, HelpdeskError) or attempts >= MAX_ATTEMPTS
    pause = min(FIRST_PAUSE_SECONDS * 2 ** (attempts - 1), MAX_PAUSE_SECONDS)
    session.execute(update(InboxEvent).where(InboxEvent.event_id == event_id).values(
        attempts=attempts, last_error=repr(error)[:2000],
        status="dead" if hopeless else "pending",
        next_attempt_at=now() + timedelta(seconds=pause)))
    session.commit()
    if hopeless:
        metrics.EVENTS_DEAD.labels(event_type).inc()
        log.error("event %s (%s) set aside after %d attempt(s): %r", event_id, event_type,
                  attempts, error)
    else:
        log.warning("event %s (%s) failed (attempt %d), trying again in %d s: %r", event_id,
                    event_type, attempts, pause, error)
