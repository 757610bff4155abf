"""Notify in a real nameko container beside tickets, on RabbitMQ and PostgreSQL, mailing
through a real SMTP server; the mail is asserted as the receiving server got it."""
import base64
import time

import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from prometheus_client import REGISTRY
from sqlalchemy import select

from helpdesk import contract, rating_links
from services.notify.service import NotifyService
from services.tickets.models import Message
from services.tickets.service import TicketsService
from tests import fixtures
from tests.relay import rfc2047, text_of
from tests.waiting import wait_until

INGEST = contract.system("ingest")


@pytest.fixture
def desk(container_factory, config, db, relay):
    department = fixtures.department(db, "Техподдержка", ["support@isp.example"],
                                     signature="С уважением, {agent_name}\nТехподдержка ISP")
    from services.tickets import departments
    departments.update(db, fixtures.SYSTEM, department["id"],
                       {"sender_name": "Техподдержка ISP", "agent_name_in_from": True})
    agent, token = fixtures.agent_with_token(db, "Ольга Смирнова", "olga@isp.example",
                                             department_ids=[department["id"]])
    settings = {**config, **relay.settings(), "PUBLIC_URL": "http://desk.example"}
    for service in (TicketsService, NotifyService):
        container_factory(service, settings).start()
    with ClusterRpcProxy(config) as rpc:
        yield {"rpc": rpc, "agent": contract.agent_by_token(token), "settings": settings,
               "department": department}


def customer_mail(**extra):
    return {"message_id": "<q1@mail.example>", "from_address": "anna@mail.example",
            "from_name": "Анна Иванова", "to": ["support@isp.example"],
            "subject": "Нет интернета", "body_text": "С утра нет подключения к интернету.",
            **extra}


def test_a_new_request_is_acknowledged_in_the_customers_language(desk, relay):
    created = desk["rpc"].tickets.ingest_message(INGEST, customer_mail())
    [ack] = relay.wait_for(1)
    number = created["ticket_id"]
    assert ack["To"].addresses[0].addr_spec == "anna@mail.example"
    assert ack["From"].addresses[0].addr_spec == "support@isp.example"
    assert ack["Subject"] == f"Ваше обращение получено: Нет интернета [#{number}]"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == "<q1@mail.example>"
    assert ack["Message-ID"].startswith(f"<hd.{number}.")
    assert f"под номером {number}" in text_of(ack)


def sent_total(kind):
    return REGISTRY.get_sample_value("helpdesk_notify_mails_sent_total", {"kind": kind}) or 0


def test_an_agent_reply_reaches_the_customer_threaded_signed_and_with_its_file(desk, relay, db):
    created = desk["rpc"].tickets.ingest_message(INGEST, customer_mail())
    relay.wait_for(1)
    replies_sent = sent_total("reply")
    pdf = b"%PDF-1.4 instructions"
    reply = desk["rpc"].tickets.reply(desk["agent"], created["ticket_id"], {
        "body": "Перезагрузите роутер, пожалуйста.",
        "attachments": [{"filename": "Инструкция по настройке.pdf",
                         "content_type": "application/pdf",
                         "content_base64": base64.b64encode(pdf).decode()}]})
    mail = relay.wait_for(2)[1]
    assert mail["Message-ID"] == reply["message_id"]
    assert mail["In-Reply-To"] == "<q1@mail.example>"
    assert "<q1@mail.example>" in mail["References"]
    assert mail["Subject"] == f"Re: Нет интернета [#{created['ticket_id']}]"
    assert rfc2047(mail, "From") == "Ольга Смирнова via Техподдержка ISP <support@isp.example>"
    text = text_of(mail)
    assert text.startswith("Перезагрузите роутер, пожалуйста.")
    assert "-- \nС уважением, Ольга Смирнова\nТехподдержка ISP" in text
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "Инструкция по настройке.pdf"
    assert attachment.get_content() == pdf
    assert "Auto-Submitted" not in mail
    # the sender counts a mail once the relay has it, a moment after the relay's 250
    assert wait_until(lambda: sent_total("reply") == replies_sent + 1, seconds=5)


def test_resolving_sends_the_rating_links(desk, relay):
    created = desk["rpc"].tickets.ingest_message(INGEST, customer_mail())
    relay.wait_for(1)
    desk["rpc"].tickets.update_ticket(desk["agent"], created["ticket_id"], {"status": "resolved"})
    notice = relay.wait_for(2)[1]
    assert notice["Subject"].startswith("Ваше обращение решено")
    text = text_of(notice)
    links = [line.split(": ", 1)[1] for line in text.splitlines()
             if line.strip()[:2] in {f"{n}:" for n in range(1, 6)}]
    assert len(links) == 5 and links[3].endswith("?score=4")
    token = links[3].rsplit("/rate/", 1)[1].split("?")[0]
    assert links[3].startswith("http://desk.example/rate/")
    assert rating_links.ticket_of(desk["settings"]["SECRET_KEY"], token) == created["ticket_id"]


def test_a_refused_recipient_becomes_a_note_on_the_ticket(desk, relay, db):
    created = desk["rpc"].tickets.ingest_message(INGEST, customer_mail(
        from_address="reject.me@mail.example"))
    reply = desk["rpc"].tickets.reply(desk["agent"], created["ticket_id"],
                                      {"body": "Ответ, который не дойдёт."})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        db.rollback()
        original = db.get(Message, reply["id"])
        notes = db.scalars(select(Message).where(Message.ticket_id == created["ticket_id"],
                                                 Message.direction == "internal")).all()
        if notes and original.delivery_status == "failed":
            break
        time.sleep(0.2)
    assert original.delivery_status == "failed"
    assert len(notes) == 2  # the acknowledgement and the reply both bounced at the relay
    assert any("The reply to reject.me@mail.example could not be delivered" in n.body_text
               and "550" in n.body_text for n in notes)
    assert relay.mails() == []


def test_a_reply_keeps_the_people_the_customer_copied_in(desk, relay):
    created = desk["rpc"].tickets.ingest_message(INGEST, customer_mail(
        to=["support@isp.example", "neighbour@mail.example"], cc=["Boss@Mail.example",
                                                                  "support@isp.example"]))
    relay.wait_for(1)
    desk["rpc"].tickets.reply(desk["agent"], created["ticket_id"], {"body": "Проверьте кабель."})
    mail = relay.wait_for(2)[1]
    assert [a.addr_spec for a in mail["To"].addresses] == ["anna@mail.example"]
    assert sorted(a.addr_spec for a in mail["Cc"].addresses) == ["Boss@Mail.example",
                                                                 "neighbour@mail.example"]
    explicit = desk["rpc"].tickets.reply(desk["agent"], created["ticket_id"],
                                         {"body": "Только вам.", "cc": []})
    assert explicit["cc"] == []
    assert "Cc" not in relay.wait_for(3)[2]
