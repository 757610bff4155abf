"""Customers must not be able to forge the headers the help desk itself relies on (the
`X-Helpdesk-*` family by default): they are removed before any other filter looks."""
from dataclasses import replace

from services.ingest.decisions import Rewrite


def strip_untrusted_headers(mail, context):
    prefixes = tuple(prefix.lower() for prefix in context.untrusted_header_prefixes if prefix)
    if not prefixes:
        return None
    kept, removed = [], []
    for name, value in mail.headers:
        (removed if name.lower().startswith(prefixes) else kept).append((name, value))
    if not removed:
        return None
    names = dict.fromkeys(name for name, _ in removed)  # each once, in the mail's order
    return Rewrite(replace(mail, headers=kept), f"removed {', '.join(names)}")
