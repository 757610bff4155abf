"""One outgoing mail as a plain description, and its bytes on the wire.

The stdlib `email` package does the encoding: RFC 2047 for Cyrillic display names and
subjects, RFC 2231 for attachment names, quoted-printable or base64 bodies, CRLF line ends.
Nothing here is hand-encoded. Its compat32 classes, not EmailMessage: the new API parsed
and refolded every header it was given, 2.3 ms an acknowledgement against 0.25 here, and
its output is the same RFC 2047 (checked by reading every mail back with ingest's parser).
"""
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import encoders
from email.charset import BASE64, QP, Charset
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import format_datetime, formataddr

AUTO_GENERATED = "auto-generated"  # RFC 3834: not a reply to a person's mail
AUTO_REPLIED = "auto-replied"      # RFC 3834: an automatic answer to a mail


class _Wire(Compat32):
    """compat32 on the wire, without its folding machinery for a header that is already
    plain ASCII on one short line (From, To, Date, Message-ID, the MIME headers: most of a
    mail's headers): folding each through a Header was a sixth of what notify spent on a
    mail, to give back the same line."""

    def _fold(self, name, value, sanitize):
        if isinstance(value, str) and value.isascii() and _PLAIN_LINE.fullmatch(value) \
                and len(name) + 2 + len(value) <= self.max_line_length:
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


_PLAIN_LINE = re.compile(r"[^\s](?:[^\s]| (?! ))*")  # no line breaks, tabs or runs of spaces
_WIRE = _Wire(linesep="\r\n", max_line_length=78)


@dataclass(frozen=True)
class Party:
    address: str
    name: str = ""


@dataclass(frozen=True)
class File:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"
    content_id: str | None = None
    inline: bool = False


@dataclass
class Outgoing:
    kind: str
    sender: Party
    to: list[Party]
    subject: str
    text: str
    message_id: str
    ticket_id: int | None = None
    ticket_message_id: int | None = None
    cc: list[Party] = field(default_factory=list)
    html: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    files: list[File] = field(default_factory=list)
    auto_submitted: str | None = None
    loop_marker: str | None = None
    date: object = None

    @property
    def recipients(self):
        return [party.address for party in [*self.to, *self.cc]]


def build(mail):
    """The mail's bytes, ready for SMTP (CRLF line ends, 7-bit safe headers)."""
    message = _body(mail)
    message["From"] = _address(mail.sender)
    message["To"] = ", ".join(_address(party) for party in mail.to)
    if mail.cc:
        message["Cc"] = ", ".join(_address(party) for party in mail.cc)
    message["Subject"] = _text_header(mail.subject, "Subject")
    message["Message-ID"] = mail.message_id
    message["Date"] = format_datetime(mail.date) if mail.date else _now()
    if mail.in_reply_to:
        message["In-Reply-To"] = mail.in_reply_to
    references = _references(mail)
    if references:
        message["References"] = " ".join(references)
    if mail.auto_submitted:
        message["Auto-Submitted"] = mail.auto_submitted
        message["X-Auto-Response-Suppress"] = "All"  # Exchange: no out-of-office back to us
    if mail.loop_marker:
        message["X-Loop"] = mail.loop_marker
    return message.as_bytes(policy=_WIRE)


def _address(party):
    local, _, domain = party.address.rpartition("@")
    if not local.isascii():  # needs SMTPUTF8, which 7-bit mail cannot carry: the relay says no
        local = Header(local, "utf-8").encode()
    return formataddr((party.name or "", f"{local}@{_ascii_domain(domain)}"), charset="utf-8")


def _ascii_domain(domain):
    try:
        return domain.encode("idna").decode("ascii")  # почта.рф: xn--80a1acny.xn--p1ai
    except UnicodeError:
        return Header(domain, "utf-8").encode()


def _text_header(value, name):
    return value if value.isascii() else Header(value, "utf-8", header_name=name)


def _now():
    return format_datetime(datetime.now(timezone.utc))


def _references(mail):
    """References ends with the mail answered, so clients that only read the last one
    (and those that ignore In-Reply-To) still thread it."""
    references = [ref for ref in mail.references if ref]
    if mail.in_reply_to and mail.in_reply_to not in references:
        references.append(mail.in_reply_to)
    return references


def _body(mail):
    """The text, with the HTML as its alternative (carrying its cid: images), and the files
    attached after it."""
    body = _text_part(mail.text, "plain")
    if mail.html:
        html = _text_part(mail.html, "html")
        inline = [f for f in mail.files if f.inline and f.content_id]
        if inline:  # cid: images belong with the HTML they appear in
            html = _multipart("related", [html, *(_file_part(f, "inline") for f in inline)])
        body = _multipart("alternative", [body, html])
    files = [f for f in mail.files if not (mail.html and f.inline and f.content_id)]
    if files:
        body = _multipart("mixed", [body, *(_file_part(f, "attachment") for f in files)])
    body["MIME-Version"] = "1.0"
    return body


def _multipart(subtype, parts):
    container = MIMEMultipart(subtype, _subparts=parts)
    del container["MIME-Version"]
    return container


def _text_part(text, subtype):
    text = text.replace("\r\n", "\n").replace("\n", "\r\n")  # the canonical line end
    utf8 = Charset("utf-8")
    utf8.body_encoding = BASE64 if _text_encoding(text) == "base64" else QP
    part = MIMEText(text, subtype, utf8)
    del part["MIME-Version"]
    return part


def _file_part(item, disposition):
    part = MIMEBase(*_mime_type(item))
    part.set_payload(item.content)
    encoders.encode_base64(part)
    filename = item.filename if item.filename.isascii() else ("utf-8", "", item.filename)
    part.add_header("Content-Disposition", disposition, filename=filename)  # RFC 2231
    if item.content_id:
        part["Content-ID"] = item.content_id
    return part


def _text_encoding(text):
    # quoted-printable keeps ASCII-heavy text readable in the raw mail; Cyrillic is far
    # shorter in base64
    non_ascii = sum(1 for char in text if ord(char) > 127)
    return "base64" if non_ascii > len(text) / 4 else "quoted-printable"


def _mime_type(item):
    maintype, _, subtype = (item.content_type or "").partition("/")
    if not subtype:
        guessed = mimetypes.guess_type(item.filename)[0] or "application/octet-stream"
        maintype, _, subtype = guessed.partition("/")
    return maintype, subtype
