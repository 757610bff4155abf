"""Which ticket a mail continues, as far as the mail itself tells: the subject tag `[#1234]`
first (a person may answer an old mail on purpose to reach a ticket), then our own
Message-IDs it answers, the most recent first: In-Reply-To, then References from the end.

Answers to the customer's own earlier mail (a Message-ID we did not write) are matched by the
tickets service, which keeps those Message-IDs; this filter does not guess at them.
"""
from helpdesk import contract
from services.ingest.decisions import Thread


def find_ticket(mail, context):
    number = contract.ticket_number_in(mail.subject, context.tag_prefix)
    if number is not None:
        return Thread(number, f"subject tag [{context.tag_prefix}{number}]")
    for header, reference in _answered(mail):
        number = contract.ticket_number_in_message_id(reference, context.own_domains)
        if number is not None:
            return Thread(number, f"{header} names our mail {reference}")
    return None


def _answered(mail):
    if mail.in_reply_to:
        yield "In-Reply-To", mail.in_reply_to
    for reference in reversed(mail.references):
        yield "References", reference
