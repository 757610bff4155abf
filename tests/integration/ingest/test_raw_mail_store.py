"""The raw mail store on the real PostgreSQL: stored once, claimed, swept, requeued."""
import pytest
from sqlalchemy import text

from helpdesk.errors import Conflict
from services.ingest import raw_mails

RAW = b"From: anna@mail.example\r\nSubject: hi\r\n\r\nbody\r\n"


def test_the_same_imap_message_stored_twice_is_one_raw_mail(db):
    first = raw_mails.store(db, RAW, "imap", mailbox_id=1, source_key="imap:1:7:42")
    second = raw_mails.store(db, RAW, "imap", mailbox_id=1, source_key="imap:1:7:42")
    assert first[1] is True and second == (first[0], False)
    assert db.scalar(text("SELECT count(*) FROM ingest.raw_mail")) == 1


def test_smtp_mail_is_stored_byte_for_byte_with_its_envelope(db):
    raw = RAW + bytes(range(256))
    raw_mail_id, created = raw_mails.store(db, raw, "smtp", envelope_sender="anna@mail.example",
                                           envelope_recipients=["support@isp.example"])
    row = raw_mails.get(db, raw_mail_id, with_content=True)
    assert created and row.content == raw and row.size == len(raw)
    assert (row.status, row.envelope_recipients) == ("received", ["support@isp.example"])


def test_claim_counts_attempts_and_finished_mail_is_not_claimed_again(db):
    raw_mail_id, _ = raw_mails.store(db, RAW, "smtp")
    assert raw_mails.claim(db, raw_mail_id).attempts == 1
    assert raw_mails.claim(db, raw_mail_id).attempts == 2
    raw_mails.finish(db, raw_mail_id, "processed", ticket_id=1000, message_id=1)
    assert raw_mails.claim(db, raw_mail_id) is None


def test_concurrent_workers_claim_in_one_statement_each_mail_once(db):
    first, second, done = (raw_mails.store(db, RAW, "smtp")[0] for _ in range(3))
    raw_mails.finish(db, done, "processed", ticket_id=1000, message_id=1)
    claimed = raw_mails.claim_many(db, [second, done, first, 999999, second])
    assert [row.id if row else None for row in claimed] == [second, None, first, None, None]
    assert [row.attempts for row in claimed if row] == [1, 1]
    assert claimed[0].content == RAW  # the worker parses what it claimed


def test_concurrent_workers_record_their_outcomes_in_one_statement(db):
    processed, quarantined = (raw_mails.store(db, RAW, "smtp")[0] for _ in range(2))
    trail = [{"filter": "tickets", "detail": "opened ticket #1000"}]
    raw_mails.finish_many(db, [
        (processed, "processed", {"ticket_id": 1000, "message_id": 7, "trail": trail}),
        (quarantined, "quarantined", {"reason": "NO_DEPARTMENT: nobody receives it"})])
    first, second = raw_mails.get(db, processed), raw_mails.get(db, quarantined)
    assert (first.status, first.ticket_id, first.message_id, first.reason) == \
        ("processed", 1000, 7, None)
    assert first.trail == trail
    assert (second.status, second.reason, second.ticket_id, second.trail) == \
        ("quarantined", "NO_DEPARTMENT: nobody receives it", None, [])
    assert first.processed_at is not None and second.processed_at is not None
    assert raw_mails.claim_many(db, [processed, quarantined]) == [None, None]


def test_sweeper_takes_each_forgotten_mail_once_per_period(db):
    old, _ = raw_mails.store(db, RAW, "smtp")
    db.execute(text("UPDATE ingest.raw_mail SET received_at = now() - interval '10 minutes'"))
    db.commit()
    fresh, _ = raw_mails.store(db, RAW, "smtp")
    assert raw_mails.due_for_sweep(db, older_than_seconds=60) == [old]
    assert raw_mails.due_for_sweep(db, older_than_seconds=60) == []
    assert fresh != old


def test_only_quarantined_or_ignored_mail_can_be_reprocessed(db):
    raw_mail_id, _ = raw_mails.store(db, RAW, "smtp")
    with pytest.raises(Conflict):
        raw_mails.requeue(db, raw_mail_id)
    raw_mails.finish(db, raw_mail_id, "quarantined", reason="NO_DEPARTMENT: nobody")
    row = raw_mails.requeue(db, raw_mail_id)
    assert (row.status, row.attempts) == ("received", 0)


def test_a_group_of_smtp_mails_is_stored_in_one_statement_each_under_its_own_id(db):
    mails = [(RAW + f"mail {number}\r\n".encode(), f"sender{number}@mail.example",
              ("support@isp.example",)) for number in range(5)]
    ids = raw_mails.store_many(db, mails, "smtp")
    rows = [raw_mails.get(db, raw_mail_id, with_content=True) for raw_mail_id in ids]
    assert [(row.content, row.envelope_sender, row.envelope_recipients, row.status)
            for row in rows] == [(raw, sender, list(recipients), "received")
                                 for raw, sender, recipients in mails]
