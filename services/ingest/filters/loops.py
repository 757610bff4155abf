"""Mail that is our own coming back (a forwarder, an auto-responder answering us): taking it
in would mail the customer again, who would answer again, for ever."""
from helpdesk import contract
from services.ingest.decisions import Drop


def detect_loop(mail, context):
    for value in mail.header_all("X-Loop"):
        if context.loop_marker and context.loop_marker.lower() in value.lower():
            return Drop(f"loop: X-Loop: {value.strip()}")
    if contract.ticket_number_in_message_id(mail.message_id, context.own_domains) is not None:
        return Drop(f"loop: the Message-ID {mail.message_id} is one of ours")
    sender = mail.from_.email.lower() if mail.from_ else ""
    if sender and sender in context.departments_by_address:
        return Drop(f"loop: sent from our own address {sender}")
    return None
