"""Mail in over IMAP: a real Dovecot, polled by the real ingest service (a nameko container)
that hands the mails to the real tickets service, on real RabbitMQ and PostgreSQL.

Each poll is the poll timer's own entrypoint, run by the test when it wants a poll; the timer
keeps running too (every mailbox is due at once here), and its per-mailbox lock may make the
test's poll step aside, so `poll` waits for a poll that began after it was asked for."""
import base64
import time

import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_hook
from sqlalchemy import func, select, text

from helpdesk import config as settings
from helpdesk import contract
from services.ingest.models import RawMail
from services.ingest.service import IngestService
from services.tickets.models import Message, Ticket
from services.tickets.service import TicketsService
from tests import fixtures
from tests.mail import wait_until_processed

SYSTEM = contract.system("test")
SEEN = b"\\Seen"
MAX_MAIL_BYTES = 20_000   # small, so that an oversize mail is quick to make


@pytest.fixture
def billing(db):
    # No addresses: only the mailbox's own department can route the mails here.
    return fixtures.department(db, "Billing")


@pytest.fixture
def start_desk(container_factory, config):
    """start_desk(**settings) -> the running ingest container (tickets runs beside it)."""
    def start(**extra):
        desk_config = {**config, settings.IMAP_POLL_SECONDS: 0,
                       settings.MAX_MAIL_BYTES: MAX_MAIL_BYTES, **extra}
        containers = [container_factory(service, desk_config)
                      for service in (TicketsService, IngestService)]
        for container in containers:
            container.start()
        return containers[-1]
    return start


@pytest.fixture
def rpc(config):
    with ClusterRpcProxy(config) as proxy:
        yield proxy


def mailbox_settings(account, department=None, **extra):
    return {"name": f"Mailbox of {account.user}", "host": account.host, "port": account.port,
            "security": "none", "username": account.user, "password": account.password,
            "department_id": department and department["id"], **extra}


def russian_mail(charset, number, subject, body, subject_encoding="B"):
    """A mail as Russian mail clients send it: the subject an RFC 2047 encoded word, the body
    8bit in the same charset; addressed to no department's address."""
    encoded = subject.encode(charset)
    word = (base64.b64encode(encoded).decode() if subject_encoding == "B"
            else "".join(f"={byte:02X}" if byte > 126 or chr(byte) in "=?_ " else chr(byte)
                         for byte in encoded))
    return (f"From: anna{number}@mail.example\r\nTo: info@isp.example\r\n"
            f"Subject: =?{charset}?{subject_encoding}?{word}?=\r\n"
            f"Message-ID: <imap-{number}@mail.example>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset={charset}\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n").encode("ascii") \
        + body.encode(charset) + b"\r\n"


def plain_mail(number, body="Hello"):
    return (f"From: anna{number}@mail.example\r\nTo: info@isp.example\r\n"
            f"Subject: request {number}\r\nMessage-ID: <imap-{number}@mail.example>\r\n\r\n"
            f"{body}\r\n").encode("ascii")


def poll(ingest, engine, mailbox_id, seconds=15):
    """One poll of the mailbox begun now; returns its row (last_error and all)."""
    asked_at = _database_now(engine)
    with entrypoint_hook(ingest, "poll_mailboxes") as poll_mailboxes:
        poll_mailboxes()
    deadline = time.monotonic() + seconds
    while True:
        # last_polled_at is the start of the poll's transaction, taken before its search.
        with engine.connect() as connection:
            row = connection.execute(text("SELECT * FROM ingest.mailboxes WHERE id = :id"),
                                     {"id": mailbox_id}).one()
        if row.last_polled_at is not None and row.last_polled_at >= asked_at:
            return row
        assert time.monotonic() < deadline, f"mailbox {mailbox_id} was not polled"
        time.sleep(0.05)


def counts(db):
    db.rollback()
    return tuple(db.scalar(select(func.count()).select_from(model))
                 for model in (RawMail, Ticket, Message))


def tickets(db):
    db.rollback()
    return db.scalars(select(Ticket).order_by(Ticket.id)).all()


