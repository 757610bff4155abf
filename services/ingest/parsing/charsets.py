"""Bytes to text, whatever the mail claims.

A declared charset is trusted when it decodes the bytes and the text is plausible. Otherwise the
bytes are examined: valid UTF-8 first (it almost never happens by accident), then the Cyrillic
code pages (real Russian mail comes as KOI8-R or windows-1251 with no label or a wrong one),
then charset-normalizer on a bounded sample. Every decision is written down as a CharsetNote.
"""
import codecs
import re

from charset_normalizer import from_bytes

from services.ingest.mail import CharsetNote
from services.ingest.parsing import japanese

# Labels seen in real mail that Python does not know, or knows as something narrower than what
# the senders' software actually wrote (the superset decodes everything the label allows).
ALIASES = {
    "unicode-1-1-utf-7": "utf-7", "unicode-2-0-utf-7": "utf-7", "utf7": "utf-7",
    "unicode-1-1-utf-8": "utf-8", "unicode-2-0-utf-8": "utf-8", "utf8": "utf-8",
    "x-unknown": None, "unknown-8bit": None, "unknown": None, "x-user-defined": "cp1252",
    "default": None, "charset": None, "none": None, "binary": None, "8bit": None,
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "ks_c_5601-1989": "cp949",
    "euc-kr": "cp949", "x-windows-949": "cp949", "korean": "cp949",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "iso-gb2312": "gb18030",
    "csgb2312": "gb18030", "cp936": "gb18030", "x-euc-cn": "gb18030", "euc-cn": "gb18030",
    "big5": "big5hkscs", "x-x-big5": "big5hkscs", "cn-big5": "big5hkscs",
    "shift_jis": "cp932", "shift-jis": "cp932", "x-sjis": "cp932", "sjis": "cp932",
    "windows-31j": "cp932", "iso-8859-8-i": "iso-8859-8", "windows-874": "cp874",
    "x-mac-cyrillic": "mac-cyrillic", "maccyrillic": "mac-cyrillic", "x-mac-ukrainian":
    "mac-cyrillic", "win-1251": "cp1251", "win1251": "cp1251", "cp-1251": "cp1251",
    "x-cp1251": "cp1251", "koi8r": "koi8-r", "koi8": "koi8-r", "koi-8-r": "koi8-r",
    "x-koi8-r": "koi8-r", "ibm866": "cp866", "dos-866": "cp866", "x-cp866": "cp866",
    "iso-2022-jp-2": "iso2022_jp_2", "ansi_x3.4-1968": "cp1252", "us": "cp1252",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
    "ascii": "cp1252", "iso-8859-9": "cp1254", "iso-8859-11": "cp874", "tis-620": "cp874",
}
# What Python finds for a label, and the wider code page that senders' software really uses.
WIDER = {"iso8859-1": "cp1252", "ascii": "cp1252", "iso8859-9": "cp1254", "tis-620": "cp874",
         "gb2312": "gb18030", "gbk": "gb18030", "big5": "big5hkscs", "shift_jis": "cp932",
         "euc_kr": "cp949", "iso2022_jp": japanese.NAME}
# Raw 8-bit header bytes from a mail that declares one of these are likely in a sibling.
SIBLINGS = {japanese.NAME: ("cp932", "euc_jp"), "euc_jp": ("cp932",), "cp932": ("euc_jp",)}
# Stateful or wide encodings: their ASCII-looking bytes still need the codec.
NOT_ASCII_SAFE = ("utf-7", "utf-16", "utf-32", "iso2022", "hz")
CYRILLIC_PAGES = ("cp1251", "koi8-r", "iso8859-5", "mac-cyrillic", "cp866")
# Declared charsets that mail software puts on Russian text by mistake (its own default): a
# Greek or Hebrew label, say, is left alone, as its text also comes in runs of 8-bit bytes.
OVERRIDABLE = frozenset(CYRILLIC_PAGES) | {
    "cp1252", "iso8859-15", "iso8859-2", "cp1250", "cp1258", "cp949", "gb18030", "big5hkscs",
    "cp932", "euc_jp", "koi8-u"}
# What a detection may answer: charsets that real mail is written in (no EBCDIC, no UTF-16).
PLAUSIBLE_IN_MAIL = OVERRIDABLE | {
    "utf-8", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "iso8859-3", "iso8859-4",
    "iso8859-6", "iso8859-7", "iso8859-8", "iso8859-9", "iso8859-10", "iso8859-13",
    "iso8859-14", "iso8859-16", "cp874", japanese.NAME, "mac-roman", "cp437", "cp850"}
MULTI_BYTE = frozenset(("gb18030", "big5hkscs", "cp932", japanese.NAME, "euc_jp", "cp949",
                        "cp950", "big5", "shift_jis", "euc_kr", "euc_jis_2004"))
SAMPLE_BYTES = 16 * 1024
DETECTION_BYTES = 8 * 1024
# The ten most frequent Russian letters: about two thirds of the letters of any Russian text.
FREQUENT_LETTERS = frozenset("оеаинтсрвл")
RUSSIAN_WORD = re.compile("[а-яё]+", re.I)
FREQUENT_BIGRAMS = frozenset(
    "ст но то на ен ов ни ра во ко ал ер пр ре ос по ро го ли не ат ет ол ор ка ва ан та ль ел "
    "ти ит ес ла ом от ин де ле ло ск ак ог мо ть да ви ве ем об од ны за ми ри ил ди ен ий ая "
    "ое ие ых ег ль тр ус".split())
HIGH_RUN = re.compile(rb"[\x80-\xff]{2,}")
HIGH_BYTES = bytes(range(0x80, 0x100))


def _stray_bytes(error):
    """In mostly-UTF-8 text, bytes that are not UTF-8 are nearly always windows-1252 (a line
    pasted from an older program): read them so instead of losing them."""
    return error.object[error.start:error.end].decode("cp1252", errors="replace"), error.end


STRAY_BYTES = "helpdesk-stray-bytes"
codecs.register_error(STRAY_BYTES, _stray_bytes)


def codec(label):
    """The Python codec for a charset label, or None when it names nothing usable."""
    if not label or not isinstance(label, str):
        return None
    label = label.strip().strip("\"'").strip().lower()
    label = label.split("*", 1)[0].split(";", 1)[0].strip()
    if label.startswith("3d"):  # "charset=3Dutf-8": a quoted-printable "=" left in the label
        label = label[2:]
    if label in ALIASES:
        return ALIASES[label]
    for candidate in (label, label.replace("_", "-"), re.sub(r"^x-", "", label),
                      re.sub(r"^(iso|windows|win|cp)[-_ ]?", r"\1-", label)):
        if candidate in ALIASES:
            return ALIASES[candidate]
        try:
            found = codecs.lookup(candidate).name
        except (LookupError, ValueError):
            continue
        return WIDER.get(found, found)
    return None


def decode(data, declared, part, notes):
    """`data` as str; what was declared and what was used goes into `notes`."""
    if not data:
        return ""
    if data.isascii() and not (codec(declared) or "").startswith(NOT_ASCII_SAFE):
        return data.decode("ascii")
    used, detected = choose(data, declared)
    notes.append(CharsetNote(part, declared, used, detected))
    return data.decode(used, errors=STRAY_BYTES if used == "utf-8" else "replace")


def decode_with_hints(data, hints, part, notes):
    """Raw 8-bit bytes that declare nothing themselves (a header, a file name). The charsets
    the mail declares elsewhere are hints: its sender's software wrote these bytes too."""
    if data.isascii():
        return data.decode("ascii")
    used = "utf-8" if _mostly_utf8(data) else cyrillic_code_page(data) or \
        _hinted(data, hints) or _detected(data) or _cjk(data) or "cp1252"
    notes.append(CharsetNote(part, None, used, True))
    return data.decode(used, errors=STRAY_BYTES if used == "utf-8" else "replace")


def _hinted(data, hints):
    """A multi-byte hint that decodes the bytes cleanly (that is evidence), else the first
    single-byte hint (that is only a good guess: single-byte charsets decode anything)."""
    names = [sibling for name in map(codec, hints or ()) if name and name != "utf-8"
             for sibling in (name, *SIBLINGS.get(name, ()))]
    for name in names:
        if _is_multi_byte(name) and _decodes(data, name):
            return name
    return next((name for name in names if not _is_multi_byte(name)), None)


def choose(data, declared):
    """(codec, detected) for 8-bit `data` and the charset the mail declared for it."""
    name = codec(declared)
    stateful = (name or "").startswith(NOT_ASCII_SAFE)
    if not stateful and _mostly_utf8(data):
        return "utf-8", name != "utf-8"
    if name and _decodes(data, name):
        if stateful or name == "utf-8":
            return name, False
        scores = cyrillic_scores(data)
        best = _best(scores)
        if best and best != name and name in OVERRIDABLE and (
                scores[best] - scores.get(name, 0.0) > 0.15 if name in scores
                else scores[best] >= 0.6):
            return best, True  # a Latin or Korean label on Russian text, or the other page
        return name, False
    return cyrillic_code_page(data) or _detected(data) or _cjk(data) or name or "cp1252", True


