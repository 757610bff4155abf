"""The customer's language, for the mail the help desk writes itself (acknowledgements,
resolution notices): guessed from the first message, changeable by agents."""
import re

SHIPPED = ("ru", "en")
DEFAULT = "en"
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LETTER = re.compile(r"[^\W\d_]")
SAMPLE_CHARS = 2000  # the start of a mail says enough; quoted history further down may not


def detect(*texts):
    """"ru" when Cyrillic makes up a good part of the letters, else "en"."""
    sample = " ".join(text or "" for text in texts)[:SAMPLE_CHARS]
    letters = len(_LETTER.findall(sample))
    if letters and len(_CYRILLIC.findall(sample)) / letters >= 0.3:
        return "ru"
    return DEFAULT
