"""The one step that acts: a raw mail parsed, judged by the filters and handed to tickets.

Everything before the hand-over only decides; this module records the outcome. A mail that
cannot be processed is quarantined with its reason — a worker never dies on a mail. Trouble
that is not the mail's fault (tickets or the database unreachable) is raised to the caller,
which leaves the mail `received` for the sweeper to queue again.
"""
import logging
import time

import eventlet

from helpdesk import logs
from helpdesk.errors import HelpdeskError
from services.ingest import handover, metrics, pipeline, raw_mails
from services.ingest.decisions import Match
from services.ingest.parsing import UnparseableMail, parse

log = logging.getLogger(__name__)


class Ledger:
    """Where a worker claims its raw mails and records what became of them: a statement and a
    commit each. The service passes one that does so for concurrent workers together."""

    def __init__(self, session):
        self.session = session

    def claim_many(self, raw_mail_ids):
        return raw_mails.claim_many(self.session, raw_mail_ids)

    def finish_many(self, outcomes):
        raw_mails.finish_many(self.session, outcomes)


class _Kept:
    """A ledger's finish kept back, so that a group's outcomes are recorded together."""

    def __init__(self):
        self.outcomes = []

    def finish(self, raw_mail_id, status, **outcome):
        self.outcomes.append((raw_mail_id, status, outcome))


def process(session, raw_mail_id, context_for, hand_over, ledger=None):
    """`process_many` of one mail, handed over by `hand_over(payload)`, which raises tickets'
    refusal."""
    return process_many(session, [raw_mail_id], context_for,
                        lambda payloads: [_answer(hand_over, payload) for payload in payloads],
                        ledger)[0]


def _answer(hand_over, payload):
    try:
        return hand_over(payload)
    except HelpdeskError as refusal:  # the mail's own fault: tickets refused it
        return refusal


def process_many(session, raw_mail_ids, context_for, hand_over_many, ledger=None):
    """Process the raw mails of one queue message (one, or a group the SMTP listener
    committed together): claimed together, each parsed and judged, handed over together,
    their outcomes recorded together. `context_for(raw_mail, force)` gives the filters'
    context; `hand_over_many(payloads)` hands mails to tickets (`ingest_messages`) and gives
    each mail's result, or its refusal as a HelpdeskError; `ledger` claims the mails and
    records the outcomes (by default a Ledger on `session`). The final statuses, in order
    (None: nothing to do — already processed, a redelivery)."""
    ledger = ledger or Ledger(session)
    rows = ledger.claim_many(raw_mail_ids)
    kept = _Kept()
    judged = []
    for row in rows:
        with _as_its_own(row):
            judged.append(_judged(kept, row, context_for) if row is not None else None)
    waiting = [item for item in judged if isinstance(item, Judged)]
    if waiting:
        results = hand_over_many([item.payload for item in waiting])
        settled = {}
        for item, result in zip(waiting, results):
            with _as_its_own(item.row):
                settled[id(item)] = _settle(kept, item, result)
        judged = [settled.get(id(item), item) for item in judged]
    if kept.outcomes:
        ledger.finish_many(kept.outcomes)
    return judged


def _as_its_own(row):
    """Each mail of a group logged under its own correlation id, not the group's."""
    return logs.continuing({logs.KEY: logs.mail_correlation(row.id) if row else None})


class Judged:
    """A mail parsed and judged, waiting for tickets."""

    def __init__(self, row, payload, trail):
        self.row, self.payload, self.trail = row, payload, trail


