"""Header values to str: RFC 2047 encoded-words (also split mid-character, also malformed),
raw 8-bit bytes, addresses, Message-IDs and dates."""
import base64
import binascii
import quopri
import re
from datetime import timezone
from email.utils import getaddresses, parsedate_to_datetime

from services.ingest.mail import Address
from services.ingest.parsing import charsets

# Lenient on purpose: spaces inside a word, a missing "?=" at the very end, lower-case b/q.
ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([BbQq])\?(.*?)(?:\?=|$)", re.DOTALL)
BETWEEN_WORDS = re.compile(r"^[ \t\r\n]*$")
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
FOLDING = re.compile(r"\r?\n(?=[ \t])")


def raw(message, name):
    """A header's value as read (8-bit bytes kept as surrogates), not compat32's sanitised
    copy, which turns them into U+FFFD before we could decode them."""
    name = name.lower()
    return next((v for k, v in message.raw_items() if k.lower() == name), None)


def raw_all(message, name):
    name = name.lower()
    return [v for k, v in message.raw_items() if k.lower() == name]


def declared_charsets(message):
    """Every charset the mail declares, in order: the hints for raw 8-bit headers."""
    found = []
    for part in message.walk():
        charset = part.get_content_charset()
        if charset and charset not in ("us-ascii", "ascii") and charset not in found:
            found.append(charset)
    return tuple(found)


HEADER_LINE = re.compile(rb"^[!-9;-~]+:|^[ \t]")


def repair_header_block(raw):
    """Lines in the header block that are neither a header nor a continuation (a broken
    client's unfolded base64) are made continuations, so the headers after them survive."""
    head, separator, body = raw.partition(b"\n\n") if b"\r\n\r\n" not in raw[:65536] \
        else raw.partition(b"\r\n\r\n")
    lines = head.split(b"\n")
    if all(HEADER_LINE.match(line) or not line.strip() for line in lines):
        return raw, False
    fixed = [line if HEADER_LINE.match(line) or not line.strip() else b" " + line
             for line in lines]
    return b"\n".join(fixed) + separator + body, True


def raw_bytes(value):
    """The bytes of a header value as compat32 read it (8-bit bytes as surrogates)."""
    return str(value).encode("ascii", "surrogateescape")


def decode(value, name, notes, hint=None):
    """One header value as text; `hint` is the charset to try first for raw 8-bit bytes
    (the mail's own declared charset: a client writes its headers in it too)."""
    if value is None:
        return ""
    text = FOLDING.sub("", str(value))
    pieces = _pieces(text)
    return "".join(_decoded(piece, name, notes, hint) for piece in _merged(pieces)).strip()


def _pieces(text):
    """("text", str) and ("word", charset, bytes) in order; blanks between words dropped."""
    pieces, position = [], 0
    for match in ENCODED_WORD.finditer(text):
        between = text[position:match.start()]
        if between and not (pieces and pieces[-1][0] == "word" and BETWEEN_WORDS.match(between)):
            pieces.append(("text", between))
        pieces.append(("word", match.group(1), _word_bytes(match.group(2), match.group(3))))
        position = match.end()
    if position < len(text):
        pieces.append(("text", text[position:]))
    return pieces


def _word_bytes(encoding, payload):
    if encoding in "Bb":
        payload = re.sub(r"[^A-Za-z0-9+/]", "", payload)
        payload += "=" * (-len(payload) % 4)
        try:
            return base64.b64decode(payload)
        except binascii.Error:
            return base64.b64decode(payload[:len(payload) // 4 * 4] or b"")
    return quopri.decodestring(payload.replace("_", " ").encode("ascii", "surrogateescape"),
                               header=False)


def _merged(pieces):
    """Adjacent encoded-words in one charset joined as bytes: a character split across two
    words (common with UTF-8 Cyrillic) decodes whole."""
    merged = []
    for piece in pieces:
        if merged and piece[0] == "word" and merged[-1][0] == "word" and \
                merged[-1][1].lower() == piece[1].lower():
            merged[-1] = ("word", piece[1], merged[-1][2] + piece[2])
        else:
            merged.append(piece)
    return merged


def _decoded(piece, name, notes, hint):
    if piece[0] == "word":
        return charsets.decode(piece[2], piece[1], f"header:{name}", notes)
    if not any("\udc80" <= c <= "\udcff" for c in piece[1]):
        return piece[1]  # plain ASCII, or text that is already decoded
    return charsets.decode_with_hints(raw_bytes(piece[1]), hint, f"header:{name}", notes)


def addresses(values, name, notes, hint=None):
    """Address list headers as Address(name, email), names decoded. Encoded-words are set
    aside while the list is split, as they may hold commas ("=?..?Q?Smith,=20Anna?=")."""
    found, words = [], []

    def set_aside(match):
        words.append(match.group(0))
        return f"\x00{len(words) - 1}\x00"

    def restored(text):
        return re.sub("\x00(\\d+)\x00", lambda m: words[int(m.group(1))], text)

    values = [ENCODED_WORD.sub(set_aside, FOLDING.sub("", str(v))) for v in values if v]
    for display, email in getaddresses(values):
        email = decode(restored(email), name, notes, hint).strip().strip("<>")
        display = decode(restored(display), name, notes, hint).strip().strip('"').strip()
        if "@" not in email and "@" in display and " " not in display:
            display, email = email, display  # "Name (anna@mail.example)": the comment form
        if email or display:
            found.append(Address(display, email))
    return found


def message_ids(value):
    """Every <id> in a header (References, In-Reply-To), in order."""
    if not value:
        return []
    text = FOLDING.sub("", str(value))
    ids = MESSAGE_ID.findall(text)
    if not ids and text.strip() and " " not in text.strip():
        ids = [f"<{text.strip().strip('<>')}>"]
    return ids


def date(value):
    try:
        parsed = parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed
