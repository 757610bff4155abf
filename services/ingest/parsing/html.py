"""HTML from mail: sanitised for display (nh3), and as plain text when it is the only body."""
import nh3
from inscriptis import get_text

URL_SCHEMES = {"http", "https", "mailto", "cid", "tel"}


def sanitised(html):
    """Safe to show in the agent's browser: no scripts, styles or event handlers; inline
    images (cid:) kept."""
    return nh3.clean(html, url_schemes=URL_SCHEMES, link_rel="noopener noreferrer nofollow")


def as_text(html):
    try:
        text = get_text(html)
    except Exception:  # inscriptis/lxml on hostile markup: strip tags the crude way
        text = nh3.clean(html, tags=set())
    lines = [line.rstrip() for line in text.splitlines()]
    return "\n".join(lines).strip("\n")