def first_message(db, ticket):
    return db.scalars(select(Message).where(Message.ticket_id == ticket.id)
                      .order_by(Message.id)).first()


def test_koi8_r_and_windows_1251_mail_become_tickets_in_the_mailboxs_department(
        start_desk, rpc, dovecot, billing, db, engine):
    ingest = start_desk()
    mailbox = rpc.ingest.create_mailbox(SYSTEM, mailbox_settings(dovecot, billing))
    dovecot.append(russian_mail("koi8-r", 1, "Нет интернета с утра",
                                "Здравствуйте! Всё ещё нет подключения, роутер мигает."))
    dovecot.append(russian_mail("windows-1251", 2, "Двойное списание за май",
                                "Договор № 4417: деньги списали дважды.",
                                subject_encoding="Q"))
    assert poll(ingest, engine, mailbox["id"]).last_error is None
    assert all(row.status == "processed" for row in wait_until_processed(engine, 2))
    # Parse workers run side by side: the tickets may be made in either order.
    made = {t.subject: t for t in tickets(db)}
    assert {subject: (t.department_id, t.channel) for subject, t in made.items()} == {
        "Нет интернета с утра": (billing["id"], "mail"),
        "Двойное списание за май": (billing["id"], "mail")}
    assert {subject: first_message(db, t).body_text.strip() for subject, t in made.items()} == {
        "Нет интернета с утра": "Здравствуйте! Всё ещё нет подключения, роутер мигает.",
        "Двойное списание за май": "Договор № 4417: деньги списали дважды."}
    assert all(flags == {SEEN} for flags in dovecot.messages().values())


def test_a_mail_marked_unread_again_on_the_server_is_not_imported_twice(
        start_desk, rpc, dovecot, billing, db, engine):
    ingest = start_desk()
    mailbox = rpc.ingest.create_mailbox(SYSTEM, mailbox_settings(dovecot, billing))
    first = dovecot.append(plain_mail(1))
    dovecot.append(plain_mail(2))
    poll(ingest, engine, mailbox["id"])
    wait_until_processed(engine, 2)
    before = counts(db)
    with dovecot.connect() as client:   # an agent reads the shared mailbox in a mail client
        client.remove_flags([first], [SEEN])
    assert poll(ingest, engine, mailbox["id"]).last_error is None
    assert counts(db) == before == (2, 2, 2)
    assert all(flags == {SEEN} for flags in dovecot.messages().values())


def test_with_after_import_delete_the_mails_are_gone_from_the_server_once_imported(
        start_desk, rpc, dovecot, billing, db, engine):
    ingest = start_desk()
    mailbox = rpc.ingest.create_mailbox(SYSTEM, mailbox_settings(dovecot, billing,
                                                                 after_import="delete"))
    for number in range(3):
        dovecot.append(plain_mail(number))
    poll(ingest, engine, mailbox["id"])
    assert dovecot.messages() == {}
    assert all(row.status == "processed" for row in wait_until_processed(engine, 3))
    poll(ingest, engine, mailbox["id"])
    assert counts(db) == (3, 3, 3)


def test_a_mailbox_from_the_config_file_is_polled_too(start_desk, rpc, dovecot, billing, db,
                                                      engine):
    configured = {**mailbox_settings(dovecot), "department": "billing"}
    del configured["department_id"]
    ingest = start_desk(**{settings.MAILBOXES: [configured]})
    dovecot.append(russian_mail("koi8-r", 1, "Не работает ТВ", "Нет сигнала на всех каналах."))
    with entrypoint_hook(ingest, "poll_mailboxes") as poll_mailboxes:
        poll_mailboxes()    # the first poll also writes the configured mailbox down
    [listed] = rpc.ingest.list_mailboxes(SYSTEM)
    assert (listed["name"], listed["from_config"], listed["department_id"]) == \
        (configured["name"], True, billing["id"])
    poll(ingest, engine, listed["id"])
    wait_until_processed(engine, 1)
    [ticket] = tickets(db)
    assert (ticket.subject, ticket.department_id) == ("Не работает ТВ", billing["id"])
    assert list(dovecot.messages().values()) == [{SEEN}]


