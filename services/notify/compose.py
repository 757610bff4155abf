"""One outgoing mail as a plain description, and its bytes on the wire.

The stdlib `email` package with the SMTP policy does the encoding: RFC 2047 for Cyrillic
display names and subjects, RFC 2231 for attachment names, quoted-printable or base64 bodies,
CRLF line ends. Nothing here is hand-encoded.
"""
import mimetypes
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

AUTO_GENERATED = "auto-generated"  # RFC 3834: not a reply to a person's mail
AUTO_REPLIED = "auto-replied"      # RFC 3834: an automatic answer to a mail


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
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = _address(mail.sender)
    message["To"] = [_address(party) for party in mail.to]
    if mail.cc:
        message["Cc"] = [_address(party) for party in mail.cc]
    message["Subject"] = mail.subject
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
    _set_body(message, mail)
    return message.as_bytes()


def _address(party):
    local, _, domain = party.address.rpartition("@")
    return Address(display_name=party.name or "", username=local, domain=domain)


def _now():
    return format_datetime(datetime.now(timezone.utc))


def _references(mail):
    """References ends with the mail answered, so clients that only read the last one
    (and those that ignore In-Reply-To) still thread it."""
    references = [ref for ref in mail.references if ref]
    if mail.in_reply_to and mail.in_reply_to not in references:
        references.append(mail.in_reply_to)
    return references


def _set_body(message, mail):
    message.set_content(mail.text, cte=_text_encoding(mail.text))
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
        inline = [f for f in mail.files if f.inline and f.content_id]
        html_part = message.get_payload()[1]
        for item in inline:  # cid: images belong with the HTML they appear in
            html_part.add_related(item.content, *_mime_type(item), cid=item.content_id,
                                  filename=item.filename)
    for item in mail.files:
        if mail.html and item.inline and item.content_id:
            continue
        message.add_attachment(item.content, *_mime_type(item), filename=item.filename)


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