def _judged(ledger, row, context_for):
    """The mail made ready for tickets (a Judged), or its final status when it goes no
    further (quarantined, ignored)."""
    if row.attempts > raw_mails.MAX_ATTEMPTS:
        return _quarantine(ledger, row, "GAVE_UP", f"{row.attempts - 1} attempts ended without "
                           "an answer (the worker stopped or timed out each time)")
    started = time.perf_counter()
    try:
        mail = parse(row.content)
    except UnparseableMail as error:
        return _quarantine(ledger, row, "UNPARSEABLE", str(error))
    except Exception as error:  # a parser bug must not lose or loop the mail
        log.exception("parser failed on raw mail %s", row.id)
        return _quarantine(ledger, row, "PARSER_ERROR", f"{type(error).__name__}: {error}")
    metrics.PARSE_SECONDS.observe(time.perf_counter() - started)
    eventlet.sleep(0)  # parsing is CPU work: let heartbeats and other workers through
    try:
        verdict = _judge(mail, row, context_for)
    except FilterFailed as error:
        return _quarantine(ledger, row, "FILTER_ERROR", str(error))
    return _ready(ledger, row, verdict)


class FilterFailed(Exception):
    """A filter raised on this mail: a bug to fix, then reprocess the mail."""


def _judge(mail, row, context_for):
    verdict = _filtered(mail, context_for(row, False))
    if _homeless(verdict):
        # A department or routing rule may have been added since the cache was filled.
        verdict = _filtered(mail, context_for(row, True))
    _count(verdict)
    return verdict


def _filtered(mail, context):
    # Only the filters themselves are caught: the context comes from tickets, and its
    # failures are transient ones the caller retries.
    try:
        return pipeline.run(mail, context)
    except Exception as error:
        log.exception("the filters failed on a mail")
        raise FilterFailed(f"{type(error).__name__}: {error}") from error


def _homeless(verdict):
    return not (verdict.dropped or verdict.ticket_id or verdict.department_id
                or verdict.auto_reply or verdict.bounce)


def _ready(ledger, row, verdict):
    trail = [m.as_dict() for m in verdict.trail]
    if verdict.dropped:
        return _finish(ledger, row, "ignored", reason=verdict.dropped, trail=trail)
    if _homeless(verdict):
        return _quarantine(ledger, row, "NO_DEPARTMENT", "no department receives mail at its "
                           "addresses, no routing rule matched and no default department is "
                           "set", trail)
    try:
        return Judged(row, handover.payload(row, verdict), trail)
    except HelpdeskError as error:  # no sender to answer: the mail's own fault
        return _quarantine(ledger, row, error.code, error.message, trail)


def _settle(ledger, judged, result):
    """Record tickets' answer about a mail: `result`, or the HelpdeskError it refused it with."""
    row, trail = judged.row, judged.trail
    if isinstance(result, HelpdeskError):
        return _quarantine(ledger, row, result.code, result.message, trail)
    if result.get("ignored"):
        return _finish(ledger, row, "ignored", reason=result["ignored"], trail=trail)
    trail.append(Match("tickets", _described(result)).as_dict())
    log.info("raw mail %s: %s", row.id, _described(result))
    return _finish(ledger, row, "processed", ticket_id=result["ticket_id"],
                   message_id=result["message_id"], trail=trail)


def _described(result):
    if result.get("duplicate"):
        return f"already on ticket #{result['ticket_id']}"
    verb = "opened" if result.get("created_ticket") else "added to"
    return f"{verb} ticket #{result['ticket_id']}"


def _finish(ledger, row, status, **outcome):
    ledger.finish(row.id, status, **outcome)
    metrics.MAILS_PROCESSED.labels("ticket" if status == "processed" else status).inc()
    if status == "processed":
        metrics.END_TO_END_SECONDS.observe(max(0.0, time.time() - row.received_at.timestamp()))
    return status


def _quarantine(ledger, row, code, reason, trail=()):
    log.warning("raw mail %s quarantined: %s: %s", row.id, code, reason)
    metrics.MAILS_QUARANTINED.labels(code).inc()
    return _finish(ledger, row, "quarantined", reason=f"{code}: {reason}", trail=trail)


def _count(verdict):
    for kind, found in verdict.flags.items():
        if found:
            metrics.MAILS_CLASSIFIED.labels(kind).inc()
