"""The listener reads plain MAIL FROM and RCPT TO addresses itself (aiosmtpd's parser was a
fifth of its CPU): it must read every address exactly as aiosmtpd would."""
from aiosmtpd.smtp import SMTP
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest.smtp import HelpdeskSMTP

OURS, THEIRS = HelpdeskSMTP(object()), SMTP(object())
LIMITED = HelpdeskSMTP(object()), SMTP(object())
for server in LIMITED:
    server.local_part_limit = 64  # aiosmtpd's class attribute, 0 (no limit) unless set

ARGUMENTS = [
    "<anna@mail.example>", " <anna@mail.example>", "<anna@mail.example> SIZE=100",
    "<anna@mail.example>  BODY=8BITMIME SMTPUTF8", "<anna@mail.example>\tX=1",
    "<anna@mail.example> (a comment) SIZE=1", "<anna@mail.example>  SIZE=1 (comment)",
    "<a.b.c@x.y.z>", "<o'neil+tag@isp-1.example>", "<>", "anna@mail.example",
    '<"quoted"@mail.example>', "<anna@[127.0.0.1]>", "<анна@почта.рф>", "<anna@mail.example",
    "<anna.@mail.example>", "<an..na@mail.example>", "<@route:anna@mail.example>",
    "<anna(comment)@mail.example>", "<anna@mail.example>trailing", "\x0b<anna@mail.example>",
    "", "<a@b>", "<" + "x" * 70 + "@mail.example>"]


def read(server, argument):
    """What the server makes of the argument, or the exception it raises (aiosmtpd's parser
    raises IndexError on some broken ones; the listener must not differ there either)."""
    try:
        return server._getaddr(argument)
    except Exception as error:
        return type(error)


def test_plain_and_unusual_addresses_read_as_aiosmtpd_reads_them():
    for argument in ARGUMENTS:
        assert read(OURS, argument) == read(THEIRS, argument), argument


def test_a_local_part_over_the_limit_is_refused_as_aiosmtpd_refuses_it():
    ours, theirs = LIMITED
    too_long, longest = "<" + "x" * 65 + "@mail.example>", "<" + "x" * 64 + "@mail.example>"
    assert ours._getaddr(too_long) == theirs._getaddr(too_long) == (None, None)
    assert ours._getaddr(longest) == theirs._getaddr(longest) == (longest[1:-1], "")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab.-+'@<>() \t\"[]:,;=Я", max_size=30))
def test_any_argument_reads_as_aiosmtpd_reads_it(argument):
    assert read(OURS, argument) == read(THEIRS, argument)
