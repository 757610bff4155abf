"""What the parser makes of one raw mail: every text already `str`, every charset resolved.

This is the one shape shared by the parser (which builds it), the filters (which read it and
decide) and the hand-over to `tickets.ingest_messages`. Nothing here touches a database.
"""
import hashlib
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Address:
    name: str
    email: str

    def as_dict(self):
        return {"name": self.name, "email": self.email}


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes = field(repr=False)
    content_id: str | None = None
    inline: bool = False

    @property
    def size(self):
        return len(self.content)

    @property
    def md5(self):
        return hashlib.md5(self.content).hexdigest()

    def as_dict(self):
        return {"filename": self.filename, "content_type": self.content_type, "size": self.size,
                "md5": self.md5, "content_id": self.content_id, "inline": self.inline}


@dataclass(frozen=True)
class CharsetNote:
    """How one piece of text was decoded: for "why does this mail look wrong?"."""
    part: str            # "header:Subject", "body:1.2", "filename:1.3" ...
    declared: str | None  # what the mail said (None when it said nothing)
    used: str            # what we decoded with
    detected: bool       # True when `used` came from detection, not from the declaration

    def as_dict(self):
        return {"part": self.part, "declared": self.declared, "used": self.used,
                "detected": self.detected}


@dataclass(frozen=True)
class DeliveryReport:
    """A bounce (RFC 3464 multipart/report, or a recognisable non-standard one)."""
    original_message_id: str | None
    action: str                  # "failed", "delayed", ...
    status: str | None           # "5.1.1"
    recipients: tuple[str, ...]
    diagnostic: str = ""

    def as_dict(self):
        return {"original_message_id": self.original_message_id, "action": self.action,
                "status": self.status, "recipients": list(self.recipients),
                "diagnostic": self.diagnostic}


@dataclass
class ParsedMail:
    headers: list[tuple[str, str]]          # every header, decoded, in order (name as written)
    subject: str = ""
    from_: Address | None = None
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    message_id: str | None = None           # with its angle brackets, as written: "<a@b>"
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    date: datetime | None = None            # timezone-aware
    text: str = ""                          # the plain body (HTML converted when it is the only one)
    html: str | None = None                 # sanitised (nh3), for display
    attachments: list[Attachment] = field(default_factory=list)
    charset_notes: list[CharsetNote] = field(default_factory=list)
    report: DeliveryReport | None = None
    defects: list[str] = field(default_factory=list)  # what was broken and repaired

    def header(self, name):
        """The first value of header `name` (case-insensitive), or None."""
        name = name.lower()
        return next((value for key, value in self.headers if key.lower() == name), None)

    def header_all(self, name):
        name = name.lower()
        return [value for key, value in self.headers if key.lower() == name]

    def as_dict(self):
        """The JSON that `helpdesk parse-mail` prints (flags are added by the pipeline)."""
        return {
            "subject": self.subject,
            "from": self.from_.as_dict() if self.from_ else None,
            "to": [a.as_dict() for a in self.to],
            "cc": [a.as_dict() for a in self.cc],
            "reply_to": [a.as_dict() for a in self.reply_to],
            "message_id": self.message_id,
            "in_reply_to": self.in_reply_to,
            "references": self.references,
            "date": self.date.isoformat() if self.date else None,
            "text": self.text,
            "html": self.html,
            "attachments": [a.as_dict() for a in self.attachments],
            "charset_notes": [n.as_dict() for n in self.charset_notes],
            "report": self.report.as_dict() if self.report else None,
            "defects": self.defects,
        }
