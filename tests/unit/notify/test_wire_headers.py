"""Plain one-line ASCII headers skip compat32's folding (it was a sixth of what notify spent
on a mail): the bytes on the wire must be exactly what compat32 writes."""
from datetime import datetime, timezone
from email.policy import compat32

from hypothesis import given, settings
from hypothesis import strategies as st

from services.notify import compose
from services.notify.compose import _WIRE, Outgoing, Party

COMPAT32 = compat32.clone(linesep="\r\n", max_line_length=78)

HEADERS = [
    ("From", "=?utf-8?b?0J/QvtC00LTQtdGA0LbQutCw?= <support@isp.example>"),
    ("To", "anna@mail.example"), ("Date", "Tue, 24 Nov 2026 19:00:00 +0000"),
    ("Message-ID", "<hd.1001.abc@isp.example>"), ("Subject", "Re: x  y"),
    ("Subject", " leading"), ("Subject", "trailing "), ("X-Tab", "a\tb"),
    ("References", " ".join(f"<m{n}@isp.example>" for n in range(8))),
    ("X-Long", "x" * 74), ("X-Long", "x" * 75), ("X-Long", "x" * 76), ("X-Empty", ""),
    ("Content-Type", 'text/plain; charset="utf-8"'), ("X-Punct", 'a;b,c (d) "e"'),
    ("X-Line", "one\r\n two")]


def test_headers_are_written_as_compat32_writes_them():
    for name, value in HEADERS:
        assert _WIRE._fold(name, value, False) == COMPAT32._fold(name, value, False), name


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(["To", "Subject", "X-Loop", "Message-ID"]),
       st.text(alphabet=" \tab<>@.,;\"()=?-_x\r\nЯ", max_size=120))
def test_any_header_is_written_as_compat32_writes_it(name, value):
    assert _WIRE._fold(name, value, False) == COMPAT32._fold(name, value, False)


def test_a_whole_mail_is_the_same_bytes(monkeypatch):
    mail = Outgoing(kind="reply", sender=Party("support@isp.example", "Техподдержка"),
                    to=[Party("anna@mail.example", "Анна Петрова")],
                    cc=[Party("boss@mail.example")],
                    subject="Re: Не работает интернет после грозы, роутер мигает [#1001]",
                    text="Перезагрузите роутер.", message_id="<hd.1001.x@isp.example>",
                    in_reply_to="<a@mail.example>",
                    references=[f"<r{n}@mail.example>" for n in range(6)],
                    date=datetime(2026, 11, 24, 19, 0, tzinfo=timezone.utc))
    ours = compose.build(mail)
    monkeypatch.setattr(compose, "_WIRE", COMPAT32)
    assert ours == compose.build(mail)
