"""Delivery status reports (RFC 3464 multipart/report): what bounced, where, and why."""
import email.parser
from email import policy

from services.ingest.mail import DeliveryReport
from services.ingest.parsing import headers, transfer

ORIGINAL_KINDS = ("message/rfc822", "text/rfc822-headers", "message/global",
                  "message/global-headers")


def delivery_report(report_part):
    """A DeliveryReport from a multipart/report with report-type=delivery-status, or None.
    The report's own parts are its direct children (RFC 3462): nothing deeper is searched."""
    if str(report_part.get_param("report-type") or "").lower() != "delivery-status":
        return None
    fields, original = {}, None
    for part in report_part.get_payload():
        kind = part.get_content_type()
        if kind in ("message/delivery-status", "message/global-delivery-status") and not fields:
            fields = _status_fields(part)
        elif kind in ORIGINAL_KINDS and original is None:
            original = _original_message_id(part)
    recipients = tuple(_after_type(v) for v in fields.get("final-recipient", []) if v)
    return DeliveryReport(original_message_id=original,
                          action=(fields.get("action") or ["failed"])[0].strip().lower(),
                          status=(fields.get("status") or [None])[0],
                          recipients=recipients,
                          diagnostic=_after_type((fields.get("diagnostic-code") or [""])[0]))


def _status_fields(part):
    """Every field of every block (per-message, then per-recipient), in order."""
    blocks = part.get_payload()
    if not isinstance(blocks, list):  # not parsed into header blocks: parse the text
        text = transfer.decoded(part).replace(b"\r\n", b"\n")
        blocks = [_headers_of(block) for block in text.split(b"\n\n")]
    fields = {}
    for block in blocks:
        for name, value in block.raw_items():
            fields.setdefault(name.lower(), []).append(" ".join(str(value).split()))
    return fields


def _original_message_id(part):
    payload = part.get_payload()
    if isinstance(payload, list) and payload:
        inner = payload[0]
    else:
        inner = _headers_of(transfer.decoded(part))
    ids = headers.message_ids(headers.raw(inner, "Message-ID"))
    return ids[0] if ids else None


def _headers_of(data):
    return email.parser.BytesParser(policy=policy.compat32).parsebytes(data, headersonly=True)


def _after_type(value):
    """'rfc822; anna@mail.example' -> 'anna@mail.example'."""
    return value.split(";", 1)[1].strip() if ";" in value else value.strip()
