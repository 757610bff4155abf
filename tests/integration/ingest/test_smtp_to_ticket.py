"""Mail in over real SMTP (smtplib → the listener process) through the parse workers (a real
nameko container) to tickets (another container), on real RabbitMQ and PostgreSQL."""
import smtplib

import pytest
import requests
from nameko.standalone.rpc import ClusterRpcProxy
from prometheus_client import REGISTRY
from sqlalchemy import select

from helpdesk import contract
from services.ingest.models import RawMail
from services.ingest.service import IngestService
from services.tickets.models import Message, Ticket
from services.tickets.service import TicketsService
from tests import fixtures
from tests.mail import (customer_mail, free_port, send, smtp_listener, wait_until_processed,
                        wire_bytes)
from tests.waiting import wait_until

SYSTEM = contract.system("test")


@pytest.fixture
def desk(container_factory, config, db):
    """Tickets and ingest running; two departments with their addresses."""
    billing = fixtures.department(db, "Billing", ["billing@isp.example"])
    support = fixtures.department(db, "First line", ["support@isp.example"])
    for service in (TicketsService, IngestService):
        container_factory(service, {**config, "SWEEP_AFTER_SECONDS": 2}).start()
    with smtp_listener(config) as address:
        yield {"smtp": address, "billing": billing, "support": support}


def ticket_of(db, raw):
    db.rollback()
    return db.get(Ticket, raw.ticket_id)


def test_customer_mail_creates_a_ticket_in_the_department_of_the_receiving_address(desk, db,
                                                                                  engine):
    send(desk["smtp"], customer_mail("billing@isp.example", subject="Двойное списание"))
    [raw] = wait_until_processed(engine, 1)
    assert raw.status == "processed", raw.reason
    ticket = ticket_of(db, raw)
    assert ticket.department_id == desk["billing"]["id"]
    assert ticket.subject == "Двойное списание"


def test_customer_answer_with_the_tag_lands_on_the_same_ticket(desk, db, engine):
    send(desk["smtp"], customer_mail("support@isp.example"))
    [first] = wait_until_processed(engine, 1)
    send(desk["smtp"], customer_mail("support@isp.example",
                                     subject=f"Re: Нет интернета [#{first.ticket_id}]",
                                     body="Всё ещё нет"))
    rows = wait_until_processed(engine, 2)
    assert [row.ticket_id for row in rows] == [first.ticket_id, first.ticket_id]


def test_answer_to_the_agents_reply_with_only_in_reply_to_lands_on_the_same_ticket(
        desk, db, engine, config):
    send(desk["smtp"], customer_mail("support@isp.example"))
    [first] = wait_until_processed(engine, 1)
    admin, token = fixtures.agent_with_token(db, "Ada", "ada@isp.example", role="admin")
    with ClusterRpcProxy(config) as rpc:
        reply = rpc.tickets.reply(contract.agent_by_token(token), first.ticket_id,
                                  {"body": "Перезагрузите роутер"})
    answer = customer_mail("support@isp.example", subject="Без темы", body="Не помогло",
                           In_Reply_To=reply["message_id"])
    send(desk["smtp"], answer)
    rows = wait_until_processed(engine, 2)
    assert rows[1].status == "processed" and rows[1].ticket_id == first.ticket_id


def test_out_of_office_answer_does_not_open_a_ticket(desk, db, engine):
    send(desk["smtp"], customer_mail("support@isp.example", subject="Автоответ: в отпуске",
                                     Auto_Submitted="auto-replied"))
    [raw] = wait_until_processed(engine, 1)
    assert raw.status == "ignored" and raw.ticket_id is None
    db.rollback()
    assert db.scalars(select(Ticket)).all() == []


def test_a_30_mb_mail_is_refused_with_552_and_a_clear_text(config, db):
    big = wire_bytes(customer_mail("support@isp.example", body="x" * 30 * 1024 * 1024))
    with smtp_listener(config) as address:  # the default limit: 25 MB
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # SIZE announced up front
            send(address, big, recipients=["support@isp.example"])
        with smtplib.SMTP(*address, timeout=60) as client:  # a client that does not announce it
            client.ehlo()
            client.mail("anna@mail.example")
            client.rcpt("support@isp.example")
            code, text = client.data(big)
    assert refused.value.smtp_code == code == 552
    assert text == refused.value.smtp_error == \
        b"5.3.4 Message too big: this help desk accepts mail up to 25 MB"
    db.rollback()
    assert db.scalars(select(RawMail)).all() == []


def test_the_listener_counts_what_it_stores_for_prometheus(config, db):
    port = free_port()
    with smtp_listener(config, METRICS_PORT=port) as address:
        send(address, customer_mail("support@isp.example"))
        exposed = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert 'helpdesk_mails_received_total{source="smtp"} 1.0' in exposed


