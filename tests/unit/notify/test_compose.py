"""Outgoing mail as bytes: parsed back by the help desk's own mail parser (what a customer's
answer goes through) and by the stdlib, Cyrillic and threading intact."""
from email import message_from_bytes, policy

from services.ingest.parsing import parse
from services.notify.compose import AUTO_REPLIED, File, Outgoing, Party, build

REPLY = Outgoing(
    kind="reply", sender=Party("support@isp.example", "Ольга Смирнова via Техподдержка"),
    to=[Party("anna@mail.example", "Анна Иванова")], cc=[Party("boss@mail.example")],
    subject="Re: Не работает интернет в квартире после грозы [#1042]",
    text="Здравствуйте! Перезагрузите роутер.\n\n-- \nТехподдержка\n",
    html="<p>Здравствуйте! <b>Перезагрузите</b> роутер.</p>",
    message_id="<hd.1042.abc123@isp.example>", in_reply_to="<q2@mail.example>",
    references=["<q1@mail.example>", "<hd.1042.first@isp.example>"],
    files=[File("Счёт за март 2026.pdf", b"%PDF-1.4 x", "application/pdf")],
    loop_marker="helpdesk")


def test_the_help_desks_own_parser_reads_back_every_header_and_part():
    raw = build(REPLY)
    assert raw.isascii()  # 7-bit: every relay takes it
    mail = parse(raw)
    assert mail.subject == REPLY.subject
    assert (mail.from_.name, mail.from_.email) == ("Ольга Смирнова via Техподдержка",
                                                   "support@isp.example")
    assert [(a.name, a.email) for a in mail.to] == [("Анна Иванова", "anna@mail.example")]
    assert [a.email for a in mail.cc] == ["boss@mail.example"]
    assert mail.text.replace("\r\n", "\n").rstrip() == REPLY.text.rstrip()
    assert "<b>Перезагрузите</b>" in mail.html
    assert [(a.filename, a.content) for a in mail.attachments] == [
        ("Счёт за март 2026.pdf", b"%PDF-1.4 x")]
    assert mail.message_id == "<hd.1042.abc123@isp.example>"
    assert mail.in_reply_to == "<q2@mail.example>"


def test_references_end_with_the_mail_answered():
    mail = message_from_bytes(build(REPLY), policy=policy.default)
    assert mail["References"].split() == ["<q1@mail.example>", "<hd.1042.first@isp.example>",
                                          "<q2@mail.example>"]
    assert mail["X-Loop"] == "helpdesk"
    assert mail.get_content_type() == "multipart/mixed"
    assert mail.get_body(("html",)) is not None and mail.get_body(("plain",)) is not None


def test_an_automatic_mail_says_so_and_asks_exchange_not_to_answer_it():
    notice = Outgoing(kind="auto_ack", sender=Party("support@isp.example", "Support"),
                      to=[Party("anna@mail.example")], subject="Received [#1]", text="Hello",
                      message_id="<hd.1.x@isp.example>", auto_submitted=AUTO_REPLIED)
    mail = message_from_bytes(build(notice), policy=policy.default)
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["X-Auto-Response-Suppress"] == "All"
    assert mail.get_content_type() == "text/plain"
    assert "In-Reply-To" not in mail and "References" not in mail


def test_inline_images_travel_with_the_html_they_appear_in():
    image = File("logo.png", b"\x89PNG...", "image/png", content_id="<logo@isp>", inline=True)
    mail = message_from_bytes(build(Outgoing(
        kind="reply", sender=Party("s@isp.example"), to=[Party("a@mail.example")],
        subject="Hi", text="Hi", html='<img src="cid:logo@isp">', message_id="<m@isp.example>",
        files=[image])), policy=policy.default)
    related = mail.get_body(("related",))
    assert related is not None
    assert [part.get_content_type() for part in related.iter_parts()] == ["text/html",
                                                                          "image/png"]
    assert list(mail.iter_attachments()) == []


def test_a_cyrillic_domain_goes_out_in_its_ascii_form():
    raw = build(Outgoing(kind="reply", sender=Party("support@isp.example"),
                         to=[Party("anna@почта.рф", "Анна")], subject="Тема", text="Текст",
                         message_id="<m@isp.example>"))
    assert raw.isascii()
    assert [(a.name, a.email) for a in parse(raw).to] == [("Анна", "anna@xn--80a1acny.xn--p1ai")]


def test_an_acknowledgement_is_one_text_part_with_its_lines_ending_in_crlf():
    raw = build(Outgoing(kind="auto_ack", sender=Party("support@isp.example", "Поддержка"),
                         to=[Party("anna@mail.example")], subject="Обращение принято [#7]",
                         text="Здравствуйте!\nМы ответим скоро.\n",
                         message_id="<hd.7.x@isp.example>", auto_submitted=AUTO_REPLIED))
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail.get_content_type() == "text/plain" and mail["MIME-Version"] == "1.0"
    assert mail["Subject"] == "Обращение принято [#7]"
    assert mail.get_payload(decode=True).decode() == "Здравствуйте!\r\nМы ответим скоро.\r\n"
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))
