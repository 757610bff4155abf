"""The MIME tree walked once: the body pieces (plain text and HTML, in order), every file as
an attachment, and the bounce report if there is one.

A body is a list of pieces: ("text", str), ("html", str) and ("alt", plain, rich) for a
multipart/alternative, whose versions are piece lists themselves. multipart/mixed keeps every
inline text in order (a plain message with an HTML signature part is one body); alternative
keeps one plain and one HTML version; related keeps its root, the rest are its images.
"""
import dataclasses

from services.ingest.parsing import (attachments, charsets, filenames, html, reports, transfer,
                                    uuencode)
from services.ingest.parsing.layout import Layout

MAX_DEPTH = 30
MAX_PARTS = 2000
BODY_KINDS = ("text/plain", "text/html")


class Reading:
    """One mail being read: what the walk needs besides the part in hand."""

    def __init__(self, mail, raw, hints):
        self.mail, self.notes, self.defects = mail, mail.charset_notes, mail.defects
        self.layout, self.hints, self.parts, self.cut = Layout(raw), hints, 0, False


def read(message, reading):
    """Fill the mail's text, html, attachments and report from the parsed message."""
    pieces = _walk(message, "1", [], 0, reading)
    found = reading.mail.attachments
    names = filenames.unique([attachment.filename for attachment in found])
    reading.mail.attachments = [a if a.filename == name else dataclasses.replace(a, filename=name)
                                for a, name in zip(found, names)]
    reading.mail.text = _clean(as_text(pieces))
    rich = as_html(pieces)
    reading.mail.html = html.sanitised(rich) if rich is not None else None


def _walk(part, path, route, depth, reading):
    reading.parts += 1
    if depth > MAX_DEPTH or reading.parts > MAX_PARTS:
        if not reading.cut:
            reading.cut = True
            reading.defects.append(f"MIME structure too deep or too large at {path}: "
                                   "the rest is left out")
        return []
    kind = part.get_content_type()
    if kind == "message/delivery-status":
        reading.mail.attachments.append(attachments.delivery_status(part, route, reading))
        return []
    if part.get_content_maintype() == "message" and part.is_multipart():
        reading.mail.attachments.append(attachments.forwarded(part, path, route, reading))
        return []
    if not part.is_multipart():
        return _leaf(part, path, reading)
    if kind == "multipart/report" and reading.mail.report is None:
        reading.mail.report = reports.delivery_report(part)
    versions = []
    for index, (child, step) in enumerate(_children(part), start=1):
        child_path = f"{path}.{index}"
        if _is_resource(kind, index) and not child.is_multipart():
            reading.parts += 1
            reading.mail.attachments.extend(attachments.of_part(child, child_path, reading))
        else:
            versions.append(_walk(child, child_path, route + [step], depth + 1, reading))
    if kind == "multipart/alternative":
        return _alternative(versions)
    return [piece for version in versions for piece in version]


def _children(part):
    children = part.get_payload()
    boundary = part.get_boundary() or ""
    return [(child, ("part", boundary, index, len(children)))
            for index, child in enumerate(children)]


def _is_resource(kind, index):
    """The parts of multipart/related after its first (the root) are what the root shows:
    images, style sheets, even HTML fragments: files, not more body."""
    return kind == "multipart/related" and index > 1


def _leaf(part, path, reading):
    kind = part.get_content_type()
    if part.get_content_maintype() == "multipart":  # its boundary never came: read as text
        reading.defects.append(f"{kind} at {path} has no parts: read as plain text")
        kind = "text/plain"
    if kind not in BODY_KINDS or part.get_content_disposition() == "attachment" or \
            part.get_param("name") or part.get_param("filename", header="content-disposition"):
        reading.mail.attachments.extend(attachments.of_part(part, path, reading))
        return []
    data = transfer.decoded(part)
    declared = part.get_content_charset()
    text = charsets.decode(data, declared, f"body:{path}", reading.notes) if declared else \
        charsets.decode_with_hints(data, reading.hints, f"body:{path}", reading.notes)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if kind == "text/html":
        return [("html", text)]
    text, files = uuencode.blocks(text)
    reading.mail.attachments.extend(files)
    return [("text", text)]


def _alternative(versions):
    """One plain version (the first that says something) and one HTML version (the last:
    alternatives go from plainest to richest)."""
    plain = next((v for v in versions if v and all(p[0] == "text" for p in v)
                  and any(p[1].strip() for p in v)), [])
    rich = next((v for v in reversed(versions) if _has_html(v)), [])
    return [("alt", plain, rich)] if plain or rich else []


def _has_html(pieces):
    return any(p[0] == "html" or (p[0] == "alt" and p[2]) for p in pieces)


def as_text(pieces):
    parts = []
    for piece in pieces:
        if piece[0] == "text":
            parts.append(piece[1].strip("\n"))
        elif piece[0] == "html":
            parts.append(html.as_text(piece[1]))
        else:
            parts.append(as_text(piece[1] if piece[1] else piece[2]))
    return "\n".join(part for part in parts if part.strip())


def as_html(pieces):
    """The HTML to show, or None when the mail has no HTML (the plain text is shown then)."""
    if not _has_html(pieces):
        return None
    parts = []
    for piece in pieces:
        if piece[0] == "html":
            parts.append(piece[1])
        elif piece[0] == "text" and piece[1].strip():
            parts.append(f"<pre>{html.escaped(piece[1])}</pre>")
        elif piece[0] == "alt":
            parts.append(as_html(piece[2]) if piece[2] else
                         f"<pre>{html.escaped(as_text(piece[1]))}</pre>")
    return "\n".join(parts)


def _clean(text):
    """No carriage returns, no blank lines at either end, no run of more than two blank lines
    (some senders pad with hundreds)."""
    lines, blank = [], 0
    for line in text.split("\n"):
        blank = blank + 1 if not line.strip() else 0
        if blank <= 2:
            lines.append(line if line.strip() else "")
    return "\n".join(lines).strip("\n")
