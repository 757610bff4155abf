"""The parsed mail and the filters' verdict, as the payload of `tickets.ingest_messages`, and
tickets' answer for one mail of a batch."""
import base64
import re

from helpdesk.errors import HelpdeskError, InvalidInput
from helpdesk.payloads import MAX_BODY_CHARS
from services.ingest.mail import Attachment

_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
MAX_BATCH = 100  # mails handed over together: tickets takes up to 100
TRUNCATED = "\n\n[The message was longer; the full text is attached as message.txt]"


def payload(raw_mail, verdict):
    """What tickets needs to store the mail; raises InvalidInput when the mail names no
    sender we could ever answer (the mail is then quarantined with that reason)."""
    mail = verdict.mail
    name, address = sender(mail, raw_mail.envelope_sender)
    text, attachments = _body_within_limits(mail.text, mail.attachments)
    html = mail.html if mail.html is None or len(mail.html) <= MAX_BODY_CHARS else None
    return _without_nul({
        "message_id": _fits(mail.message_id), "raw_sha256": raw_mail.sha256,
        "from_address": address, "from_name": name[:200],
        "to": [a.email for a in mail.to][:100], "cc": [a.email for a in mail.cc][:100],
        "subject": mail.subject[:998], "body_text": text, "body_html": html,
        "in_reply_to": _fits(mail.in_reply_to),
        "references": [r for r in mail.references[-50:] if _fits(r)],
        "ticket_id": verdict.ticket_id, "department_id": verdict.department_id,
        "attachments": [_attachment(a) for a in attachments],
        "received_at": raw_mail.received_at.isoformat(), "raw_mail_id": raw_mail.id,
        "auto_reply": verdict.auto_reply,
        "bounce": verdict.bounce.as_dict() if verdict.bounce else None,
    })


def _without_nul(value):
    """Every text of the payload without NUL characters (a name or a file name can carry
    one; PostgreSQL stores no text with it, and the mail would never be stored)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {key: _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def sender(mail, envelope_sender):
    """(name, address) of whom to answer: From, else Reply-To, else Sender, else the
    envelope sender — the first that is a usable address."""
    candidates = [mail.from_, *mail.reply_to]
    candidates = [(a.name, a.email) for a in candidates if a is not None]
    candidates.append(("", (mail.header("Sender") or "").strip("<> ")))
    candidates.append(("", (envelope_sender or "").strip("<> ")))
    for name, address in candidates:
        if address and len(address) <= 320 and _ADDRESS.match(address):
            return name, address
    shown = mail.from_.email if mail.from_ else "(none)"
    raise InvalidInput("INVALID_SENDER", f"the mail names no usable sender address "
                       f"(From: {shown})", "from")


def _body_within_limits(text, attachments):
    if len(text) <= MAX_BODY_CHARS:
        return text, attachments
    full = Attachment("message.txt", "text/plain; charset=utf-8", text.encode("utf-8"))
    return text[:MAX_BODY_CHARS - len(TRUNCATED)] + TRUNCATED, [*attachments, full]


def _attachment(attachment):
    return {"filename": (attachment.filename or "attachment")[:500],
            "content_type": attachment.content_type[:200],
            "content_base64": base64.b64encode(attachment.content).decode("ascii"),
            "content_id": attachment.content_id[:500] if attachment.content_id else None,
            "inline": attachment.inline}


def _fits(message_id):
    """A Message-ID longer than RFC 5322's line limit is junk: use the raw sha256 instead."""
    return message_id if message_id and len(message_id) <= 998 else None


def outcomes(answers):
    """Tickets' answers about a batch: each mail's result, or its refusal as a HelpdeskError
    (the mail's own fault: ingest quarantines it with the code and message)."""
    return [_refusal(answer["error"]) if "error" in answer else answer["result"]
            for answer in answers]


def _refusal(error):
    return HelpdeskError(error["error"], error["message"], error.get("field"))
