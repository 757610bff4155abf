"""Russian mail in the code pages real customers still send, read back through the REST API:
KOI8-R, windows-1251, and 8-bit Cyrillic with no charset declared at all."""
import base64
from email.header import Header

import pytest

from gateway import create_app
from services.ingest.service import IngestService
from services.tickets.service import TicketsService
from tests import fixtures
from tests.mail import send, smtp_listener, wait_until_processed

SUBJECT = "Не работает интернет после оплаты"
NAME = "Пётр Сергеевич"
BODY = "Здравствуйте! Оплатил счёт вчера, а доступа в интернет нет до сих пор."
FILENAME = "квитанция об оплате.txt"
RECEIPT = "Квитанция №17".encode("utf-8")


def koi8r_mail():
    """Headers as RFC 2047 encoded-words in KOI8-R, the body and the file name too."""
    subject = Header(SUBJECT, "koi8-r").encode()
    name = Header(NAME, "koi8-r").encode()
    return b"\r\n".join([
        f"From: {name} <petr@mail.example>".encode(),
        b"To: support@isp.example",
        f"Subject: {subject}".encode(),
        b"Message-ID: <koi8r-1@mail.example>",
        b"MIME-Version: 1.0",
        b'Content-Type: multipart/mixed; boundary="b1"',
        b"", b"--b1",
        b"Content-Type: text/plain; charset=koi8-r",
        b"Content-Transfer-Encoding: 8bit",
        b"", BODY.encode("koi8-r"), b"--b1",
        b"Content-Type: text/plain; charset=utf-8",
        b"Content-Disposition: attachment; filename*=koi8-r''"
        + "".join(f"%{byte:02X}" for byte in FILENAME.encode("koi8-r")).encode(),
        b"Content-Transfer-Encoding: base64",
        b"", base64.b64encode(RECEIPT), b"--b1--", b""])


def cp1251_mail():
    """Everything windows-1251: quoted-printable body, B-encoded headers."""
    subject = Header(SUBJECT, "windows-1251").encode()
    name = Header(NAME, "windows-1251").encode()
    body = BODY.encode("windows-1251")
    quoted = "".join(f"={byte:02X}" if byte > 127 or byte == 61 else chr(byte)
                     for byte in body).encode()
    return b"\r\n".join([
        f"From: {name} <petr@mail.example>".encode(), b"To: support@isp.example",
        f"Subject: {subject}".encode(), b"Message-ID: <cp1251-1@mail.example>",
        b"MIME-Version: 1.0", b"Content-Type: text/plain; charset=windows-1251",
        b"Content-Transfer-Encoding: quoted-printable", b"", quoted, b""])


def undeclared_mail():
    """Raw 8-bit windows-1251 in the headers and the body, no charset anywhere (old clients
    and broken gateways still send this)."""
    return b"\r\n".join([
        b"From: " + NAME.encode("windows-1251") + b" <petr@mail.example>",
        b"To: support@isp.example", b"Subject: " + SUBJECT.encode("windows-1251"),
        b"Message-ID: <undeclared-1@mail.example>", b"", BODY.encode("windows-1251"), b""])


@pytest.fixture
def api(container_factory, config, db):
    fixtures.department(db, "First line", ["support@isp.example"])
    for service in (TicketsService, IngestService):
        container_factory(service, config).start()
    admin, token = fixtures.agent_with_token(db, "Ada", "ada@isp.example", role="admin")
    app = create_app(config)
    with smtp_listener(config) as address:
        yield app.test_client(), {"Authorization": f"Bearer {token}"}, address
    app.extensions["rpc"].close()


@pytest.mark.parametrize("raw", [koi8r_mail(), cp1251_mail(), undeclared_mail()],
                         ids=["koi8-r", "windows-1251", "undeclared-8bit"])
def test_russian_mail_reads_right_through_the_api(api, engine, raw):
    client, headers, address = api
    send(address, raw, sender="petr@mail.example", recipients=["support@isp.example"])
    [row] = wait_until_processed(engine, 1)
    assert row.status == "processed", row.reason
    ticket = client.get(f"/api/v1/tickets/{row.ticket_id}", headers=headers).get_json()
    assert ticket["subject"] == SUBJECT
    assert ticket["customer"]["name"] == NAME
    [message] = ticket["messages"]
    assert message["body_text"].strip() == BODY
    assert message["author"]["name"] == NAME
    if "koi8" in raw.decode("latin-1"):
        [attachment] = message["attachments"]
        assert attachment["filename"] == FILENAME
        download = client.get(f"/api/v1/attachments/{attachment['id']}", headers=headers)
        assert download.data == RECEIPT
