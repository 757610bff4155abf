"""Notify's inbox: a fresh event is stored and handled in one transaction; a redelivery is
handled never again; an event whose handling fails is kept pending with its error (and
nothing it wrote) for the timer to retry, or set aside when retrying cannot help."""
from sqlalchemy import select

from helpdesk import logs
from helpdesk.errors import NotFound
from services.notify import inbox
from services.notify.models import InboxEvent

CREATED = "tickets.ticket_created"


def event(number):
    return {"event_id": f"event-{number}", "ticket": {"id": number},
            logs.KEY: f"mail-{number}"}


def row(db, event_id):
    db.rollback()
    return db.scalar(select(InboxEvent).where(InboxEvent.event_id == event_id))


def test_a_fresh_event_is_stored_and_handled_once(db):
    calls = []

    def handle(session, event_type, payload):
        calls.append(payload["event_id"])
        return 1

    assert inbox.take(db, CREATED, event(1), handle) == 1
    assert inbox.take(db, CREATED, event(1), handle) is None  # the broker delivered it again
    assert calls == ["event-1"]
    stored = row(db, "event-1")
    assert (stored.status, stored.attempts, stored.done_at is not None) == ("done", 1, True)


def test_a_failed_event_keeps_nothing_it_wrote_and_is_retried(db):
    def fail(session, event_type, payload):
        session.add(InboxEvent(event_id="written-before-failing", event_type=CREATED,
                               payload={}, status="done", attempts=0))
        session.flush()
        raise ConnectionError("tickets did not answer")

    assert inbox.take(db, CREATED, event(2), fail) is None
    kept = row(db, "event-2")
    assert (kept.status, kept.attempts) == ("pending", 1)
    assert "tickets did not answer" in kept.last_error
    assert row(db, "written-before-failing") is None
    assert inbox.work(db, "event-2", lambda session, event_type, payload: 1) == 1
    assert row(db, "event-2").status == "done"


def test_an_event_that_cannot_be_handled_is_set_aside(db):
    def refuse(session, event_type, payload):
        raise NotFound("TICKET_NOT_FOUND", "ticket 3 does not exist")

    assert inbox.take(db, CREATED, event(3), refuse) is None
    assert row(db, "event-3").status == "dead"


def test_events_taken_together_are_each_handled_once(db):
    handled = []

    def handle(session, event_type, payload):
        handled.append(payload["event_id"])
        return 1

    assert inbox.take(db, CREATED, event(4), handle) == 1  # delivered before, alone
    results = inbox.take_many(db, [(CREATED, event(5)), (CREATED, event(4)),
                                   (CREATED, event(6)), (CREATED, event(5))], handle)
    assert results == [1, None, 1, None]
    assert handled == ["event-4", "event-5", "event-6"]
    assert {row(db, f"event-{n}").status for n in (4, 5, 6)} == {"done"}


def test_a_failing_event_of_a_batch_is_kept_pending_alone(db):
    def handle(session, event_type, payload):
        session.add(InboxEvent(event_id=f"side-{payload['event_id']}", event_type=CREATED,
                               payload={}, status="done", attempts=0))
        session.flush()
        if payload["event_id"] == "event-8":
            raise ConnectionError("tickets did not answer")
        return 1

    results = inbox.take_many(db, [(CREATED, event(7)), (CREATED, event(8)),
                                   (CREATED, event(9))], handle)
    assert results == [1, None, 1]
    assert [row(db, f"event-{n}").status for n in (7, 8, 9)] == ["done", "pending", "done"]
    assert row(db, "side-event-8") is None
    assert row(db, "side-event-7") is not None and row(db, "side-event-9") is not None


def test_each_event_of_a_batch_is_logged_as_its_own_mail(db):
    """One worker handles the whole batch; ops following a mail by its correlation id must
    still find notify's lines about it, whichever worker handled it."""
    seen = []

    def handle(session, event_type, payload):
        seen.append((payload["event_id"], logs.current()))
        if payload["event_id"] == "event-11":
            raise ConnectionError("tickets did not answer")  # the batch goes round alone
        return 1

    logs.use("mail-10")  # the worker that handles the batch came for event 10
    inbox.take_many(db, [(CREATED, event(10)), (CREATED, event(11)), (CREATED, event(12))],
                    handle)
    assert seen == [("event-10", "mail-10"), ("event-11", "mail-11"),
                    ("event-10", "mail-10"), ("event-11", "mail-11"),
                    ("event-12", "mail-12")]
    assert logs.current() == "mail-10"  # the worker's own id again afterwards
