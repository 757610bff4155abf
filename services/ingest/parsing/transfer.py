"""Content-Transfer-Encodings undone, leniently: a part's bytes as the sender meant them."""
import base64
import binascii
import re

from services.ingest.parsing import uuencode

NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")


def base64_bytes(data):
    """Base64 with line breaks, junk, missing padding or one character too many (the last
    group then cannot be decoded and is dropped, as other mail readers do)."""
    data = NOT_BASE64.sub(b"", data)
    if len(data) % 4 == 1:
        data = data[:-1]
    try:
        return base64.b64decode(data + b"=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return b""


def decoded(part):
    """The bytes of a leaf part with its transfer encoding undone (charset untouched)."""
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if encoding == "base64":
        return base64_bytes(sent(part))
    if encoding == "quoted-printable":
        # A hard line break stands for CRLF (RFC 2045): binary sent this way needs it back,
        # as the mail's line ends were made LF before parsing.
        return binascii.a2b_qp(sent(part).replace(b"\n", b"\r\n"))
    if encoding in uuencode.ENCODINGS:
        return uuencode.decoded_part(sent(part))
    return sent(part)  # 7bit, 8bit, binary, or an encoding nobody knows: as sent


def sent(part):
    """The part's body as it was sent. compat32 keeps it as read, 8-bit bytes as surrogates;
    get_payload() would decode those with the part's charset (or fail on a strange one)."""
    payload = part._payload
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    return b""
