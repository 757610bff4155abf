"""Events that may call for mail, stored as they arrive and worked off here: a tickets
service that does not answer, or a database hiccup, delays the mail and retries it with a
growing pause; an event that can never be handled is set aside as `dead` (visible, counted)
instead of being redelivered forever."""
import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from helpdesk import logs
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
    event_id = _event_id(event_type, payload)
    if not event_id:
        return False
    inserted = _insert(session, [_row(event_id, event_type, payload, done=False)])
    session.commit()
    return event_id if inserted else False


def take(session, event_type, payload, handle):
    """Store a fresh event and handle it in one transaction: the usual case, one commit for
    the event and the mail it queues. If handling fails the event is stored pending on its
    own and the timer retries it (`work`). Returns what `handle` returned; None for a
    redelivery of an event kept before, or a failure. Raises only if the event cannot even
    be stored (the caller has the broker redeliver it)."""
    event_id = _event_id(event_type, payload)
    if not event_id:
        return None
    if not _insert(session, [_row(event_id, event_type, payload, done=True)]):
        session.rollback()
        return None
    try:
        result = handle(session, event_type, payload)
        session.commit()
        return result
    except Exception as error:
        session.rollback()
        if store(session, event_type, payload):
            _failed(session, event_id, event_type, error)
        return None


def take_many(session, events, handle, read_ahead=None, before_commit=None):
    """`take` for several events in one transaction (concurrent ones, under load): one insert
    and one commit for them all. If handling any of them fails, the batch is rolled back and
    each is taken on its own, so only the failing one is kept pending. `events` is
    [(event_type, payload)]; one result each, in order (None: a redelivery).
    `read_ahead(session, events)` may first ask once for what handling each would ask, and
    `before_commit(session)` write at the end what handling them held back."""
    keyed = [(_key(payload), event_type, payload) for event_type, payload in events]
    if not all(event_id for event_id, _, _ in keyed):  # each alone, as take treats them
        return _each(session, events, handle)
    rows = {event_id: _row(event_id, event_type, payload, done=True)
            for event_id, event_type, payload in keyed}
    try:
        fresh = _insert(session, list(rows.values()))
        if read_ahead is not None:
            read_ahead(session, [(event_type, payload) for event_id, event_type, payload
                                 in keyed if event_id in fresh])
        results = []
        for event_id, event_type, payload in keyed:
            with logs.continuing(payload):
                results.append(handle(session, event_type, payload) if event_id in fresh
                               else None)
            fresh.discard(event_id)  # the same event twice in the batch: handled once
        if before_commit is not None:
            before_commit(session)
        session.commit()
        return results
    except Exception:
        session.rollback()
        return _each(session, events, handle)


def _each(session, events, handle):
    results = []
    for event_type, payload in events:
        with logs.continuing(payload):
            results.append(take(session, event_type, payload, handle))
    return results


def _key(payload):
    return str(payload.get("event_id") or "")[:64]


def _event_id(event_type, payload):
    event_id = _key(payload)
    if not event_id:
        log.warning("an %s event without an event_id was ignored: %r", event_type, payload)
    return event_id


def _row(event_id, event_type, payload, done):
    """An inbox row: stored `done` with the mail it queued, or `pending` for the timer."""
    return {"event_id": event_id, "event_type": event_type, "payload": payload,
            "status": "done" if done else "pending", "attempts": 1 if done else 0,
            "next_attempt_at": now(), "received_at": now(), "done_at": now() if done else None}


# one cached statement, the rows its parameters (SQLAlchemy sends them as one INSERT)
_INSERT = insert(InboxEvent.__table__).on_conflict_do_nothing(index_elements=["event_id"]) \
    .returning(InboxEvent.__table__.c.event_id)


def _insert(session, rows):
    """The ids of the rows inserted: those not kept before."""
    return set(session.scalars(_INSERT, rows))


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
