"""Mail that is our own coming back (a forwarder, an auto-responder answering us, a customer's
server returning a copy): taking it in would mail the customer again, who would answer again,
for ever. Such mail is dropped (the raw mail stays, `ignored`, with the reason).

Our own mail is recognised by what only we write: the X-Loop marker, a Message-ID in the form
we generate (`<hd.TICKET.NONCE@our-domain>`, see helpdesk.contract), or one of the
departments' addresses as the sender. A Message-ID merely *at* one of our domains is not
enough: customers whose mailboxes are on the help desk's own domain (an ISP's subscribers,
its staff) send mail whose Message-IDs end in that domain too.
"""
import re

from helpdesk import contract
from services.ingest.decisions import Drop

_ITEMS = re.compile(r"[\s,;]+")


def detect_loop(mail, context):
    marker = _our_x_loop(mail, context.loop_marker)
    if marker is not None:
        return Drop(f"loop: X-Loop: {marker}")
    if contract.ticket_number_in_message_id(mail.message_id, context.own_domains) is not None:
        return Drop(f"loop: the Message-ID {mail.message_id} is one of ours")
    sender = mail.from_.email.strip().lower() if mail.from_ else ""
    if sender and sender in context.departments_by_address:
        return Drop(f"loop: sent from our own address {sender}")
    return None


def _our_x_loop(mail, marker):
    """The X-Loop value that carries our marker, as a whole value or one of its items (so
    marker "helpdesk" is not found in another help desk's "helpdesk@example.org")."""
    marker = (marker or "").strip().lower()
    if not marker:
        return None
    for value in mail.header_all("X-Loop"):
        value = value.strip()
        if value.lower() == marker or marker in _ITEMS.split(value.lower()):
            return value[:200]
    return None
