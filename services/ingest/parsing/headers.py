"""Header values to str: RFC 2047 encoded-words (also split mid-character, also malformed) and
raw 8-bit bytes; Message-IDs and dates.

`email.header.decode_header` is not used: it leaves text between words undecoded, keeps the
space between adjacent words in some cases, and gives up on an unknown charset.
"""
import quopri
import re
from datetime import timezone
from email.utils import parsedate_to_datetime

from services.ingest.parsing import charsets, transfer

# Lenient on purpose: spaces inside a word, a missing "?=" (the word then ends where the next
# one starts, or at the end), lower-case b/q. Bounded charset: no backtracking blow-up.
ENCODED_WORD = re.compile(
    r"=\?([^?\s]{1,40})\?([BbQq])\?((?:(?!=\?[^?\s]{1,40}\?[BbQq]\?).)*?)"
    r"(?:\?=|(?==\?[^?\s]{1,40}\?[BbQq]\?)|$)",
    re.DOTALL)
BLANK = re.compile(r"[ \t\r\n]*")
FOLDING = re.compile(r"\r?\n(?=[ \t])")
LINE_BREAKS = re.compile(r"[\r\n\x00]+")
RAW_BYTE = re.compile("[\udc80-\udcff]")  # an 8-bit byte, as compat32 keeps it in a str
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
HEADER_LINE = re.compile(rb"^[!-9;-~]+:|^[ \t]")
NAMED_HEADER = re.compile(rb"^[!-9;-~]+:")
MAX_VALUE = 64 * 1024  # longer header values are cut: nothing legitimate needs more


def raw(message, name):
    """A header's value as read (8-bit bytes kept as surrogates), not compat32's sanitised
    copy, which turns them into U+FFFD before we could decode them."""
    name = name.lower()
    return next((v for k, v in message.raw_items() if k.lower() == name), None)


def raw_all(message, name):
    name = name.lower()
    return [v for k, v in message.raw_items() if k.lower() == name]


def raw_bytes(value):
    """The bytes of a header value as compat32 read it (8-bit bytes as surrogates)."""
    return str(value).encode("utf-8", "surrogateescape")


def repair_header_block(raw_mail):
    """Lines in the header block that are neither a header nor a continuation (a broken
    client's unfolded base64, an unindented parameter) are made continuations, so the headers
    after them survive. Returns (bytes, repaired?)."""
    if not HEADER_LINE.match(raw_mail) or raw_mail.startswith((b" ", b"\t")):
        first, _, rest = raw_mail.partition(b"\n")
        if NAMED_HEADER.match(rest):  # a line of junk ("---- Original message ----") on top
            return repair_header_block(rest)[0], True
        return b"\n" + raw_mail, True  # no header block at all: all of it is the body
    head, separator, body = raw_mail.partition(b"\n\n")
    lines = head.split(b"\n")
    if all(HEADER_LINE.match(line) for line in lines):
        return raw_mail, False
    fixed = [line if HEADER_LINE.match(line) else b" " + line for line in lines]
    return b"\n".join(fixed) + separator + body, True


def decode(value, name, notes, hints=()):
    """One header value as one line of text. `hints`: the charsets the mail declares, tried
    for raw 8-bit bytes (a client writes its headers in its own charset too)."""
    if value is None:
        return ""
    text = FOLDING.sub("", str(value)[:MAX_VALUE])
    if "=?" not in text and text.isascii():
        return LINE_BREAKS.sub(" ", text).strip()
    decoded = "".join(_decoded(piece, name, notes, hints) for piece in _merged(_pieces(text)))
    return LINE_BREAKS.sub(" ", decoded).strip()


def _pieces(text):
    """("text", str) and ("word", charset, bytes) in order; blanks between words dropped."""
    pieces, position = [], 0
    for match in ENCODED_WORD.finditer(text):
        between = text[position:match.start()]
        if between and not (pieces and pieces[-1][0] == "word" and BLANK.fullmatch(between)):
            pieces.append(("text", between))
        pieces.append(("word", match.group(1).split("*", 1)[0],
                       _word_bytes(match.group(2), match.group(3))))
        position = match.end()
    if position < len(text):
        pieces.append(("text", text[position:]))
    return pieces


def _word_bytes(encoding, payload):
    payload = payload.encode("utf-8", "surrogateescape")
    if encoding in "Bb":
        return transfer.base64_bytes(payload)
    return quopri.decodestring(payload.replace(b"_", b" "), header=False)


def _merged(pieces):
    """Adjacent encoded-words in one charset joined as bytes before decoding: a character
    split across two words (common with UTF-8 Cyrillic) then decodes whole."""
    merged = []
    for piece in pieces:
        if merged and piece[0] == "word" and merged[-1][0] == "word" and \
                merged[-1][1].lower() == piece[1].lower():
            merged[-1] = ("word", piece[1], merged[-1][2] + piece[2])
        else:
            merged.append(piece)
    return merged


def _decoded(piece, name, notes, hints):
    if piece[0] == "word":
        return charsets.decode(piece[2], piece[1], f"header:{name}", notes)
    if not RAW_BYTE.search(piece[1]):
        return piece[1]  # ASCII, or text that is already decoded
    return charsets.decode_with_hints(raw_bytes(piece[1]), hints, f"header:{name}", notes)


def message_ids(value):
    """Every <id> in a header (References, In-Reply-To), in order, brackets kept."""
    if not value:
        return []
    text = FOLDING.sub("", str(value)[:MAX_VALUE])
    ids = MESSAGE_ID.findall(text)
    if not ids and text.strip() and " " not in text.strip():
        ids = [f"<{text.strip().strip('<>')}>"]  # an id written without its brackets
    return ids


def date(value):
    """A timezone-aware datetime, or None when the Date header cannot be read."""
    try:
        parsed = parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)  # "-0000": the time is UTC, zone unknown
    return parsed
