"""The senders against a real SMTP server and a real PostgreSQL: what a crash at each step
leaves behind, retries and failures, and the Maildir used when there is no relay."""
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from services.notify import outbox, sending, transports
from services.notify.compose import Outgoing, Party
from services.notify.models import DeliveryAttempt, NotifyEvent, OutboxMail

RETRY_CAP, GIVE_UP = 300, timedelta(hours=48)


def queue(db, to="anna@mail.example", key="k1"):
    assert outbox.enqueue(db, key, Outgoing(
        kind="reply", sender=Party("support@isp.example", "Поддержка"), to=[Party(to)],
        subject="Re: Нет интернета [#1001]", text="Перезагрузите роутер.\n.\nточка в строке",
        message_id=f"<hd.1001.{key}@isp.example>", ticket_id=1001, ticket_message_id=7))
    db.commit()


def row(db, key="k1"):
    db.rollback()
    db.expire_all()  # the senders changed it through their own connections
    return db.scalar(select(OutboxMail).where(OutboxMail.key == key))


def deliver(engine, transport):
    return sending.deliver_one(engine, transport, RETRY_CAP, GIVE_UP)


def test_a_mail_is_queued_once_per_key(db):
    queue(db)
    assert not outbox.enqueue(db, "k1", Outgoing(kind="reply", sender=Party("a@b.example"),
                                                 to=[Party("c@d.example")], subject="s",
                                                 text="t", message_id="<x@b.example>"))
    assert db.scalar(select(OutboxMail.id).where(OutboxMail.key == "k1")) is not None


def test_a_sent_mail_arrives_byte_for_byte_with_its_dots(db, engine, relay):
    queue(db)
    relay_transport = transports.SmtpRelay("127.0.0.1", relay.port)
    assert deliver(engine, relay_transport) is True
    assert deliver(engine, relay_transport) is False  # nothing else is due
    [raw] = relay.raw_mails()
    assert raw.replace(b"\r\n", b"\n") == row(db).content.replace(b"\r\n", b"\n")
    assert row(db).status == "sent" and row(db).attempts == 1


def test_dying_before_the_end_of_data_leaves_the_relay_with_nothing_and_the_mail_due(db, engine,
                                                                                    relay):
    queue(db)

    class Died(Exception):
        pass

    class DiesAtTheEnd(transports.SmtpRelay):
        def send(self, row, commit_then):
            def die(end_data):
                raise Died()
            return super().send(row, die)

    with pytest.raises(Died):
        deliver(engine, DiesAtTheEnd("127.0.0.1", relay.port))
    assert row(db).status == "queued"
    assert deliver(engine, transports.SmtpRelay("127.0.0.1", relay.port))
    assert len(relay.wait_for(1)) == 1  # the half-sent copy was dropped by the relay


def test_a_mail_in_doubt_counts_as_sent_rather_than_going_twice(db, engine):
    queue(db)
    db.execute(update(OutboxMail).values(status="committing",
                                         committing_at=outbox.now() - timedelta(minutes=5)))
    db.commit()
    with engine.begin() as connection:
        assert outbox.settle_in_doubt(connection) == 1
    assert (row(db).status, row(db).unconfirmed) == ("sent", True)


def test_a_temporary_refusal_is_retried_later_with_a_growing_pause(db, engine, relay):
    queue(db, to="later@mail.example")
    transport = transports.SmtpRelay("127.0.0.1", relay.port)
    assert deliver(engine, transport)
    first = row(db)
    assert (first.status, first.attempts) == ("queued", 1)
    assert "451" in first.last_error
    wait = (first.next_attempt_at - outbox.now()).total_seconds()
    assert 3 < wait <= 5
    db.execute(update(OutboxMail).values(next_attempt_at=outbox.now()))
    db.commit()
    assert deliver(engine, transport)
    assert 8 < (row(db).next_attempt_at - outbox.now()).total_seconds() <= 10


def test_an_unreachable_relay_is_a_temporary_failure(db, engine):
    queue(db)
    assert deliver(engine, transports.SmtpRelay("127.0.0.1", 1, timeout=2))
    assert row(db).status == "queued" and "127.0.0.1:1" in row(db).last_error


def test_a_permanent_refusal_fails_the_mail_and_announces_it(db, engine, relay):
    queue(db, to="reject@mail.example")
    assert deliver(engine, transports.SmtpRelay("127.0.0.1", relay.port))
    assert row(db).status == "failed" and "550" in row(db).last_error
    [event] = db.scalars(select(NotifyEvent)).all()
    assert event.event_type == "delivery_failed"
    assert event.payload["ticket_id"] == 1001 and event.payload["message_id"] == 7
    assert event.payload["recipients"] == ["reject@mail.example"]
    outcomes = db.scalars(select(DeliveryAttempt.outcome)).all()
    assert outcomes == ["failed"]


def test_giving_up_after_the_longest_wait(db, engine):
    queue(db)
    db.execute(update(OutboxMail).values(created_at=outbox.now() - timedelta(hours=49)))
    db.commit()
    assert deliver(engine, transports.SmtpRelay("127.0.0.1", 1, timeout=2))
    assert row(db).status == "failed" and row(db).last_error.startswith("gave up")


