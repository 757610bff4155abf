"""The parts that are files: their bytes, names and kinds; forwarded mail kept as written
(.eml); a bounce's delivery status; winmail.dat unpacked where it can be."""
import binascii
import email.parser
from email import policy

from services.ingest.mail import Attachment
from services.ingest.parsing import filenames, headers, transfer

TNEF_KINDS = ("application/ms-tnef", "application/vnd.ms-tnef")
MAX_TNEF_BYTES = 32 * 1024 * 1024


def of_part(part, path, reading):
    """A leaf part as attachments: one, or the files inside a winmail.dat."""
    kind = part.get_content_type()
    name = filenames.written(part, path, reading.notes, reading.hints) or \
        filenames.invented(part, kind)
    content_id = (str(part.get("Content-ID") or "").strip().strip("<>").strip()) or None
    disposition = part.get_content_disposition()
    inline = disposition == "inline" or (content_id is not None and disposition != "attachment")
    found = Attachment(name, kind, transfer.decoded(part), content_id, inline)
    if kind in TNEF_KINDS or name.lower() == "winmail.dat":
        return unpacked_tnef(found, reading.defects)
    return [found]


def forwarded(part, path, route, reading):
    """A message/rfc822 part: the mail inside, byte for byte, named after its subject."""
    data = reading.layout.body(route)
    if data is None:
        data = _written_out(part)
    else:  # base64 or quoted-printable are not allowed for message/rfc822, but are sent
        encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
        data = transfer.base64_bytes(data) if encoding == "base64" else \
            binascii.a2b_qp(data) if encoding == "quoted-printable" else data
    inner = email.parser.BytesParser(policy=policy.compat32).parsebytes(
        data[:256 * 1024], headersonly=True)
    subject = headers.decode(headers.raw(inner, "Subject"), f"forwarded:{path}", reading.notes,
                             reading.hints)
    name = filenames.written(part, path, reading.notes, reading.hints) or \
        filenames.subject_file(subject) or filenames.described(part, "eml") or "message.eml"
    return Attachment(name, "message/rfc822", data)


def delivery_status(part, route, reading):
    """The machine-readable part of a bounce, kept as written, for the agent."""
    data = reading.layout.body(route)
    if data is None:
        blocks = part.get_payload()
        data = "\n".join(block.as_string() for block in blocks).encode("utf-8", "replace") \
            if isinstance(blocks, list) else transfer.sent(part)
    name = filenames.written(part, "", reading.notes, reading.hints) or \
        filenames.described(part, "txt") or "delivery-status.txt"
    return Attachment(name, "message/delivery-status", data)


def unpacked_tnef(attachment, defects):
    """winmail.dat's own files, or winmail.dat itself when they cannot be taken out."""
    if attachment.size > MAX_TNEF_BYTES:
        return [attachment]
    try:
        from tnefparse import TNEF
        tnef = TNEF(attachment.content)
        files = [Attachment(filenames.UNSAFE.sub(" ", item.long_filename() or item.name or
                                                 "file").strip() or "file",
                            "application/octet-stream", item.data)
                 for item in tnef.attachments if item.data]
    except Exception as error:  # tnefparse on a damaged or unusual file: keep it as it came
        defects.append(f"winmail.dat could not be unpacked ({type(error).__name__}): kept")
        return [attachment]
    return files or [attachment]


def _written_out(part):
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    try:
        return inner.as_bytes() if inner is not None else transfer.sent(part)
    except Exception:  # compat32 cannot write out every broken mail it read: keep nothing
        return b""
