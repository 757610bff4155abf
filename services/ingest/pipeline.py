"""The filters in the order they run, and the fold of their decisions into a verdict.

Each filter is `filter(mail, context) -> decision | None` and writes nothing; `run` calls them
top to bottom and records a `Match(filter name, decision)` in `verdict.trail` for every
decision, so "why did this mail go there?" always has an answer.

How the decisions fold, and what the acting step (processing.py, then tickets) relies on:
- Rewrite: the following filters, and the hand-over, see the rewritten mail.
- Drop (a loop): nothing after it runs; the mail goes on no ticket (`verdict.dropped`).
- AutoReply (`verdict.auto_reply`): never opens or reopens a ticket; when it threads onto an
  existing ticket (`ticket_id`, or the tickets service's own In-Reply-To match) it is added
  there, flagged, and otherwise it is ignored.
- Bounce (`verdict.bounce`, a DeliveryReport): never a new ticket and never a customer
  message: a system note on the ticket of the bounced mail, found by
  `bounce.original_message_id` (or `ticket_id` when the bounce's subject still carries the
  tag). A bounce is usually also flagged auto_reply (its sender is empty): the bounce wins.
- Thread (`verdict.ticket_id`): the mail continues that ticket.
- Route (`verdict.department_id`): only asked for a mail that may open a ticket, i.e. one
  with no ticket found, not an auto-reply and not a bounce; `run` decides that, so `route`
  itself never needs to know what came before it.
A verdict with none of dropped, ticket_id, department_id, auto_reply or bounce has no home:
the acting step quarantines it as NO_DEPARTMENT.
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
# Filters that only matter for a mail that may open a new ticket.
FOR_NEW_TICKETS_ONLY = frozenset({route})


def run(mail, context):
    verdict = Verdict(mail=mail)
    for mail_filter in FILTERS:
        if mail_filter in FOR_NEW_TICKETS_ONLY and not may_open_ticket(verdict):
            continue
        decision = mail_filter(verdict.mail, context)
        if decision is not None:
            verdict.trail.append(Match(mail_filter.__name__, _apply(verdict, decision)))
        if verdict.dropped is not None:
            break
    return verdict


def may_open_ticket(verdict):
    return (verdict.dropped is None and verdict.ticket_id is None and not verdict.auto_reply
            and verdict.bounce is None)


def _apply(verdict, decision):
    """Fold one decision into the verdict; returns how the trail describes it."""
    match decision:
        case Rewrite(mail=mail, why=why):
            verdict.mail = mail
            return f"rewritten: {why}"
        case Drop(reason=reason):
            verdict.dropped = reason
            return f"dropped: {reason}"
        case AutoReply(why=why):
            verdict.auto_reply = True
            return f"auto-reply: {why}"
        case Bounce(report=report, why=why):
            verdict.bounce = report
            return f"bounce of {report.original_message_id or 'an unknown mail'}: {why}"
        case Thread(ticket_id=ticket_id, why=why):
            verdict.ticket_id = ticket_id
            return f"ticket #{ticket_id}: {why}"
        case Route(department_id=department_id, why=why):
            verdict.department_id = department_id
            return f"department {department_id}: {why}"
    raise TypeError(f"not a filter decision: {decision!r}")
