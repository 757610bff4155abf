"""HTML from mail: sanitised for display (nh3), and as plain text (inscriptis) when the plain
text is needed and the mail has none."""
import html as markup
import re

import nh3
from inscriptis import get_text

URL_SCHEMES = {"http", "https", "mailto", "cid", "tel"}
# An XML declaration with an encoding: lxml refuses it in an already decoded str.
XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>", re.I)
BLANK_RUN = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*?(/?)>")
ANY_TAG = re.compile(r"<[^>]*>")
SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)
VOID = frozenset("br img hr meta link input col area base wbr source track embed param".split())
MAX_NESTING = 2000


def sanitised(html):
    """Safe to show in the agent's browser: no scripts, styles or event handlers (their
    content is dropped, not shown as text); inline images (cid:) kept."""
    if too_deep(html):
        return f"<pre>{escaped(_crude_text(html))}</pre>"
    return nh3.clean(html, url_schemes=URL_SCHEMES, link_rel="noopener noreferrer nofollow")


def as_text(html):
    try:
        text = _crude_text(html) if too_deep(html) else get_text(XML_DECLARATION.sub("", html))
    except Exception:  # lxml on hostile markup: strip the tags the crude way
        text = _crude_text(html)
    lines = [line.rstrip() for line in text.splitlines()]
    return BLANK_RUN.sub("\n\n", "\n".join(lines)).strip("\n")


def too_deep(html):
    """Tags nested thousands deep: nh3's HTML parser takes quadratic time on them (100,000
    nested <div>s: a quarter of a minute). Only a large document can nest that deep."""
    if len(html) < 50_000:
        return False
    depth = 0
    for tag in TAG.finditer(html):
        if tag.group(1):
            depth = max(0, depth - 1)
        elif not tag.group(3) and tag.group(2).lower() not in VOID:
            depth += 1
            if depth > MAX_NESTING:
                return True
    return False


def _crude_text(html):
    return markup.unescape(ANY_TAG.sub(" ", SCRIPT_OR_STYLE.sub(" ", html)))


def escaped(text):
    return markup.escape(text, quote=False)
