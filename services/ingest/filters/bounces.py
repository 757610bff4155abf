"""Bounces: a report that a mail we sent did not arrive. It belongs on the ticket of that
mail, as a note for the agent, never as a new ticket.

A standard report (RFC 3464 multipart/report) is read by the parser into `mail.report`. The
others are recognised by a bounce's subject together with a machine sender: a MAILER-DAEMON,
postmaster or Exchange system address, or an empty envelope sender. The subject alone is not
enough (anyone may write "Returned mail"), nor is the sender alone: a person at postmaster@
writes to an ISP's help desk, often with a spam sample attached as message/rfc822.
"""
import email.parser
import re
from dataclasses import replace
from email import policy

from services.ingest.decisions import Bounce
from services.ingest.filters.auto_replies import empty_return_path
from services.ingest.mail import DeliveryReport

BOUNCE_SENDER = re.compile(r"^(mailer[-_]?daemon|postmaster|microsoftexchange[0-9a-f]*)@",
                           re.IGNORECASE)
BOUNCE_SUBJECT = re.compile(
    r"undeliver|returned mail|returning message to sender|delivery status notification"
    r"|delivery (failure|failed|has failed|problem|notification)|mail delivery (failed|failure"
    r"|system|subsystem)|failure notice|non-?deliver|could not be delivered|delivery delayed"
    r"|недоставленное сообщение|не удается доставить|не удалось доставить"
    r"|сообщение не доставлено|ошибка доставки",
    re.IGNORECASE)
# The action a subject names (RFC 3464 words); anything else is a failure.
ACTIONS = (("delayed", re.compile(r"\bdelay|warning|задерж", re.IGNORECASE)),
           ("delivered", re.compile(r"\(success\)", re.IGNORECASE)),
           ("relayed", re.compile(r"\(relay\)", re.IGNORECASE)))
ORIGINAL_KINDS = ("message/rfc822", "text/rfc822-headers", "message/global",
                  "message/global-headers")
STATUS = re.compile(r"(?<![\d.])[245]\.\d{1,3}\.\d{1,3}(?![\d.])")
MESSAGE_ID = re.compile(r"<[^<>\s]+>")


def detect_bounce(mail, context):
    if mail.report is not None:
        report = mail.report
        if report.original_message_id is None:
            report = replace(report, original_message_id=returned_message_id(mail))
        return Bounce(report, f"a delivery status report (RFC 3464), action {report.action}")
    sender = _machine_sender(mail, context)
    if sender is None or not BOUNCE_SUBJECT.search(mail.subject or ""):
        return None
    return Bounce(_report_from_text(mail), f"a bounce from {sender}: {mail.subject.strip()[:80]}")


def returned_message_id(mail):
    """The Message-ID of the returned mail, from its attached copy (or its headers)."""
    for attachment in mail.attachments:
        if attachment.content_type.split(";")[0].strip().lower() in ORIGINAL_KINDS:
            returned = email.parser.BytesHeaderParser(policy=policy.compat32).parsebytes(
                attachment.content[:256 * 1024])
            found = MESSAGE_ID.search(str(returned.get("Message-ID") or ""))
            if found:
                return found.group(0)
    return None


def _machine_sender(mail, context):
    address = mail.from_.email.strip() if mail.from_ else ""
    if BOUNCE_SENDER.match(address):
        return address
    if empty_return_path(mail, context):
        return "an empty envelope sender"
    return None


def _report_from_text(mail):
    """What a non-standard bounce tells, as a DeliveryReport: Exim names the recipients in
    X-Failed-Recipients, most MTAs put the enhanced status code (5.1.1) in the text."""
    recipients = tuple(address.strip() for value in mail.header_all("X-Failed-Recipients")
                       for address in value.split(",") if address.strip())
    status = STATUS.search(mail.text or "")
    return DeliveryReport(
        original_message_id=returned_message_id(mail),
        action=_action(mail.subject or ""),
        status=status.group(0) if status else None, recipients=recipients,
        diagnostic=(mail.text or "").strip()[:2000])


def _action(subject):
    return next((action for action, named in ACTIONS if named.search(subject)), "failed")
