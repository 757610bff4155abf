"""Uuencoded files: blocks inside a text body ("begin 644 name" ... "end"), and parts sent with
Content-Transfer-Encoding: x-uuencode (sometimes without the begin and end lines)."""
import binascii
import re

from services.ingest.mail import Attachment

BEGIN = re.compile(r"^begin [0-7]{3,4} (\S.*?)\s*$")
ENCODINGS = ("x-uuencode", "uuencode", "x-uue", "uue")


def blocks(text):
    """(text without its uuencoded blocks, [Attachment]). One pass over the lines: a "begin"
    with no "end", or with lines that are not uuencode, is left as text."""
    if "begin " not in text:
        return text, []
    lines, kept, found = text.split("\n"), [], []
    index = 0
    while index < len(lines):
        match = BEGIN.match(lines[index])
        block = _block(lines, index + 1) if match else None
        if block is None:
            kept.append(lines[index])
            index += 1
            continue
        data, index = block
        found.append(Attachment(match.group(1), "application/octet-stream", data))
    return ("\n".join(kept) if found else text), found


def _block(lines, start):
    """(data, index after "end") when lines[start:] is uuencode up to an "end" line."""
    data = bytearray()
    for index in range(start, len(lines)):
        line = lines[index].rstrip()
        if line == "end":
            return bytes(data), index + 1
        if line in ("", "`"):
            continue
        decoded = _line(line)
        if decoded is None:
            return None
        data += decoded
    return None


def _line(line):
    try:
        return binascii.a2b_uu(line)
    except (binascii.Error, ValueError):  # ValueError: not even ASCII
        pass
    # Some encoders pad lines with extra characters: read as many as the first one says
    # (the repair Python's own uu module made).
    length = (((ord(line[0]) - 32) & 63) * 4 + 5) // 3
    try:
        return binascii.a2b_uu(line[:length])
    except (binascii.Error, ValueError):
        return None


def decoded_part(payload):
    """A part body sent as x-uuencode, with or without its begin/end lines."""
    data = bytearray()
    for line in payload.replace(b"\r\n", b"\n").split(b"\n"):
        line = line.rstrip()
        if not line or line == b"`" or line.startswith(b"begin ") or line == b"end":
            continue
        decoded = _line(line.decode("latin-1"))
        if decoded is not None:
            data += decoded
    return bytes(data)
