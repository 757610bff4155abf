"""The mail parser: raw bytes in, a ParsedMail out, every text already str.

    parse(raw: bytes) -> ParsedMail      never raises, except
    UnparseableMail(reason)              when the bytes are not a mail at all (empty, binary)

Everything repaired on the way is listed in `ParsedMail.defects`, every charset decision in
`ParsedMail.charset_notes`. Parsing uses `compat32` with explicit decoding: the header registry
of `policy.default` is several times slower (bench/parse_policy.py measures it).
"""
import email.parser
import logging
import re
from collections import deque
from email import policy

from services.ingest.mail import ParsedMail
from services.ingest.parsing import addresses, bodies, charsets, headers

log = logging.getLogger(__name__)
FOLDED = re.compile(r"\r?\n(?=[ \t])")


class UnparseableMail(Exception):
    """Nothing sensible can be made of these bytes; the reason says why."""


def parse(raw):
    """The ParsedMail of one raw mail (bytes as received, any line ends)."""
    raw = _normalised(raw)
    try:
        mail = _parsed(raw)
    except Exception as error:  # a parser bug or a hostile structure: degrade, don't stop
        log.warning("mail structure could not be read (%s): headers and text only", error)
        mail = _flat(raw, f"MIME structure could not be read ({type(error).__name__}): "
                          "headers and text only")
    return _without_nul(mail)


def _without_nul(mail):
    """NUL is no text (and PostgreSQL stores no text with it): dropped from what is read."""
    if mail.subject and "\x00" in mail.subject:
        mail.subject = mail.subject.replace("\x00", "")
    if "\x00" in mail.text:
        mail.text = mail.text.replace("\x00", "")
    if mail.html and "\x00" in mail.html:
        mail.html = mail.html.replace("\x00", "")
    mail.headers = [(name.replace("\x00", ""), value.replace("\x00", ""))
                    for name, value in mail.headers]
    return mail


def _normalised(raw):
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise UnparseableMail(f"a mail is bytes, not {type(raw).__name__}")
    raw = bytes(raw)
    if not raw.strip():
        raise UnparseableMail("the mail is empty")
    if b"\x00" in raw[:4096] and raw[:4096].count(b"\x00") > 64:
        raise UnparseableMail("binary data, not a mail")
    if raw.startswith(b"From "):  # an mbox separator line, not a header
        raw = raw.partition(b"\n")[2]
    # Line ends as LF throughout: the parts then compare and hash the same however they came.
    return raw.replace(b"\r\n", b"\n")


def _parsed(raw):
    raw, repaired = headers.repair_header_block(raw)
    message = email.message_from_bytes(raw, _Part, policy=policy.compat32)
    mail = ParsedMail(headers=[])
    if repaired:
        mail.defects.append("lines in the header block that are no header were repaired")
    hints = _declared_charsets(message)
    _read_headers(message, mail, hints)
    bodies.read(message, bodies.Reading(mail, raw, hints))
    mail.defects.extend(_parser_defects(message))
    return mail


class _Part(email.message.Message):
    """compat32's part, with a folded boundary parameter unfolded (as RFC 5322 says): else
    'boundary="simple\n boundary"' never matches its delimiter lines and the parts are lost."""

    def get_boundary(self, failobj=None):
        boundary = super().get_boundary(failobj)
        return FOLDED.sub("", boundary) if isinstance(boundary, str) else boundary


def _read_headers(message, mail, hints):
    notes, defects = mail.charset_notes, mail.defects
    mail.headers = [(name, headers.decode(value, name, [], hints))
                    for name, value in message.raw_items()]
    mail.subject = headers.decode(headers.raw(message, "Subject"), "Subject", notes, hints)
    mail.from_ = addresses.sender(message, notes, defects, hints)
    for field, name in (("to", "To"), ("cc", "Cc"), ("reply_to", "Reply-To")):
        setattr(mail, field, addresses.addresses(headers.raw_all(message, name), name, notes,
                                                 defects, hints))
    ids = headers.message_ids(headers.raw(message, "Message-ID"))
    mail.message_id = ids[0] if ids else None
    replied = headers.message_ids(headers.raw(message, "In-Reply-To"))
    mail.in_reply_to = replied[-1] if replied else None
    mail.references = headers.message_ids(headers.raw(message, "References"))
    mail.date = headers.date(headers.raw(message, "Date"))


def _declared_charsets(message):
    """Every charset the mail declares, in order (its parts', then its encoded-words'): the
    hints for raw 8-bit headers, names and bodies that declare nothing themselves."""
    found = []
    words = [m.group(1) for name in ("Subject", "From", "To")
             for m in headers.ENCODED_WORD.finditer(str(headers.raw(message, name) or ""))]
    for charset in [part.get_param("charset") for part in _parts(message)] + words:
        if isinstance(charset, str) and charsets.codec(charset) is not None \
                and charset.lower() not in ("us-ascii", "ascii", *found):
            found.append(charset.lower())
    return tuple(found)


def _parts(message, limit=bodies.MAX_PARTS):
    """The parts, breadth first, at most `limit` (message.walk() recurses without end)."""
    queue, seen = deque([message]), 0
    while queue and seen < limit:
        part = queue.popleft()
        seen += 1
        yield part
        if part.is_multipart():
            queue.extend(part.get_payload())


def _parser_defects(message):
    found = {type(defect).__name__ for part in _parts(message) for defect in part.defects}
    return [f"parser: {name}" for name in sorted(found)]


def _flat(raw, reason):
    """The last resort: the header block and the rest of the bytes as plain text."""
    try:
        message = email.parser.BytesParser(policy=policy.compat32).parsebytes(
            raw, headersonly=True)
        mail = ParsedMail(headers=[], defects=[reason])
        _read_headers(message, mail, ())
        body = raw.partition(b"\n\n")[2]
        mail.text = charsets.decode(body, None, "body:1", mail.charset_notes).strip("\n")
        return mail
    except Exception as error:
        raise UnparseableMail(f"{reason}; not even the headers: {error}") from error

