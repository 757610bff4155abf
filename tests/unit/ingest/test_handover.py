"""The hand-over payload: whom to answer, and bodies within the tickets service's limits."""
import base64
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from helpdesk.errors import InvalidInput
from helpdesk.payloads import MAX_BODY_CHARS, InboundMessage
from services.ingest import handover
from services.ingest.decisions import Verdict
from services.ingest.mail import Address, Attachment, ParsedMail

RAW = SimpleNamespace(id=7, sha256="a" * 64, envelope_sender="bounce@mail.example",
                      received_at=datetime(2026, 11, 23, tzinfo=timezone.utc))


def mail(**fields):
    return ParsedMail(headers=[], **fields)


def test_payload_is_what_tickets_accepts():
    parsed = mail(subject="Нет связи", from_=Address("Анна", "anna@mail.example"),
                  to=[Address("", "support@isp.example")], message_id="<m1@mail.example>",
                  text="Тест")
    payload = handover.payload(RAW, Verdict(mail=parsed, department_id=3))
    checked = InboundMessage.model_validate(payload)
    assert (checked.from_address, checked.from_name, checked.department_id) == \
        ("anna@mail.example", "Анна", 3)
    assert checked.raw_mail_id == 7 and checked.raw_sha256 == "a" * 64


def test_a_broken_from_falls_back_to_reply_to_then_the_envelope():
    broken = Address("Anna", "anna at mail")
    assert handover.sender(mail(from_=broken, reply_to=[Address("", "a@mail.example")]),
                           None) == ("", "a@mail.example")
    assert handover.sender(mail(from_=broken), "<env@mail.example>") == ("", "env@mail.example")


def test_a_mail_with_no_usable_sender_is_refused_by_name():
    with pytest.raises(InvalidInput) as refused:
        handover.sender(mail(from_=Address("", "nobody")), "")
    assert refused.value.code == "INVALID_SENDER"


def test_an_overlong_body_is_cut_and_kept_whole_as_an_attachment():
    text = "я" * (MAX_BODY_CHARS + 10)
    parsed = mail(from_=Address("", "anna@mail.example"), text=text)
    payload = handover.payload(RAW, Verdict(mail=parsed, department_id=1))
    assert len(payload["body_text"]) <= MAX_BODY_CHARS
    assert payload["attachments"][-1]["filename"] == "message.txt"


def test_no_text_of_the_payload_carries_a_nul_that_postgresql_would_refuse():
    parsed = mail(subject="Нет\x00связи", from_=Address("Ан\x00на", "anna@mail.example"),
                  to=[Address("", "support@isp.example")], message_id="<m2@mail.example>",
                  text="текст\x00", attachments=[Attachment("до\x00говор.pdf", "application/pdf",
                                                            b"%PDF\x00")])
    payload = handover.payload(RAW, Verdict(mail=parsed, department_id=3))
    assert (payload["subject"], payload["from_name"], payload["body_text"]) == \
        ("Нетсвязи", "Анна", "текст")
    [attached] = payload["attachments"]
    assert attached["filename"] == "договор.pdf"
    assert base64.b64decode(attached["content_base64"]) == b"%PDF\x00"  # files keep their bytes
