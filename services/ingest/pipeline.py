"""The filters in the order they run, and the fold of their decisions into a verdict.

Rules the acting step (processing.py) relies on:
- a Drop (a loop) stops everything: the mail goes on no ticket;
- an auto-reply never opens a ticket; it may be added to the ticket it answers;
- a bounce goes, as a note, to the ticket of the mail it reports on, never a new ticket;
- routing runs only for a mail that continues no ticket.
"""
from services.ingest.decisions import (AutoReply, Bounce, Drop, Match, Rewrite, Route, Thread,
                                       Verdict)
from services.ingest.filters.auto_replies import detect_auto_reply
from services.ingest.filters.bounces import detect_bounce
from services.ingest.filters.find_ticket import find_ticket
from services.ingest.filters.loops import detect_loop
from services.ingest.filters.routing import route
from services.ingest.filters.untrusted import strip_untrusted_headers

FILTERS = (strip_untrusted_headers, detect_loop, detect_auto_reply, detect_bounce, find_ticket,
           route)


def run(mail, context):
    verdict = Verdict(mail=mail)
    for mail_filter in FILTERS:
        if mail_filter is route and (verdict.ticket_id or verdict.bounce or verdict.auto_reply):
            continue  # only a new customer request needs a department
        decision = mail_filter(verdict.mail, context)
        if decision is None:
            continue
        verdict.trail.append(Match(mail_filter.__name__, _describe(decision)))
        _apply(verdict, decision)
        if verdict.dropped:
            break
    return verdict


def _apply(verdict, decision):
    if isinstance(decision, Rewrite):
        verdict.mail = decision.mail
    elif isinstance(decision, Drop):
        verdict.dropped = decision.reason
    elif isinstance(decision, AutoReply):
        verdict.auto_reply = True
    elif isinstance(decision, Bounce):
        verdict.bounce = decision.report
    elif isinstance(decision, Thread):
        verdict.ticket_id = decision.ticket_id
    elif isinstance(decision, Route):
        verdict.department_id = decision.department_id


def _describe(decision):
    kind = type(decision).__name__.lower()
    reason = getattr(decision, "why", None) or getattr(decision, "reason", "")
    target = getattr(decision, "ticket_id", None) or getattr(decision, "department_id", None)
    return f"{kind}{f' {target}' if target else ''}: {reason}"
