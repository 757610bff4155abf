"""Delivery status reports (RFC 3464 multipart/report): what bounced, where, and why."""
import email

from services.ingest.mail import DeliveryReport
from services.ingest.parsing import headers


def delivery_report(report_part):
    """A DeliveryReport from a multipart/report; report-type=delivery-status, or None."""
    if (report_part.get_param("report-type") or "").lower() != "delivery-status":
        return None
    fields, original = {}, None
    for part in report_part.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            fields = _status_fields(part)
        elif kind in ("message/rfc822", "text/rfc822-headers") and original is None:
            original = _original_message_id(part)
    recipients = tuple(_after_type(v) for v in fields.get("final-recipient", []) if v)
    return DeliveryReport(original_message_id=original,
                          action=(fields.get("action") or ["failed"])[0].strip().lower(),
                          status=(fields.get("status") or [None])[0],
                          recipients=recipients,
                          diagnostic=_after_type((fields.get("diagnostic-code") or [""])[0]))


def _status_fields(part):
    fields = {}
    blocks = part.get_payload()
    if not isinstance(blocks, list):  # not parsed into header blocks: parse the text
        text = part.get_payload(decode=True) or b""
        blocks = [email.message_from_bytes(b) for b in text.replace(b"\r\n", b"\n")
                  .split(b"\n\n")]
    for block in blocks:
        for name, value in block.items():
            fields.setdefault(name.lower(), []).append(" ".join(str(value).split()))
    return fields


def _original_message_id(part):
    payload = part.get_payload()
    if isinstance(payload, list) and payload:
        inner = payload[0]
    else:
        inner = email.message_from_bytes(part.get_payload(decode=True) or b"")
    ids = headers.message_ids(inner.get("Message-ID"))
    return ids[0] if ids else None


def _after_type(value):
    """'rfc822; anna@mail.example' -> 'anna@mail.example'."""
    return value.split(";", 1)[1].strip() if ";" in value else value.strip()
