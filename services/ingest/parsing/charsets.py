"""Bytes to text, whatever the mail claims. Declared charsets are trusted when they decode and
look plausible; otherwise the bytes are examined — Cyrillic-looking bytes first (real Russian
mail comes as KOI8-R or windows-1251 with no label or a wrong one), then charset-normalizer."""
import codecs

from charset_normalizer import from_bytes

from services.ingest.mail import CharsetNote

# Labels seen in real mail that Python does not know, or knows under another name.
ALIASES = {
    "unicode-1-1-utf-7": "utf-7", "utf7": "utf-7", "utf8": "utf-8", "x-unknown": None,
    "unknown-8bit": None, "unknown": None, "x-user-defined": "windows-1252",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949", "gb2312": "gb18030",
    "gbk": "gb18030", "x-gbk": "gb18030", "iso-8859-8-i": "iso-8859-8", "windows-874": "cp874",
    "x-mac-cyrillic": "mac-cyrillic", "maccyrillic": "mac-cyrillic", "win-1251": "cp1251",
    "cp-1251": "cp1251", "x-cp1251": "cp1251", "koi8r": "koi8-r", "iso-2022-jp-2": "iso2022_jp_2",
    "shift-jis": "shift_jis", "x-sjis": "shift_jis", "ansi_x3.4-1968": "ascii",
    "iso-8859-1": "windows-1252",  # mail labelled latin-1 is written in cp1252 (“smart quotes”)
}
MULTI_BYTE = ("utf-8", "gb18030", "big5", "big5hkscs", "shift_jis", "cp932", "euc_jp", "cp949",
              "euc_kr", "utf-16", "utf-32", "utf-7")
SAMPLE_BYTES = 64 * 1024


def codec(label):
    """The Python codec for a charset label, or None when it names nothing usable."""
    if not label:
        return None
    label = label.strip().strip('"\'').lower().split("*", 1)[0]
    if label in ALIASES:
        return ALIASES[label]
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode(data, declared, part, notes):
    """`data` as str; what was declared and what was used goes into `notes`."""
    if not data:
        return ""
    if data.isascii() and codec(declared) not in ("utf-7", "utf-16", "utf-32") and \
            not (codec(declared) or "").startswith("iso2022"):
        return data.decode("ascii")
    used, detected = _choose(data, declared)
    notes.append(CharsetNote(part, declared, used, detected))
    return data.decode(used, errors="replace")


def decode_with_hints(data, hints, part, notes):
    """Raw 8-bit bytes that declare nothing themselves (a header, a file name), with the
    charsets the mail declares elsewhere as hints: a multi-byte one that decodes them
    cleanly is taken first (single-byte ones decode anything, so they prove nothing)."""
    hints = (hints,) if isinstance(hints, str) else tuple(hints or ())
    for hint in hints:
        name = codec(hint)
        if name in MULTI_BYTE and _decodes(data, name) and \
                not cyrillic_code_page(data):
            notes.append(CharsetNote(part, None, name, True))
            return data.decode(name)
    return decode(data, hints[0] if hints else None, part, notes)


def _choose(data, declared):
    name = codec(declared)
    cyrillic = cyrillic_code_page(data)
    if name is not None and _decodes(data, name):
        # A single-byte Cyrillic label on bytes of the other Cyrillic code page (KOI8-R sent as
        # windows-1251 or back) is the one mislabelling that is both common and detectable.
        if name in ("cp1251", "koi8-r") and cyrillic and cyrillic != name:
            return cyrillic, True
        if name not in ("ascii", "utf-8") or not cyrillic:
            return name, False
    if _decodes(data, "utf-8"):
        return "utf-8", name is not None
    if cyrillic:
        return cyrillic, True
    return _detected(data) or name or "windows-1252", True


def _decodes(data, name):
    try:
        data.decode(name)
        return True
    except (UnicodeDecodeError, LookupError):
        return False


def _is_cjk(name):
    return name in ("cp949", "gb18030", "big5", "shift_jis", "euc_jp", "euc-jp", "cp932")


# The six most frequent Russian letters (о е а и н т: about half of all letters) in each code
# page. In Russian text they make up a large share of the 8-bit bytes; in Western 8-bit text
# or in double-byte Chinese, Japanese or Korean they are rare.
FREQUENT = {"cp1251": frozenset(b"\xee\xe5\xe0\xe8\xed\xf2"),
            "koi8-r": frozenset(b"\xcf\xc5\xc1\xc9\xce\xd4")}
LOWER_CASE = {"cp1251": range(0xE0, 0x100), "koi8-r": range(0xC0, 0xE0)}


def cyrillic_code_page(data):
    """'cp1251' or 'koi8-r' when the 8-bit bytes read as Russian in one of them."""
    high = [b for b in data[:SAMPLE_BYTES] if b >= 0x80]
    if len(high) < 2 or _decodes(data[:SAMPLE_BYTES], "utf-8"):
        return None
    scores = {page: (sum(b in letters for b in high) / len(high),
                     sum(b in LOWER_CASE[page] for b in high) / len(high))
              for page, letters in FREQUENT.items()}
    best = max(scores, key=scores.get)
    frequent, lower = scores[best]
    # Short texts (a name, a subject) have few letters: let lower case carry them.
    if frequent >= 0.25 or (len(high) <= 12 and frequent >= 0.15 and lower >= 0.5):
        return best
    return None


def _detected(data):
    match = from_bytes(data[:SAMPLE_BYTES]).best()
    return codec(match.encoding) if match is not None else None
