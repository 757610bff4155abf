"""Attachments: names (RFC 2231, RFC 2047, raw 8-bit), forwarded mail, uuencoded blocks in
text, and winmail.dat (TNEF) unpacked where it can be."""
import binascii
import email
import re

from services.ingest.mail import Attachment
from services.ingest.parsing import charsets, headers

UUENCODED = re.compile(r"^begin [0-7]{3,4} ([^\r\n]+)\r?\n(.*?)^end\s*$", re.M | re.S)


def filename(part, path, notes, hint=None):
    """The part's file name, decoded, or "" when it has none."""
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        value = _with_decoded_header(part, header, path, notes, hint).get_param(param,
                                                                          header=header)
        if value is None:
            continue
        if isinstance(value, tuple):  # RFC 2231: (charset, language, percent-decoded text)
            charset, _, text = value
            data = text.encode("latin-1", "surrogateescape") if isinstance(text, str) else text
            return charsets.decode(data, charset or "utf-8", f"filename:{path}", notes)
        value = email.utils.unquote(str(value))
        return headers.decode(value, f"filename:{path}", notes, hint)
    return ""


def _with_decoded_header(part, header, path, notes, hint):
    """The part itself, or — when the header carries raw 8-bit bytes (a file name written in
    the sender's code page) — a stand-in holding that header decoded."""
    value = headers.raw(part, header)
    if value is None or headers.raw_bytes(value).isascii():
        return part
    holder = email.message.Message()
    hints = (part.get_content_charset(), *(hint or ())) if part.get_content_charset() else hint
    holder[header] = charsets.decode_with_hints(headers.raw_bytes(value), hints,
                                                f"filename:{path}", notes)
    return holder


def of_part(part, path, content, notes, hint=None):
    name = filename(part, path, notes, hint)
    content_id = (part.get("Content-ID") or "").strip().strip("<>") or None
    inline = part.get_content_disposition() == "inline" or (
        content_id is not None and part.get_content_disposition() != "attachment")
    kind = part.get_content_type()
    if not name:
        name = _invented_name(part, kind, notes)
    return Attachment(name, kind, content, content_id, inline)


def delivery_status(part):
    """The machine-readable part of a bounce, kept for the agent as a text file."""
    blocks = part.get_payload()
    if isinstance(blocks, list):
        content = "\n".join(block.as_string() for block in blocks).encode("utf-8", "replace")
    else:
        content = part.get_payload(decode=True) or b""
    name = _described(part, ".txt") or "delivery-status.txt"
    return Attachment(name, "message/delivery-status", content)


def forwarded(part, path, notes):
    """A message/rfc822 part: the mail as a .eml attachment named after its subject."""
    inner = part.get_payload()
    inner = inner[0] if isinstance(inner, list) and inner else inner
    if isinstance(inner, email.message.Message):
        content = inner.as_bytes()
        subject = headers.decode(inner.get("Subject"), f"forwarded:{path}", notes)
    else:
        content = part.get_payload(decode=True) or b""
        subject = ""
    name = filename(part, path, notes) or _described(part, ".eml") or \
        f"{_safe(subject) or 'forwarded message'}.eml"
    return Attachment(name, "message/rfc822", content)


def uuencoded(text):
    """Uuencoded files inside a text body: (text without them, [Attachment])."""
    found = []
    for match in UUENCODED.finditer(text):
        data = bytearray()
        for line in match.group(2).splitlines():
            if line.strip() in ("", "`"):
                continue
            try:
                data += binascii.a2b_uu(line)
            except binascii.Error:
                nbytes = (((ord(line[0]) - 32) & 63) * 4 + 5) // 3  # the usual broken padding
                data += binascii.a2b_uu(line[:nbytes])
        found.append(Attachment(match.group(1).strip(), "application/octet-stream", bytes(data)))
    return (UUENCODED.sub("", text).strip("\n") if found else text), found


def unpacked_tnef(attachment):
    """winmail.dat's own attachments, or [winmail.dat] when it cannot be unpacked."""
    try:
        from tnefparse import TNEF
        tnef = TNEF(attachment.content)
        files = [Attachment(item.long_filename() or item.name, "application/octet-stream",
                            item.data) for item in tnef.attachments if item.data]
    except Exception:  # a damaged or unusual TNEF: keep it as it came
        return [attachment]
    return files or [attachment]


def is_tnef(attachment):
    return attachment.content_type == "application/ms-tnef" or \
        attachment.filename.lower() == "winmail.dat"


EXTENSIONS = {"text/plain": ".txt", "text/html": ".html", "image/png": ".png",
              "image/jpeg": ".jpg", "image/gif": ".gif", "application/pdf": ".pdf",
              "text/calendar": ".ics", "message/rfc822": ".eml"}


def _invented_name(part, kind, notes):
    """A name for a nameless part: its description, else what it is ("image.jpg")."""
    extension = EXTENSIONS.get(kind, "")
    described = _described(part, extension)
    if described:
        return described
    if kind.startswith("image/"):
        return f"image{extension or '.' + kind.split('/')[1]}"
    if kind == "text/html":
        return "document.html"
    return f"file{extension}" if kind != "application/octet-stream" else "file"


def _described(part, extension):
    description = _safe(headers.decode(headers.raw(part, "Content-Description"), "description",
                                       []))
    return f"{description}{extension}" if description else ""


def _safe(subject):
    return re.sub(r"[\\/:*?\"<>|\r\n\t]+", " ", subject).strip()[:120]
