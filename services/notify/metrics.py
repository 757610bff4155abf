"""Outbound mail metrics (the per-entrypoint ones come from helpdesk.metrics)."""
from prometheus_client import Counter, Gauge

from services.notify import outbox

MAILS_QUEUED = Counter("helpdesk_notify_mails_queued_total", "Mails put in the outbox, by kind",
                       ["kind"])
MAILS_SENT = Counter("helpdesk_notify_mails_sent_total", "Mails handed to the relay, by kind",
                     ["kind"])
MAILS_RETRIED = Counter("helpdesk_notify_mails_retried_total",
                        "Temporary delivery failures, to be retried, by kind", ["kind"])
MAILS_FAILED = Counter("helpdesk_notify_mails_failed_total",
                       "Mails that could not be delivered, by kind", ["kind"])
MAILS_SKIPPED = Counter("helpdesk_notify_mails_skipped_total",
                        "Mails not sent on purpose (auto-replies, our own addresses, rate "
                        "limit), by reason", ["reason"])
OUTBOX_AGE = Gauge("helpdesk_notify_outbox_oldest_seconds",
                   "Age of the oldest mail waiting in the outbox")
OUTBOX_MAILS = Gauge("helpdesk_notify_outbox_mails", "Mails in the outbox, by status",
                     ["status"])
EVENTS_DEAD = Counter("helpdesk_notify_events_dead_total",
                      "Events given up on after repeated failures", ["event"])

_BY_OUTCOME = {"sent": MAILS_SENT, "unconfirmed": MAILS_SENT, "retry": MAILS_RETRIED,
               "failed": MAILS_FAILED}


def settled(kind, outcome):
    _BY_OUTCOME[outcome].labels(kind).inc()


def observe_outbox(connection):
    from sqlalchemy.orm import Session
    with Session(bind=connection) as session:
        OUTBOX_AGE.set(outbox.oldest_waiting_seconds(session))
        found = outbox.counts(session)
    for status in ("queued", "committing", "sent", "failed"):
        OUTBOX_MAILS.labels(status).set(found.get(status, 0))