def test_the_maildir_holds_one_copy_however_often_a_mail_is_delivered(db, engine, tmp_path):
    queue(db)
    maildir = transports.MaildirDrop(tmp_path / "outbound")
    assert deliver(engine, maildir)
    with engine.begin() as connection:  # as if the process died before recording it sent
        connection.execute(text("UPDATE notify.outbox SET status = 'queued'"))
    assert deliver(engine, maildir)
    [delivered] = list((tmp_path / "outbound" / "new").iterdir())
    assert delivered.read_bytes() == row(db).content


def test_a_relay_that_requires_starttls_and_a_login(db, engine, tmp_path):
    from tests.dovecot import _self_signed_certificate
    from tests.relay import Relay
    _self_signed_certificate(tmp_path)
    cert = tmp_path / "cert.pem"
    secure = Relay(tmp_path / "relay", (cert, tmp_path / "key.pem", "desk", "s3cret")).start()
    try:
        queue(db)
        untrusted = transports.SmtpRelay("127.0.0.1", secure.port, "starttls", "desk", "s3cret")
        assert deliver(engine, untrusted)  # a relay we cannot trust: retried, never failed
        assert row(db).status == "queued" and "CERTIFICATE_VERIFY_FAILED" in row(db).last_error
        db.execute(update(OutboxMail).values(next_attempt_at=outbox.now()))
        db.commit()
        right = transports.SmtpRelay("127.0.0.1", secure.port, "starttls", "desk", "s3cret",
                                     ca_file=str(cert))
        assert deliver(engine, right)
        assert row(db).status == "sent"
        assert len(secure.wait_for(1)) == 1
    finally:
        secure.stop()


def test_the_maildir_takes_several_mails_in_one_transaction(db, engine, tmp_path):
    for number in range(5):
        queue(db, key=f"t{number}")
    maildir = transports.MaildirDrop(tmp_path / "outbound")
    assert sending.deliver_together(engine, maildir, RETRY_CAP, GIVE_UP, limit=3) is True
    assert sorted(row(db, f"t{number}").status for number in range(5)) == \
        ["queued", "queued", "sent", "sent", "sent"]
    assert sending.deliver_together(engine, maildir, RETRY_CAP, GIVE_UP, limit=3) is True
    assert sending.deliver_together(engine, maildir, RETRY_CAP, GIVE_UP, limit=3) is False
    rows = [row(db, f"t{number}") for number in range(5)]
    assert {(mail.status, mail.attempts) for mail in rows} == {("sent", 1)}
    assert all(mail.last_error.startswith("delivered to ") for mail in rows)
    delivered = sorted(path.read_bytes() for path in (tmp_path / "outbound" / "new").iterdir())
    assert delivered == sorted(mail.content for mail in rows)
    assert db.scalar(select(text("count(*)")).select_from(DeliveryAttempt)
                     .where(DeliveryAttempt.outcome == "sent")) == 5


def test_a_maildir_batch_cut_off_before_its_commit_is_delivered_again_in_place(
        db, engine, tmp_path, monkeypatch):
    for number in range(3):
        queue(db, key=f"c{number}")
    maildir = transports.MaildirDrop(tmp_path / "outbound")

    def database_gone(connection, sent):
        raise ConnectionError("the database went away before the commit")
    with monkeypatch.context() as patched:
        patched.setattr(outbox, "mark_all_sent", database_gone)
        with pytest.raises(ConnectionError):
            sending.deliver_together(engine, maildir, RETRY_CAP, GIVE_UP)
    assert {row(db, f"c{number}").status for number in range(3)} == {"queued"}
    assert sending.deliver_together(engine, maildir, RETRY_CAP, GIVE_UP)
    assert len(list((tmp_path / "outbound" / "new").iterdir())) == 3  # one copy each
    assert {row(db, f"c{number}").status for number in range(3)} == {"sent"}


def test_a_maildir_that_cannot_be_written_retries_the_batch_later(db, engine, tmp_path):
    for number in range(2):
        queue(db, key=f"r{number}")
    maildir = transports.MaildirDrop(tmp_path / "outbound")
    (tmp_path / "outbound" / "tmp").rmdir()
    (tmp_path / "outbound" / "tmp").write_text("not a folder")
    assert sending.deliver_together(engine, maildir, RETRY_CAP, GIVE_UP)
    rows = [row(db, f"r{number}") for number in range(2)]
    assert {(mail.status, mail.attempts) for mail in rows} == {("queued", 1)}
    assert all(mail.next_attempt_at > outbox.now() for mail in rows)


def test_a_claim_passes_over_the_mails_a_relay_already_has_and_those_not_due(db, engine):
    """The relay got these while their row's commit was lost (record_handed_over): taking
    them again would send them twice."""
    for key in ("k1", "k2", "k3", "k4"):
        queue(db, key=key)
    db.execute(update(OutboxMail).where(OutboxMail.key == "k4")
               .values(next_attempt_at=outbox.now() + timedelta(minutes=5)))
    db.commit()
    handed_over = {row(db, "k2").id: None}
    with engine.connect() as connection, connection.begin():
        claimed = outbox.claim_many(connection, 10, passing_over=handed_over)
        assert [mail.key for mail in claimed] == ["k1", "k3"]
        assert [mail.key for mail in outbox.claim_many(connection, 1)] == ["k1"]
