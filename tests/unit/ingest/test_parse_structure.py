"""The MIME tree: which body is shown, which parts become files and what they are called,
forwarded mail, bounces, and mail built to hurt the parser."""
import time

import pytest

from services.ingest.parsing import UnparseableMail, parse


def _multipart(kind, *parts, headers=b"Subject: test\nFrom: Anna <anna@mail.example>\n"):
    body = b"".join(b"--b\n" + part + b"\n" for part in parts) + b"--b--\n"
    return headers + b"Content-Type: multipart/" + kind + b'; boundary="b"\n\n' + body


PLAIN = b"Content-Type: text/plain; charset=utf-8\n\nplain text"
HTML = (b"Content-Type: text/html; charset=utf-8\n\n<p onclick=\"steal()\">rich <b>text</b>"
        b"<script>alert(1)</script><img src=\"cid:logo@x\"></p>")


def test_plain_text_is_preferred_and_html_kept_sanitised():
    mail = parse(_multipart(b"alternative", PLAIN, HTML))
    assert mail.text == "plain text"
    assert "rich <b>text</b>" in mail.html and 'src="cid:logo@x"' in mail.html
    assert "script" not in mail.html and "onclick" not in mail.html and "alert" not in mail.html


def test_html_only_mail_gets_its_text_from_the_html():
    mail = parse(_multipart(b"alternative", b"Content-Type: text/plain\n\n  \n", HTML))
    assert mail.text == "rich text"


def test_inline_text_and_html_parts_of_a_mixed_mail_are_one_body_in_order():
    mail = parse(_multipart(b"mixed", PLAIN, b"Content-Type: text/html\n\n<i>signature</i>"))
    assert mail.text == "plain text\nsignature"
    assert mail.attachments == []


def test_related_images_are_inline_attachments_named_from_their_content_id():
    mail = parse(_multipart(b"related", HTML, b"Content-Type: image/png\n"
                            b"Content-Transfer-Encoding: base64\nContent-ID: <logo.png@x>\n\n"
                            b"iVBORw0KGgo="))
    [image] = mail.attachments
    assert (image.filename, image.content_id, image.inline) == ("logo.png", "logo.png@x", True)
    assert image.content == b"\x89PNG\r\n\x1a\n"


def test_forwarded_mail_is_an_eml_named_after_its_subject_with_its_bytes_as_written():
    inner = b"Subject: =?utf-8?B?0J/RgNC40LLQtdGC?=\nFrom: b@mail.example\n\nhello\n"
    mail = parse(_multipart(b"mixed", PLAIN, b"Content-Type: message/rfc822\n\n" + inner))
    [forwarded] = mail.attachments
    assert forwarded.filename == "Привет.eml"
    assert forwarded.content == inner.rstrip(b"\n") + b"\n"
    assert forwarded.content_type == "message/rfc822"


def test_duplicate_names_are_numbered():
    part = b"Content-Type: image/jpeg\nContent-Disposition: attachment\n\nx"
    mail = parse(_multipart(b"mixed", PLAIN, part, part))
    assert [a.filename for a in mail.attachments] == ["image.jpg", "image1.jpg"]


def test_uuencoded_file_in_the_text_becomes_an_attachment():
    raw = b"Subject: x\n\nSee the file.\nbegin 644 hello.txt\n,2&5L;&\\@6F%M;6%D\n`\nend\nBye\n"
    mail = parse(raw)
    assert mail.text == "See the file.\nBye"
    assert [(a.filename, a.content) for a in mail.attachments] == [("hello.txt",
                                                                     b"Hello Zammad")]


def test_a_part_with_an_invalid_charset_does_not_break_anything():
    mail = parse(_multipart(b"mixed", b"Content-Type: text/plain; charset=no-such-thing\n\n"
                            b"caf\xe9", b"Content-Type: text/html; charset=\"utf-8\"\n"
                            b"Content-Disposition: attachment; filename=a.html\n\n<b>x</b>"))
    assert mail.text == "café"
    assert [a.filename for a in mail.attachments] == ["a.html"]


def test_delivery_report_gives_the_original_message_id_and_the_failure():
    status = (b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n"
              b"Final-Recipient: rfc822; gone@mail.example\nAction: failed\nStatus: 5.1.1\n"
              b"Diagnostic-Code: smtp; 550 5.1.1 User unknown\n")
    original = b"Content-Type: text/rfc822-headers\n\nMessage-ID: <ours-1@helpdesk.example>\n"
    raw = _multipart(b"report; report-type=delivery-status", PLAIN, status, original)
    report = parse(raw).report
    assert report.original_message_id == "<ours-1@helpdesk.example>"
    assert (report.action, report.status, report.recipients) == ("failed", "5.1.1",
                                                                 ("gone@mail.example",))
    assert report.diagnostic == "550 5.1.1 User unknown"


def test_threading_headers_keep_their_brackets():
    mail = parse(b"Message-ID: <a@x>\nIn-Reply-To: <b@x>\nReferences: <c@x>\n <b@x>\n"
                 b"Date: Mon, 2 Mar 2026 10:00:00 +0300\n\nx")
    assert (mail.message_id, mail.in_reply_to, mail.references) == ("<a@x>", "<b@x>",
                                                                     ["<c@x>", "<b@x>"])
    assert mail.date.utcoffset().total_seconds() == 3 * 3600


def test_sender_without_angle_brackets_and_with_a_comment():
    assert parse(b"From: Anna anna@mail.example\n\nx").from_.email == "anna@mail.example"
    sender = parse(b"From: MAILER-DAEMON (Mail Delivery System) <pm@mx.example>\n\nx").from_
    assert (sender.name, sender.email) == ("MAILER-DAEMON", "pm@mx.example")


def test_missing_from_falls_back_to_reply_to_and_says_so():
    mail = parse(b"From: [??????]\nReply-To: <real@mail.example>\n\nx")
    assert mail.from_.email == "real@mail.example"
    assert any("Reply-To" in defect for defect in mail.defects)


def test_crlf_line_ends_give_lf_text():
    mail = parse(b"Subject: x\r\n\r\nline one\r\nline two\r\n")
    assert mail.text == "line one\nline two"


@pytest.mark.parametrize("raw", [b"", b"\n\n", 42])
def test_nothing_to_parse_is_unparseable(raw):
    with pytest.raises(UnparseableMail):
        parse(raw)


HOSTILE = {
    "deep multipart": b"Subject: x\n" + b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i)
        for i in range(3000)) + b"\nhi\n",
    "deep forwarded mail": b"Subject: x\n" + b"Content-Type: message/rfc822\n\n" * 3000 + b"x",
    "many parts": b"Content-Type: multipart/mixed; boundary=b\n\n" + b"".join(
        b"--b\nContent-Type: text/plain\n\npart %d\n" % i for i in range(10000)),
    "endless encoded-words": b"Subject: " + b"=?utf-8?Q?a" * 100000 + b"\n\nx",
    "endless begin lines": b"Subject: x\n\n" + b"begin 644 a\n" * 100000,
    "deeply nested html": b"Content-Type: text/html\n\n" + b"<div>" * 100000,
    "binary": bytes(range(256)) * 500,
    "no headers": b"just some text\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_mail_degrades_quickly_and_never_raises(name):
    started = time.perf_counter()
    mail = parse(HOSTILE[name])
    assert time.perf_counter() - started < 3
    assert isinstance(mail.text, str)
