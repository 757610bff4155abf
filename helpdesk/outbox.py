"""Transactional outbox: events are rows written in the same transaction as the change they
announce, published after the commit, and re-published by a relay if the process died first.

A consumer may see an event twice (at-least-once); every payload carries `event_id` so it
can tell.
"""
import logging
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import eventlet
from kombu import Connection, Producer
from nameko import serialization
from nameko.extensions import DependencyProvider
from nameko.standalone.events import event_dispatcher, get_event_exchange
from sqlalchemy import DateTime, String, event, insert, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from helpdesk import logs

log = logging.getLogger(__name__)

_PENDING = "outbox_pending"
BULK = 20  # from this many messages at once, one AMQP transaction publishes them
TOGETHER_MAX = 50  # events of one type in one together-message
PERSISTENT_DELIVERY_MODE = 2
_COMMITTED = "outbox_committed"


class OutboxColumns:
    """Mix into a declarative model of a service's own schema, e.g. tickets.event_outbox."""
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


def record(session, model, event_type, payload, event_id=None):
    """Add an event to the current transaction; it is published only if the transaction
    commits. `event_id` names it when the change it announces has a name of its own."""
    event_id = event_id or str(uuid.uuid4())
    payload = _correlated({**payload, "event_id": event_id})
    session.add(model(id=event_id, event_type=event_type, payload=payload,
                      created_at=datetime.now(timezone.utc)))
    session.info.setdefault(_PENDING, []).append((event_id, event_type, payload))
    return payload


def record_many(session, model, events):
    """`record` for many events at once, (event_type, payload, event_id) each, in one
    multi-row INSERT: a unit of work per event was most of what a burst of escalations cost.
    Returns the payloads, each with its event_id."""
    created_at, rows, pending = datetime.now(timezone.utc), [], []
    for event_type, payload, event_id in events:
        event_id = event_id or str(uuid.uuid4())
        payload = _correlated({**payload, "event_id": event_id})
        rows.append({"id": event_id, "event_type": event_type, "payload": payload,
                     "created_at": created_at})
        pending.append((event_id, event_type, payload))
    if rows:
        session.execute(insert(model.__table__), rows)
        session.info.setdefault(_PENDING, []).extend(pending)
    return [payload for _, _, payload in pending]


def _correlated(payload):
    """The payload with the correlation id of the work that records it (helpdesk.logs): the
    event is published outside that work, so nameko's headers cannot carry it."""
    correlation = logs.current()
    return {**payload, logs.KEY: correlation} if correlation else payload


@contextmanager
def savepoint(session):
    """`session.begin_nested()` that also forgets the events recorded inside it when it is
    rolled back: they would otherwise be published with the batch's commit, about changes
    that never were."""
    pending = session.info.setdefault(_PENDING, [])
    recorded_before = len(pending)
    try:
        with session.begin_nested():
            yield
    except BaseException:
        del session.info.get(_PENDING, [])[recorded_before:]
        raise


@event.listens_for(Session, "after_commit")
def _commit_pending(session):
    if session.in_nested_transaction():  # a savepoint released: the outer commit decides
        return
    pending = session.info.pop(_PENDING, [])
    session.info.setdefault(_COMMITTED, []).extend(pending)


@event.listens_for(Session, "after_transaction_end")
def _forget_pending(session, transaction):
    # the outermost transaction only (after_commit took its events already if it committed);
    # after_rollback fires for a savepoint too, and would forget the events of the whole batch
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def as_messages(events, together):
    """The committed events, (event_id, event_type, payload) each, as the messages to publish,
    (event_type, payload) each, in order: the events of a type in `together` in messages of
    up to TOGETHER_MAX, each where its first event stood."""
    messages, groups = [], {}
    for _, event_type, payload in events:
        if event_type not in together:
            messages.append((event_type, payload))
            continue
        group = groups.get(event_type)
        if group is None or len(group) == TOGETHER_MAX:
            group = groups[event_type] = []
            messages.append((event_type, group))
        group.append(payload)
    return [(event_type, payload) if not isinstance(payload, list)
            else (event_type, payload[0]) if len(payload) == 1
            else (together[event_type], {"events": payload, **_correlated({})})
            for event_type, payload in messages]


