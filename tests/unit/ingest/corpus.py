"""Where the shared mail corpora are, and how their expectations are compared."""
import os
import re
from email.utils import getaddresses
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def corpora():
    for candidate in (os.environ.get("HELPDESK_CORPORA"), ROOT.parent / "shared" / "corpora"):
        if candidate and Path(candidate, "zammad", "oracle.json").is_file():
            return Path(candidate)
    return None


def words(text):
    """Text with markup stripped and whitespace collapsed, for comparing bodies."""
    text = re.sub(r"<[^>]+>", " ", text or "")
    text = text.replace("&nbsp;", " ").replace("&amp;", "&").replace("&lt;", "<") \
        .replace("&gt;", ">").replace("&quot;", '"').replace("\u00a0", " ")
    return " ".join(text.split())


def address_set(value):
    """Zammad's decoded recipient string as a set of lower-case addresses."""
    found = set()
    for name, address in getaddresses([value or ""]):
        if "@" not in address and "@" in name:
            address = name
        if address:
            found.add(address.strip().lower())
    return found
