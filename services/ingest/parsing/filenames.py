"""Attachment file names: as the sender wrote them (RFC 2231, RFC 2047, raw 8-bit bytes), or
made up for a nameless part, and made unique within one mail."""
import email.message
import re

from services.ingest.parsing import charsets, headers

EXTENSIONS = {"text/plain": "txt", "text/html": "html", "text/calendar": "ics",
              "text/csv": "csv", "image/jpeg": "jpg", "image/jpg": "jpg", "image/pjpeg": "jpg",
              "image/png": "png", "image/gif": "gif", "image/bmp": "bmp", "image/tiff": "tif",
              "application/pdf": "pdf", "video/quicktime": "mov", "video/mp4": "mp4",
              "audio/mpeg": "mp3", "message/rfc822": "eml",
              "message/delivery-status": "txt", "application/zip": "zip"}
# What a nameless part is called, by its kind: "image.jpg", "document.html".
CALLED = {"image": "image", "video": "video", "audio": "audio", "text/html": "document",
          "application/pdf": "document", "text/calendar": "invite"}
CONTENT_ID_FILE = re.compile(r"^<?([^@<>]+?\.[A-Za-z0-9]{2,6})@")
UNSAFE = re.compile(r"[\x00-\x1f\x7f]+")
PATH = re.compile(r"[\\/]")


def written(part, path, notes, hints=()):
    """The name the sender gave the part, decoded, or "" when it has none."""
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        value = headers.raw(part, header)
        if value is None:
            continue
        holder = _decoded_holder(part, header, value, path, notes, hints)
        found = _rfc2231(holder, header, param, path, notes)
        if found is None:
            plain = holder.get_param(param, header=header)
            found = headers.decode(email.utils.collapse_rfc2231_value(plain), f"filename:{path}",
                                   notes, hints) if plain is not None else None
        if found and found.strip():
            return _safe(found)
    return ""


def _decoded_holder(part, header, value, path, notes, hints):
    """The part itself or — when the header holds raw 8-bit bytes (a name written in the
    sender's code page) — a stand-in holding that header already decoded."""
    data = headers.raw_bytes(value)
    if data.isascii():
        return part
    holder = email.message.Message()
    own = part.get_param("charset")
    hints = (own, *hints) if isinstance(own, str) else hints
    holder[header] = charsets.decode_with_hints(data, hints, f"filename:{path}", notes)
    return holder


def _rfc2231(part, header, param, path, notes):
    """An RFC 2231 name (filename*=, filename*0*=, filename*1=...), decoded from its declared
    charset (also a wrong one), or None when the parameter is not written that way.
    compat32 joins the pieces and undoes the %XX into a latin-1 str; it would then decode
    with the declared charset blindly, so the bytes are taken back and decoded here."""
    for key, value in part.get_params(header=header, unquote=False) or ():
        if key.strip().lower() == param and isinstance(value, tuple):
            charset, _, text = value
            data = text.encode("latin-1", "surrogateescape") if isinstance(text, str) \
                else bytes(text)
            return charsets.decode(data.strip(b'"'), charset or None, f"filename:{path}",
                                   notes)
    return None


def invented(part, kind):
    """A name for a nameless part: the file name its Content-ID carries, or what it is."""
    content_id = part.get("Content-ID")
    found = CONTENT_ID_FILE.match(str(content_id).strip()) if content_id else None
    if found:
        return _safe(found.group(1))
    extension = EXTENSIONS.get(kind)
    called = CALLED.get(kind) or CALLED.get(kind.split("/")[0])
    if called and extension:
        return f"{called}.{extension}"
    if content_id and str(content_id).strip("<> ").split("@")[0]:
        return _safe(str(content_id).strip("<> ").split("@")[0])
    return f"file.{extension}" if extension else "file"


def described(part, extension):
    """The part's Content-Description as a file name, or ""."""
    text = headers.decode(headers.raw(part, "Content-Description"), "description", [])
    return f"{_safe(text)}.{extension}" if _safe(text) else ""


def subject_file(subject, extension="eml"):
    return f"{_safe(subject)}.{extension}" if _safe(subject) else ""


def unique(names):
    """The names with duplicates numbered ("image.jpg", "image1.jpg"): one mail's files are
    downloaded into one folder. The number goes before the first dot, so "a.tar.gz" becomes
    "a1.tar.gz"."""
    seen, result = set(), []
    for name in names:
        stem, dot, rest = name.partition(".")
        candidate, number = name, 0
        while candidate in seen:
            number += 1
            candidate = f"{stem}{number}{dot}{rest}"
        seen.add(candidate)
        result.append(candidate)
    return result


def _safe(name):
    """The last part of a path ("/tmp/x.ps" is "x.ps": where the file lay on the sender's
    disk is not its name, and a path must never reach a disk here); no control characters."""
    name = next((piece for piece in reversed(PATH.split(name)) if piece.strip()), "")
    return UNSAFE.sub(" ", name).strip()[:255]
