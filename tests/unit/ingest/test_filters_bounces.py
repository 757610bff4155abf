"""Bounces: standard reports from the parser, and the non-standard ones MTAs still send."""
import pytest

from services.ingest.decisions import Bounce, Context
from services.ingest.filters.bounces import detect_bounce
from services.ingest.mail import Address, Attachment, DeliveryReport, ParsedMail

OURS = "<hd.1234.a1b2c3@isp.example>"
RETURNED = (f"Message-ID:\r\n {OURS}\r\nFrom: support@isp.example\r\nSubject: Re: [#1234]\r\n"
            "\r\nПерезагрузите роутер\r\n").encode()
SMTP = Context(envelope_sender="")


def mail(subject, sender, attachments=(), headers=(), text=""):
    return ParsedMail(headers=list(headers), subject=subject, from_=Address("", sender),
                      text=text, attachments=list(attachments))


def returned(kind="message/rfc822", content=RETURNED):
    return Attachment("returned.eml", kind, content)


def test_a_delivery_status_report_is_a_bounce_of_the_mail_it_names():
    report = DeliveryReport(OURS, "failed", "5.1.1", ("anna@mail.example",), "user unknown")
    parsed = ParsedMail(headers=[], subject="Undelivered Mail Returned to Sender",
                        report=report)
    assert detect_bounce(parsed, SMTP) == \
        Bounce(report, "a delivery status report (RFC 3464), action failed")


def test_a_report_without_the_original_id_takes_it_from_the_returned_copy():
    report = DeliveryReport(None, "failed", "5.1.1", ("anna@mail.example",))
    parsed = ParsedMail(headers=[], report=report, attachments=[returned()])
    assert detect_bounce(parsed, SMTP).report.original_message_id == OURS


def test_postfix_bounce_names_the_returned_mail_its_recipients_and_status():
    bounce = mail("Undelivered Mail Returned to Sender", "MAILER-DAEMON@mx.mail.example",
                  [returned()], [("X-Failed-Recipients", "anna@mail.example, b@mail.example")],
                  "<anna@mail.example>: host mx said: 550 5.1.1 User unknown "
                  "(in reply to RCPT TO, from 10.1.2.3)")
    decision = detect_bounce(bounce, Context(envelope_sender="x@y"))
    assert decision.report == DeliveryReport(
        OURS, "failed", "5.1.1", ("anna@mail.example", "b@mail.example"), bounce.text)
    assert decision.why == ("a bounce from MAILER-DAEMON@mx.mail.example: "
                            "Undelivered Mail Returned to Sender")


@pytest.mark.parametrize("subject, sender", [
    ("Undeliverable: Re: Нет интернета [#1234]", "postmaster@contoso.example"),
    ("Delivery Status Notification (Failure)", "mailer-daemon@googlemail.com"),
    ("Mail delivery failed: returning message to sender", "Mailer-Daemon@mx.example"),
    ("Returned mail: see transcript for details", "MAILER-DAEMON@mx.example"),
    ("failure notice", "MAILER-DAEMON@qmail.example"),
    ("Недоставленное сообщение", "mailer-daemon@yandex.ru"),
    ("Не удается доставить: Re: Нет интернета", "postmaster@corp.example"),
    ("Undeliverable: Re: счёт", "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.ex"),
])
def test_non_standard_bounces_from_mail_servers_are_recognised(subject, sender):
    decision = detect_bounce(mail(subject, sender, [returned()]), Context(envelope_sender=None))
    assert isinstance(decision, Bounce)
    assert decision.report.original_message_id == OURS


def test_a_bounce_subject_with_an_empty_envelope_sender_is_a_bounce_whoever_signs_it():
    decision = detect_bounce(mail("Undeliverable: Re: счёт", "noreply@relay.example"), SMTP)
    assert decision.why.startswith("a bounce from an empty envelope sender")


def test_a_delay_warning_is_reported_as_delayed_not_failed():
    warning = mail("Delivery Status Notification (Delay)", "mailer-daemon@googlemail.com")
    assert detect_bounce(warning, SMTP).report.action == "delayed"


def test_the_returned_headers_alone_are_enough_to_find_the_original():
    headers_only = returned("text/rfc822-headers", f"Message-ID: {OURS}\r\n\r\n".encode())
    bounce = mail("Returned mail", "MAILER-DAEMON@mx.example", [headers_only])
    assert detect_bounce(bounce, SMTP).report.original_message_id == OURS


def test_a_bounce_without_the_returned_mail_names_no_original():
    bounce = mail("Mail delivery failed", "Mailer-Daemon@mx.example",
                  [Attachment("note.txt", "text/plain", b"Message-ID: <x@y>")])
    assert detect_bounce(bounce, SMTP).report.original_message_id is None


def test_a_person_writing_about_returned_mail_is_not_a_bounce():
    person = mail("Returned mail from your shop: refund?", "anna@mail.example", [returned()])
    assert detect_bounce(person, Context(envelope_sender="anna@mail.example")) is None


def test_a_postmaster_forwarding_spam_to_the_isp_is_not_a_bounce():
    complaint = mail("Spam from your network 203.0.113.7", "postmaster@corp.example",
                     [returned()])
    assert detect_bounce(complaint, Context(envelope_sender="postmaster@corp.example")) is None


def test_ordinary_mail_is_not_a_bounce():
    assert detect_bounce(mail("Нет интернета", "anna@mail.example"), SMTP) is None


def test_imap_bounce_with_an_empty_return_path_is_recognised_without_a_known_sender():
    fetched = mail("Недоставленное сообщение", "noreply@relay.example", [returned()],
                   [("Return-Path", "<>")])
    assert detect_bounce(fetched, Context(envelope_sender=None)).report.original_message_id == OURS
