"""Customers must not be able to forge the headers the help desk itself relies on."""
from dataclasses import replace

from services.ingest.decisions import Rewrite


def strip_untrusted_headers(mail, context):
    prefixes = context.untrusted_header_prefixes
    kept = [(name, value) for name, value in mail.headers
            if not name.lower().startswith(prefixes)]
    if len(kept) == len(mail.headers):
        return None
    removed = sorted({name for name, _ in mail.headers if name.lower().startswith(prefixes)})
    return Rewrite(replace(mail, headers=kept), f"removed {', '.join(removed)}")
