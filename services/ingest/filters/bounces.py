"""Bounces: a report that a mail we sent did not arrive. It belongs on the ticket of that
mail, as a note for the agent, never as a new ticket."""
import email
import re

from services.ingest.decisions import Bounce
from services.ingest.mail import DeliveryReport

BOUNCE_SENDER = re.compile(r"^(mailer-daemon|postmaster)@", re.IGNORECASE)
BOUNCE_SUBJECT = re.compile(
    r"(undeliver|returned mail|delivery (status notification|failure|has failed)"
    r"|mail delivery (failed|failure|system)|failure notice|nondeliverable"
    r"|недоставленное сообщение|не удается доставить|не удалось доставить)",
    re.IGNORECASE)


def detect_bounce(mail, context):
    if mail.report is not None:
        return Bounce(mail.report, "a delivery status report (RFC 3464)")
    sender = mail.from_.email if mail.from_ else ""
    if not (BOUNCE_SENDER.match(sender) and BOUNCE_SUBJECT.search(mail.subject or "")):
        return None
    report = DeliveryReport(original_message_id=_returned_message_id(mail), action="failed",
                            status=None, recipients=(), diagnostic=mail.text[:2000])
    return Bounce(report, f"a bounce from {sender}")


def _returned_message_id(mail):
    """The Message-ID of the returned mail, from its attached copy."""
    for attachment in mail.attachments:
        if attachment.content_type.lower() in ("message/rfc822", "text/rfc822-headers"):
            returned = email.message_from_bytes(attachment.content)
            if returned["Message-ID"]:
                return str(returned["Message-ID"]).strip()
    return None
