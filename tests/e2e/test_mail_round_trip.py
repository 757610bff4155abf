"""The whole mail loop as `helpdesk up` runs it, every part in its own process and every hop
over real SMTP: a customer's KOI8-R mail → ticket → acknowledgement → the agent's reply with
a file → the customer's answer back on the same ticket; and an out-of-office reply and a
bounce to our acknowledgement, which must not start a mail loop."""
import base64
import smtplib
import time
from email.header import Header

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from helpdesk import contract, event_queues
from services.tickets import departments
from tests import fixtures
from tests.mail import process_env, smtp_listener, wait_until_processed
from tests.processes import start, stop_all, wait_until_serving
from tests.relay import Relay, rfc2047, text_of


def koi8r_mail(subject, body, message_id, **headers):
    lines = [f"From: {Header('Анна Иванова', 'koi8-r').encode()} <anna@mail.example>",
             "To: support@isp.example", f"Subject: {Header(subject, 'koi8-r').encode()}",
             f"Message-ID: {message_id}", "Date: Mon, 23 Nov 2026 09:00:00 +0300",
             "MIME-Version: 1.0", "Content-Type: text/plain; charset=koi8-r",
             "Content-Transfer-Encoding: 8bit",
             *[f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]]
    return "\r\n".join(lines).encode() + b"\r\n\r\n" + body.encode("koi8-r") + b"\r\n"


def bounce_of(mail):
    """A delivery status report (RFC 3464), as a receiving MTA sends it about `mail`."""
    boundary = "report-boundary-1"
    return (f"From: Mail Delivery System <MAILER-DAEMON@mx.mail.example>\r\n"
            f"To: support@isp.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            f"Message-ID: <bounce-1@mx.mail.example>\r\nAuto-Submitted: auto-replied\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: multipart/report; "
            f"report-type=delivery-status; boundary=\"{boundary}\"\r\n\r\n"
            f"--{boundary}\r\nContent-Type: text/plain\r\n\r\n"
            f"The mail could not be delivered to anna@mail.example.\r\n\r\n"
            f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
            f"Reporting-MTA: dns; mx.mail.example\r\n\r\n"
            f"Final-Recipient: rfc822; anna@mail.example\r\nAction: failed\r\n"
            f"Status: 5.2.2\r\nDiagnostic-Code: smtp; 552 5.2.2 Mailbox full\r\n\r\n"
            f"--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"Message-ID: {mail['Message-ID']}\r\nFrom: support@isp.example\r\n"
            f"To: anna@mail.example\r\nSubject: acknowledgement\r\n\r\n"
            f"--{boundary}--\r\n").encode()


@pytest.fixture
def desk(config, db, tmp_path):
    department = fixtures.department(db, "Техподдержка", ["support@isp.example"],
                                     signature="Служба технической поддержки\n8-800-000-00-00")
    departments.update(db, fixtures.SYSTEM, department["id"], {"sender_name": "Техподдержка"})
    _, token = fixtures.agent_with_token(db, "Ольга", "olga@isp.example",
                                         department_ids=[department["id"]])
    relay = Relay(tmp_path / "relay").start()
    event_queues.declare_all(config)
    env = process_env(config, **relay.settings())
    processes = [start(name, env) for name in ("tickets", "ingest", "notify")]
    try:
        wait_until_serving(config, ["tickets", "ingest", "notify"])
        with smtp_listener(config) as smtp, ClusterRpcProxy(config, timeout=30) as rpc:
            yield {"relay": relay, "smtp": smtp, "rpc": rpc,
                   "agent": contract.agent_by_token(token)}
    finally:
        stop_all(processes)
        relay.stop()


def send(smtp, raw, sender="anna@mail.example"):
    with smtplib.SMTP(*smtp, timeout=30) as client:
        client.sendmail(sender, ["support@isp.example"], raw)


@pytest.mark.timeout(180)
def test_a_koi8r_request_is_acknowledged_answered_and_its_answer_threads_back(desk, engine):
    relay, rpc = desk["relay"], desk["rpc"]
    send(desk["smtp"], koi8r_mail("Нет интернета с утра", "Роутер мигает красным.",
                                  "<rt-1@mail.example>"))
    [ack] = relay.wait_for(1)
    number = int(ack["Subject"].rsplit("[#", 1)[1].rstrip("]"))
    assert ack["Subject"] == f"Ваше обращение получено: Нет интернета с утра [#{number}]"
    assert f"под номером {number}" in text_of(ack)

    reply = rpc.tickets.reply(desk["agent"], number, {
        "body": "Перезагрузите роутер.", "attachments": [{
            "filename": "Схема подключения.pdf", "content_type": "application/pdf",
            "content_base64": base64.b64encode(b"%PDF-1.4 scheme").decode()}]})
    answer = relay.wait_for(2)[1]
    assert rfc2047(answer, "Subject") == f"Re: Нет интернета с утра [#{number}]"
    assert answer["In-Reply-To"] == "<rt-1@mail.example>"
    assert answer["Message-ID"] == reply["message_id"]
    text = text_of(answer)
    assert "-- \nСлужба технической поддержки\n8-800-000-00-00" in text
    [file] = list(answer.iter_attachments())
    assert (file.get_filename(), file.get_content()) == ("Схема подключения.pdf",
                                                         b"%PDF-1.4 scheme")

    send(desk["smtp"], koi8r_mail("Спасибо, заработало", "Всё работает, спасибо!",
                                  "<rt-2@mail.example>", In_Reply_To=answer["Message-ID"]))
    wait_until_processed(engine, 2)
    ticket = rpc.tickets.get_ticket(desk["agent"], number)
    assert [(m["direction"], m["body_text"].strip()) for m in ticket["messages"]] == [
        ("inbound", "Роутер мигает красным."), ("outbound", "Перезагрузите роутер."),
        ("inbound", "Всё работает, спасибо!")]
    assert len(relay.mails()) == 2  # an answer to a ticket is not acknowledged again


@pytest.mark.timeout(180)
def test_an_out_of_office_reply_and_a_bounce_to_the_acknowledgement_start_no_loop(desk, engine):
    relay, rpc = desk["relay"], desk["rpc"]
    send(desk["smtp"], koi8r_mail("Не работает ТВ", "Нет сигнала.", "<rt-3@mail.example>"))
    [ack] = relay.wait_for(1)
    number = int(ack["Subject"].rsplit("[#", 1)[1].rstrip("]"))

    send(desk["smtp"], koi8r_mail(f"Автоответ: {ack['Subject']}", "Я в отпуске до понедельника.",
                                  "<ooo-1@mail.example>", In_Reply_To=ack["Message-ID"],
                                  Auto_Submitted="auto-replied"))
    send(desk["smtp"], bounce_of(ack), sender="")
    statuses = wait_until_processed(engine, 3)
    assert [row.status for row in statuses] == ["processed"] * 3, statuses
    time.sleep(5)  # what notify would send in answer would have arrived by now
    assert len(relay.mails()) == 1, [m["Subject"] for m in relay.mails()]
    ticket = rpc.tickets.get_ticket(desk["agent"], number)
    assert ticket["status"] == "new"  # neither of them reopened or touched the request
    notes = [m["body_text"] for m in ticket["messages"] if m["direction"] == "internal"]
    assert len(notes) == 1 and "5.2.2" in notes[0]
    assert [m["auto_reply"] for m in ticket["messages"] if m["direction"] == "inbound"] == [
        False, True]
