"""Which ticket a mail continues, as far as the mail itself tells: the subject tag, or one of
our own Message-IDs it answers. (Answers to the customer's own earlier mail are matched by the
tickets service, which keeps those Message-IDs.)"""
from helpdesk import contract
from services.ingest.decisions import Thread


def find_ticket(mail, context):
    number = contract.ticket_number_in(mail.subject, context.tag_prefix)
    if number is not None:
        return Thread(number, f"subject tag [{context.tag_prefix}{number}]")
    for reference in [mail.in_reply_to, *reversed(mail.references)]:
        number = contract.ticket_number_in_message_id(reference, context.own_domains)
        if number is not None:
            return Thread(number, f"answers our mail {reference}")
    return None
