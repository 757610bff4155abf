"""The parser under mangled real mail: hypothesis takes the shared corpora's mails (Zammad's,
Stalwart's malformed and RFC ones, mime4j's, CPython's) and flips, cuts, repeats and
splices their bytes, forges charset labels and boundaries. Whatever comes in, parsing ends —
within a time limit — in a parsed mail or an UnparseableMail (the quarantine's reason), never
another exception; and what it gives the rest of ingest is text, not bytes.

`bench/fuzz_parser.py` runs the same target under atheris for as long as one likes."""
import json
from datetime import timedelta
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.parsing import UnparseableMail, parse
from tests.unit.ingest.corpus import corpora

SEEDS = ("zammad/mail", "zammad/mail_newer", "stalwart/eml", "mime4j", "cpython/data")
SUFFIXES = (".box", ".eml", ".msg", ".txt")
SECONDS_PER_MAIL = 3


@lru_cache(maxsize=1)
def seed_mails():
    root = corpora()
    if root is None:
        return ()
    found = [path for folder in SEEDS for path in sorted((root / folder).rglob("*"))
             if path.suffix in SUFFIXES and path.is_file() and path.stat().st_size < 300_000]
    return tuple(path.read_bytes() for path in found)


HOSTILE = [b"\x00" * 80, b"=?utf-8?b?", b"=?koi8-r?q?=D0=", b"--", b"\r\n\r\n", b"\xff\xfe",
           b'Content-Type: multipart/mixed; boundary=""\n',
           b"Content-Type: text/plain; charset=x-unknown-\xff\n",
           b"Content-Transfer-Encoding: base64\n\n====\n", b"begin 644 a.txt\n", b"=\n" * 40,
           b"Content-Type: message/rfc822\n\n" * 30, b"\t" * 200, b"<html><body " * 50]


@st.composite
def mangled_mails(draw):
    mails = seed_mails()
    mail = bytearray(draw(st.sampled_from(mails)))
    for _ in range(draw(st.integers(0, 6))):
        if not mail:
            break
        at = draw(st.integers(0, len(mail) - 1))
        kind = draw(st.sampled_from(("flip", "insert", "cut", "repeat", "hostile", "splice")))
        if kind == "flip":
            mail[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            mail[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "cut":
            del mail[at:at + draw(st.integers(1, 4096))]
        elif kind == "repeat":
            mail[at:at] = mail[at:at + draw(st.integers(1, 512))] * draw(st.integers(2, 20))
        elif kind == "hostile":
            mail[at:at] = draw(st.sampled_from(HOSTILE))
        else:  # a piece of another mail: headers and parts that do not belong together
            other = draw(st.sampled_from(mails))
            start = draw(st.integers(0, max(0, len(other) - 1)))
            mail[at:at] = other[start:start + draw(st.integers(1, 2048))]
    return bytes(mail)


@pytest.mark.skipif(corpora() is None, reason="the shared corpora are not at ../shared/corpora")
@settings(max_examples=300, deadline=timedelta(seconds=SECONDS_PER_MAIL), database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(raw=mangled_mails())
def test_no_mangled_mail_breaks_or_stalls_the_parser(raw):
    try:
        mail = parse(raw)
    except UnparseableMail as reason:
        assert str(reason)  # the quarantine keeps why
        return
    assert isinstance(mail.subject, str) and isinstance(mail.text, str)
    assert mail.html is None or isinstance(mail.html, str)
    assert all(isinstance(value, str) for _, value in mail.headers)
    texts = [mail.subject, mail.text, mail.html or "", *(value for _, value in mail.headers)]
    assert not any("\x00" in text for text in texts)  # PostgreSQL stores no NUL in text
    for attachment in mail.attachments:
        assert isinstance(attachment.filename, str) and isinstance(attachment.content, bytes)
    json.dumps(mail.as_dict())  # what `helpdesk parse-mail` prints and hand-over builds on


def test_the_seeds_are_there():
    if corpora() is None:
        pytest.skip("the shared corpora are not at ../shared/corpora")
    assert len(seed_mails()) > 300