def test_a_slip_in_the_config_file_does_not_stop_the_other_mailboxes(
        start_desk, rpc, dovecot, billing, db, engine):
    slip = {**mailbox_settings(dovecot), "name": "Old support", "department": "Bililng"}
    del slip["department_id"]
    ingest = start_desk(**{settings.MAILBOXES: [slip]})
    mailbox = rpc.ingest.create_mailbox(SYSTEM, mailbox_settings(dovecot, billing))
    dovecot.append(plain_mail(1))
    assert poll(ingest, engine, mailbox["id"]).last_error is None
    assert [t.subject for t in _processed_tickets(db, engine, 1)] == ["request 1"]


def test_a_mail_over_the_size_limit_stays_on_the_server_and_is_named_in_last_error(
        start_desk, rpc, dovecot, billing, db, engine):
    ingest = start_desk()
    mailbox = rpc.ingest.create_mailbox(SYSTEM, mailbox_settings(dovecot, billing))
    small = dovecot.append(plain_mail(1))
    scan = russian_mail("koi8-r", 2, "Скан договора", "\r\n".join(["Ж" * 76] * 300))
    big = dovecot.append(scan)
    last = dovecot.append(plain_mail(3))
    row = poll(ingest, engine, mailbox["id"])
    assert row.last_error == (f'message uid {big} from anna2@mail.example "Скан договора" is '
                              f'{len(scan) / 1024:.1f} KB, over the 19.5 KB limit: left on the '
                              f'server, not imported')
    assert dovecot.messages() == {small: {SEEN}, big: set(), last: {SEEN}}
    assert sorted(t.subject for t in _processed_tickets(db, engine, 2)) == \
        ["request 1", "request 3"]
    [shown] = rpc.ingest.list_mailboxes(SYSTEM)         # what the admin page shows
    assert shown["last_error"] == row.last_error
    with dovecot.connect() as client:   # the admin deals with it in a mail client
        client.delete_messages([big])
        client.expunge()
    assert poll(ingest, engine, mailbox["id"]).last_error is None
    assert counts(db) == (2, 2, 2)


def test_a_wrong_password_is_named_in_last_error_until_an_admin_fixes_it(
        start_desk, rpc, dovecot, billing, db, engine):
    ingest = start_desk()
    mailbox = rpc.ingest.create_mailbox(SYSTEM, mailbox_settings(dovecot, billing,
                                                                 password="old-password"))
    dovecot.append(plain_mail(1))
    error = poll(ingest, engine, mailbox["id"]).last_error
    assert error.startswith(f"mailbox {mailbox['name']}: login refused for user "
                            f"{dovecot.user} at {dovecot.host}:{dovecot.port}")
    assert "old-password" not in error
    assert counts(db) == (0, 0, 0) and list(dovecot.messages().values()) == [set()]
    rpc.ingest.update_mailbox(SYSTEM, mailbox["id"], {"password": dovecot.password})
    assert poll(ingest, engine, mailbox["id"]).last_error is None
    assert [t.subject for t in _processed_tickets(db, engine, 1)] == ["request 1"]
    assert rpc.ingest.list_mailboxes(SYSTEM)[0]["last_error"] is None


def test_an_unreachable_server_is_named_in_last_error(start_desk, rpc, dovecot, billing,
                                                      engine):
    ingest = start_desk()
    mailbox = rpc.ingest.create_mailbox(SYSTEM, mailbox_settings(dovecot, billing, port=1))
    error = poll(ingest, engine, mailbox["id"]).last_error
    assert error.startswith(f"mailbox {mailbox['name']} (127.0.0.1:1, folder INBOX): ")
    assert "Connection refused" in error


def _processed_tickets(db, engine, count):
    assert all(row.status == "processed" for row in wait_until_processed(engine, count))
    return tickets(db)


def _database_now(engine):
    with engine.connect() as connection:
        return connection.scalar(select(func.now()))