def test_a_processed_mail_is_counted_with_its_latency(desk, engine):
    before = REGISTRY.get_sample_value("helpdesk_mails_processed_total",
                                       {"outcome": "ticket"}) or 0
    latencies = REGISTRY.get_sample_value("helpdesk_mail_end_to_end_seconds_count") or 0
    send(desk["smtp"], customer_mail("support@isp.example"))
    [raw] = wait_until_processed(engine, 1)
    assert raw.status == "processed"
    # counted just after the commit that the wait above sees
    assert wait_until(lambda: REGISTRY.get_sample_value(
        "helpdesk_mails_processed_total", {"outcome": "ticket"}) == before + 1)
    assert wait_until(lambda: REGISTRY.get_sample_value(
        "helpdesk_mail_end_to_end_seconds_count") == latencies + 1)


def test_database_down_means_451_so_the_sender_keeps_the_mail(config):
    unreachable = "postgresql://helpdesk:helpdesk@127.0.0.1:1/helpdesk"
    with smtp_listener({**config, "DATABASE_URL": unreachable}) as address:
        with pytest.raises(smtplib.SMTPDataError) as deferred:
            send(address, customer_mail("support@isp.example"))
    assert deferred.value.smtp_code == 451


def test_mail_nobody_receives_is_quarantined_then_reprocessed_once_its_department_exists(
        desk, db, engine, config):
    send(desk["smtp"], customer_mail("tv@isp.example", subject="Нет каналов"))
    [raw] = wait_until_processed(engine, 1)
    assert raw.status == "quarantined" and raw.reason.startswith("NO_DEPARTMENT")
    tv = fixtures.department(db, "TV", ["tv@isp.example"])
    with ClusterRpcProxy(config) as rpc:
        rpc.ingest.reprocess(SYSTEM, raw.id)
    [raw] = wait_until_processed(engine, 1)
    assert raw.status == "processed", raw.reason
    assert ticket_of(db, raw).department_id == tv["id"]
    db.rollback()
    assert db.scalar(select(Message).where(Message.ticket_id == raw.ticket_id)).raw_mail_id \
        == raw.id


def test_mails_arriving_together_are_each_stored_under_the_id_the_sender_was_told(config, db):
    """The listener commits concurrent mails in one group: each 250 still names the raw mail
    that holds that sender's bytes."""
    from concurrent.futures import ThreadPoolExecutor

    mails = [wire_bytes(customer_mail("support@isp.example", body=f"mail number {number}"))
             for number in range(40)]

    def deliver(raw):
        with smtplib.SMTP(*address, timeout=30) as client:
            client.ehlo()
            client.mail("anna@mail.example")
            client.rcpt("support@isp.example")
            code, text = client.data(raw)
        assert code == 250
        return int(text.decode().rpartition(" ")[2])

    with smtp_listener(config) as address:
        with ThreadPoolExecutor(8) as clients:
            ids = list(clients.map(deliver, mails))
    db.rollback()
    stored = {row.id: row.content for row in db.scalars(select(RawMail))}
    assert len(set(ids)) == 40 and len(stored) == 40
    assert [stored[raw_mail_id] for raw_mail_id in ids] == mails


def test_a_group_queued_in_one_message_lands_each_mail_on_its_own_ticket(desk, db, engine,
                                                                         config):
    """The listener queues a group it committed together as one message: the parse worker
    hands the group over together and each mail still gets its own outcome."""
    from services.ingest import queue, raw_mails

    group = [customer_mail("billing@isp.example", subject="Счёт за ноябрь"),
             customer_mail("nobody@else.example", subject="Не туда"),
             customer_mail("support@isp.example", subject="Нет связи")]
    ids = raw_mails.store_many(db, [(wire_bytes(mail), "anna@mail.example", (mail["To"],))
                                    for mail in group], "smtp")
    publisher = queue.RawMailPublisher(config["AMQP_URI"])
    try:
        assert publisher.publish_group(ids)
    finally:
        publisher.close()
    rows = {row.id: row for row in wait_until_processed(engine, 3)}
    assert [rows[raw_mail_id].status for raw_mail_id in ids] == \
        ["processed", "quarantined", "processed"]
    billing, support = ticket_of(db, rows[ids[0]]), ticket_of(db, rows[ids[2]])
    assert (billing.subject, billing.department_id) == ("Счёт за ноябрь", desk["billing"]["id"])
    assert (support.subject, support.department_id) == ("Нет связи", desk["support"]["id"])
    assert rows[ids[1]].reason.startswith("NO_DEPARTMENT")