class EventOutbox(DependencyProvider):
    """Publishes, when a worker ends, the events its committed transactions recorded.

    `session_attr` names the service's Database dependency; `model` is the outbox table.
    `together` maps an event type to the type of the message that carries several of them:
    the events of that type one transaction committed go out in one message,
    {"events": [payload, ...]} (a single one goes out as itself, and so does everything the
    relay publishes again). Published rows are marked in batches every `mark_every` seconds
    rather than each in a transaction of its own (a commit per event was a fifth of the cost
    of an inbound mail); an event published but not yet marked when the process dies is
    published again by the relay, which consumers already allow for.
    """

    def __init__(self, model, session_attr="db", mark_every=0.5, together=None):
        self.model = model
        self.together = together or {}
        self.session_attr = session_attr
        self.mark_every = mark_every
        self.published = []
        self.engine = None

    def setup(self):
        config = self.container.config
        # declare the exchange with every publish: an undeclared exchange refuses the publish
        exchange = get_event_exchange(self.container.service_name, config)
        self.dispatch = event_dispatcher(config, declare=[exchange])

    def start(self):
        self.marker = self.container.spawn_managed_thread(self._mark_periodically)

    def stop(self):
        self.marker.kill()  # ours to end: nameko warns about managed threads left running
        self.mark_published()

    def get_dependency(self, worker_ctx):
        return self

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        session = getattr(worker_ctx.service, self.session_attr, None)
        if session is not None:
            self.flush(session)

    def flush(self, session):
        """Publish now what the session's transactions committed so far; for a worker that
        commits many batches, so its events do not all wait for its end (and meanwhile look
        unpublished to the relay)."""
        committed = session.info.pop(_COMMITTED, [])
        if committed:
            self.publish(session, committed)

    def publish(self, session, events):
        messages = as_messages(events, self.together)
        try:
            if len(messages) >= BULK:
                self.publish_in_one_transaction(messages)
            else:
                for event_type, payload in messages:
                    self.dispatch(self.container.service_name, event_type, payload)
        except Exception:  # the relay retries; the caller's change is already committed
            log.exception("publishing events failed; the outbox relay will retry")
            return
        self.engine = session.get_bind()
        self.published.extend(event_id for event_id, _, _ in events)

    def publish_in_one_transaction(self, messages):
        """Publish many messages, (event_type, payload) each, as one AMQP transaction: the
        broker has them all once tx.commit returns, after one round trip instead of a confirm
        per event (a burst of 10,000 escalations waited on confirms for half a minute)."""
        config = self.container.config
        serializer, _ = serialization.setup(config)
        exchange = get_event_exchange(self.container.service_name, config)
        with Connection(config["AMQP_URI"]) as connection:
            channel = connection.channel()
            producer = Producer(channel, exchange=exchange, serializer=serializer)
            exchange(channel).declare()
            channel.tx_select()
            for event_type, payload in messages:
                producer.publish(payload, routing_key=event_type,
                                 delivery_mode=PERSISTENT_DELIVERY_MODE)
            channel.tx_commit()

    def mark_published(self):
        """Record the events published since the last call as published."""
        event_ids, self.published = self.published, []
        if not event_ids or self.engine is None:
            return
        try:
            with self.engine.begin() as connection:
                connection.execute(update(self.model.__table__)
                                   .where(self.model.__table__.c.id.in_(event_ids))
                                   .values(published_at=datetime.now(timezone.utc)))
        except Exception:  # unmarked rows are only published again by the relay
            log.exception("marking %d events published failed", len(event_ids))

    def _mark_periodically(self):
        while True:
            eventlet.sleep(self.mark_every)
            self.mark_published()

    def relay(self, session, older_than=timedelta(seconds=5), batch=200):
        """Publish events left unpublished (their worker died after the commit).

        SKIP LOCKED lets several replicas relay at once without publishing a row twice.
        """
        cutoff = datetime.now(timezone.utc) - older_than
        rows = session.scalars(
            select(self.model).where(self.model.published_at.is_(None),
                                     self.model.created_at < cutoff)
            .order_by(self.model.created_at).limit(batch).with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            self.dispatch(self.container.service_name, row.event_type, row.payload)
            row.published_at = datetime.now(timezone.utc)
        session.commit()
        return len(rows)