def cyrillic_code_page(data):
    """The Cyrillic code page in which these 8-bit bytes read as Russian, or None."""
    scores = cyrillic_scores(data)
    best = _best(scores)
    return best if best and scores[best] >= 0.6 else None


def _best(scores):
    best = None
    for page, margin in zip(CYRILLIC_PAGES, (0.0, 0.05, 0.1, 0.05, 0.1)):
        # in order of how common the page is in real mail: a rarer one must do clearly better
        if scores.get(page, 0.0) > (scores[best] + margin if best else 0.0):
            best = page
    return best


def cyrillic_scores(data):
    """How Russian the bytes read in each Cyrillic code page (0..1).

    Russian words are runs of 8-bit bytes (Western text has lone accented letters between ASCII
    ones). In the right code page nearly every 8-bit byte is a Russian letter, the letters
    pair into frequent Russian bigrams, and most are lower case; a wrong page gives symbols,
    rare pairs or upper case."""
    sample = data[:SAMPLE_BYTES]
    high = len(sample) - len(sample.translate(None, HIGH_BYTES))
    if high < 2 or sum(map(len, HIGH_RUN.findall(sample))) < 0.7 * high:
        return {}
    return {page: _russian_score(sample.decode(page, errors="replace"), high)
            for page in CYRILLIC_PAGES}


def _russian_score(text, high):
    words = RUSSIAN_WORD.findall(text)
    letters = sum(map(len, words))
    if letters < 0.8 * high:
        return 0.0
    pairs = [word[i:i + 2].lower() for word in words for i in range(len(word) - 1)]
    bigrams = sum(pair in FREQUENT_BIGRAMS for pair in pairs) / len(pairs) if pairs else 0.0
    joined = "".join(words)
    lower = sum(1 for c in joined if c.islower()) / letters
    frequent = sum(1 for c in joined.lower() if c in FREQUENT_LETTERS) / letters
    share = min(1.0, letters / high)
    return share ** 3 * (0.45 * min(1.0, bigrams / 0.3) + 0.35 * min(1.0, frequent / 0.6)
                         + 0.2 * lower)


def _detected(data):
    if len(data) - len(data.translate(None, HIGH_BYTES)) < 16:
        return None  # too few 8-bit bytes to tell: charset-normalizer guesses wildly here
    try:
        match = from_bytes(data[:DETECTION_BYTES]).best()
    except Exception:  # detection is a guess: a failure only means "no guess"
        return None
    found = codec(match.encoding) if match is not None else None
    if found not in PLAUSIBLE_IN_MAIL or (found in ("cp1250", "cp1252") and _cjk(data)):
        return None  # a Western guess on CJK text with broken bytes: let _cjk answer
    return found


def _cjk(data):
    """Chinese, Japanese or Korean text with a few broken bytes, which no codec decodes
    strictly (charset-normalizer then does not consider them): the double-byte codec that
    reads the 8-bit bytes with fewest errors, if it reads nearly all of them."""
    sample = data[:SAMPLE_BYTES]
    high = len(sample) - len(sample.translate(None, HIGH_BYTES))
    if high < 8:
        return None
    errors = {name: sample.decode(name, errors="replace").count("\ufffd")
              for name in ("gb18030", "big5hkscs", "cp932", "cp949")}
    best = min(errors, key=errors.get)
    return best if errors[best] * 50 <= high else None


def _valid_utf8(data):
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _mostly_utf8(data):
    """Valid UTF-8, or UTF-8 with some stray bytes (a line pasted from an older program):
    multi-byte UTF-8 sequences do not happen by accident in other charsets, while text in
    those (GB2312, windows-1251...) breaks as UTF-8 at nearly every 8-bit byte."""
    if _valid_utf8(data):
        return True
    sample = data[:SAMPLE_BYTES]
    text = sample.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    multi_byte = sum(1 for c in text if c > "\x7f") - broken
    return multi_byte >= 3 and broken < multi_byte


def _decodes(data, name):
    try:
        data.decode(name)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _is_multi_byte(name):
    return name in MULTI_BYTE or name.startswith(NOT_ASCII_SAFE)
