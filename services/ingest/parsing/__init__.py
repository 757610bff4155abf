"""The mail parser: raw bytes in, a ParsedMail out, every text already str.

`compat32` parsing with explicit decoding (bench/parse_policy.py measures it against
`policy.default`, whose header registry is several times slower); charset decisions in
`charsets`, headers in `headers`, attachments in `attachments`, bounces in `reports`.
"""
import email
from email import policy

from services.ingest.mail import ParsedMail
from services.ingest.parsing import attachments, headers, html, reports
from services.ingest.parsing.charsets import decode as decode_bytes

MAX_DEPTH = 20
MAX_PARTS = 1000


class UnparseableMail(Exception):
    """Nothing sensible can be made of these bytes; the reason says why."""


def parse(raw):
    if not isinstance(raw, (bytes, bytearray)) or not raw.strip():
        raise UnparseableMail("the mail is empty")
    raw = bytes(raw)
    if raw.startswith(b"From "):  # an mbox separator line, not a header
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    raw, repaired = headers.repair_header_block(raw)
    message = email.message_from_bytes(raw, policy=policy.compat32)
    if not message.keys() and not message.get_payload():
        raise UnparseableMail("no headers and no body: this is not a mail")
    mail = ParsedMail(headers=[], defects=["header lines without a name made continuations"]
                      if repaired else [])
    _read_headers(message, mail)
    body = _Body(headers.declared_charsets(message))
    _walk(message, "1", 0, mail, body)
    _finish_body(mail, body)
    mail.defects.extend(sorted({type(d).__name__ for d in _defects(message)}))
    return mail


def _read_headers(message, mail):
    notes, hint = mail.charset_notes, headers.declared_charsets(message)
    mail.headers = [(name, headers.decode(value, name, [], hint))
                    for name, value in message.raw_items()]
    mail.subject = headers.decode(headers.raw(message, "Subject"), "Subject", notes, hint)
    senders = headers.addresses(headers.raw_all(message, "From"), "From", notes, hint)
    mail.from_ = senders[0] if senders else None
    for field, name in (("to", "To"), ("cc", "Cc"), ("reply_to", "Reply-To")):
        setattr(mail, field, headers.addresses(headers.raw_all(message, name), name, notes,
                                               hint))
    ids = headers.message_ids(headers.raw(message, "Message-ID"))
    mail.message_id = ids[0] if ids else None
    replied = headers.message_ids(headers.raw(message, "In-Reply-To"))
    mail.in_reply_to = replied[-1] if replied else None
    mail.references = headers.message_ids(headers.raw(message, "References"))
    mail.date = headers.date(headers.raw(message, "Date"))


class _Body:
    def __init__(self, hint):
        self.texts, self.htmls, self.parts, self.hint = [], [], 0, hint


def _walk(part, path, depth, mail, body):
    body.parts += 1
    if depth > MAX_DEPTH or body.parts > MAX_PARTS:
        mail.defects.append(f"MIME structure too deep or too large at {path}: rest ignored")
        return
    kind = part.get_content_type()
    if kind == "multipart/report" and mail.report is None:
        mail.report = reports.delivery_report(part)
    if kind == "message/rfc822":  # compat32 calls it multipart too: it is one attachment
        mail.attachments.append(attachments.forwarded(part, path, mail.charset_notes))
    elif kind == "message/delivery-status":
        mail.attachments.append(attachments.delivery_status(part))
    elif part.is_multipart():
        for index, child in enumerate(part.get_payload(), start=1):
            _walk(child, f"{path}.{index}", depth + 1, mail, body)
    else:
        _leaf(part, path, mail, body)


def _leaf(part, path, mail, body):
    kind = part.get_content_type()
    content = part.get_payload(decode=True) or b""
    named = bool(attachments.filename(part, path, [], body.hint))
    if kind in ("text/plain", "text/html") and part.get_content_disposition() != "attachment" \
            and not named and not (kind == "text/html" and body.htmls):
        text = decode_bytes(content, part.get_content_charset(), f"body:{path}",
                            mail.charset_notes)
        (body.texts if kind == "text/plain" else body.htmls).append(text)
        return
    found = attachments.of_part(part, path, content, mail.charset_notes, body.hint)
    mail.attachments.extend(attachments.unpacked_tnef(found) if attachments.is_tnef(found)
                            else [found])


def _finish_body(mail, body):
    if body.htmls:
        mail.html = html.sanitised("\n".join(body.htmls))
    if body.texts:
        text = "\n".join(t.strip("\n") for t in body.texts)
    elif body.htmls:
        text = html.as_text("\n".join(body.htmls))
    else:
        text = ""
    text, files = attachments.uuencoded(text.replace("\r\n", "\n").replace("\r", "\n"))
    mail.attachments.extend(files)
    mail.text = text.strip("\n")


def _defects(message):
    for part in message.walk():
        yield from part.defects
