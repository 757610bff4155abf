"""The outbox of mail: rows written with the decision to send, claimed by one sender at a
time (SKIP LOCKED, so any number of senders in any number of replicas share it), and settled
as sent, retried later, or failed — each attempt recorded."""
import json
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import BigInteger, all_, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, insert

from helpdesk import contract
from helpdesk.database import per_transaction
from services.notify import compose
from services.notify.models import DeliveryAttempt, NotifyEvent, OutboxMail

FIRST_RETRY_SECONDS = 5
RECENTLY = timedelta(hours=1)  # the acknowledgements a sender may get: so many an hour


def now():
    return datetime.now(timezone.utc)


# Core and built once: the ORM's insert took longer to make than the mail itself. Given the
# rows of several mails as parameters it is one INSERT (see make_engine in helpdesk.database);
# `.values([...])` compiled a new statement each time, five times the cost a row.
_ENQUEUE = insert(OutboxMail.__table__).on_conflict_do_nothing(index_elements=["key"]) \
    .returning(OutboxMail.__table__.c.id)
_ATTEMPTS = insert(DeliveryAttempt.__table__)


def enqueue(session, key, mail):
    """Add a mail unless one with this key exists (the event was delivered twice). In a
    transaction that `hold_mail` began, the mail waits for `queue_held` and counts as added:
    its key comes from an event the inbox took fresh, so none can be there before it."""
    recipient = mail.recipients[0].lower()
    row = {"key": key[:200], "kind": mail.kind, "ticket_id": mail.ticket_id,
           "ticket_message_id": mail.ticket_message_id, "message_id": mail.message_id,
           "envelope_from": mail.sender.address, "recipients": mail.recipients,
           "recipient": recipient, "content": compose.build(mail), "status": "queued",
           "attempts": 0, "next_attempt_at": now(), "unconfirmed": False,
           "created_at": now()}
    held = per_transaction(session, "mail_held").get("rows")
    if held is not None:
        held.append(row)
        inserted = True
    else:
        inserted = session.execute(_ENQUEUE, row).scalar() is not None
    counted = per_transaction(session, "sent_recently")
    if inserted and (mail.kind, recipient) in counted:
        counted[mail.kind, recipient] += 1
    return inserted


def hold_mail(session):
    """From here to `queue_held`, this transaction's mails are inserted together."""
    per_transaction(session, "mail_held")["rows"] = []


def queue_held(session):
    rows = per_transaction(session, "mail_held").pop("rows", None)
    if rows:
        session.execute(_ENQUEUE, rows)


def sent_recently(session, kind, recipient, within=RECENTLY):
    counted = per_transaction(session, "sent_recently")
    if (kind, recipient.lower()) in counted and within == RECENTLY:
        return counted[kind, recipient.lower()]
    return session.scalar(select(func.count()).select_from(OutboxMail).where(
        OutboxMail.kind == kind, OutboxMail.recipient == recipient.lower(),
        OutboxMail.created_at > now() - within))


def count_sent_recently(session, kind, recipients):
    """What `sent_recently` answers for each of these recipients, asked in one statement and
    kept for the transaction (enqueue counts the mails it adds)."""
    wanted = {recipient.lower() for recipient in recipients}
    found = dict(session.execute(
        select(OutboxMail.recipient, func.count()).where(
            OutboxMail.kind == kind, OutboxMail.recipient.in_(wanted),
            OutboxMail.created_at > now() - RECENTLY).group_by(OutboxMail.recipient)).all())
    per_transaction(session, "sent_recently").update(
        {(kind, recipient): found.get(recipient, 0) for recipient in wanted})


def claim(connection, passing_over=()):
    """The next due mail, locked for this sender's transaction; None when nothing is due.
    `passing_over`: ids of mails not to take (the relay has them already)."""
    rows = claim_many(connection, 1, passing_over)
    return rows[0] if rows else None


# Built once: each sender runs it for every few mails it delivers
_outbox = OutboxMail.__table__
_DUE = (select(_outbox)
        .where(_outbox.c.status == "queued", _outbox.c.next_attempt_at <= bindparam("at"),
               _outbox.c.id != all_(bindparam("passing_over", type_=ARRAY(BigInteger))))
        .order_by(_outbox.c.next_attempt_at, _outbox.c.id).limit(bindparam("limit"))
        .with_for_update(skip_locked=True))


def claim_many(connection, limit, passing_over=()):
    """`claim` for up to `limit` due mails at once."""
    return connection.execute(_DUE, {"at": now(), "limit": limit,
                                     "passing_over": list(passing_over)}).all()


def lock_unsettled(connection, outbox_id):
    """Lock the mail's row; whether it still waits for its outcome (queued or committing)."""
    status = connection.scalar(select(OutboxMail.status).where(OutboxMail.id == outbox_id)
                               .with_for_update())
    return status in ("queued", "committing")


def mark_committing(connection, outbox_id):
    """The end of DATA goes out next: from here on the mail counts as sent if we die."""
    _set(connection, outbox_id, status="committing", committing_at=now())


def mark_sent(connection, row, unconfirmed=False, detail=""):
    _set(connection, row.id, status="sent", sent_at=now(), attempts=row.attempts + 1,
         unconfirmed=unconfirmed, last_error=detail or None)
    _attempt(connection, row.id, "sent", None, detail)


_ALL_SENT = text("""
    UPDATE notify.outbox o SET status = 'sent', sent_at = :at, attempts = s.attempts,
           unconfirmed = false, last_error = s.detail
    FROM jsonb_to_recordset(CAST(:sent AS jsonb)) AS s(id bigint, attempts int, detail text)
    WHERE o.id = s.id""")


def mark_all_sent(connection, sent):
    """`mark_sent` for several mails, [(row, detail)], in two statements."""
    at = now()
    details = [{"id": row.id, "attempts": row.attempts + 1, "detail": detail or None}
               for row, detail in sent]
    connection.execute(_ALL_SENT, {"at": at, "sent": json.dumps(details)})
    connection.execute(_ATTEMPTS, [
        {"outbox_id": item["id"], "at": at, "outcome": "sent", "code": None,
         "detail": (item["detail"] or "")[:2000]} for item in details])


def retry_later(connection, row, code, detail, max_delay, give_up_after):
    """A temporary failure: try again after a delay that doubles with each attempt, until the
    mail is older than `give_up_after`."""
    attempts = row.attempts + 1
    if now() - row.created_at > give_up_after:
        return mark_failed(connection, row, code, f"gave up after {attempts} attempts: {detail}")
    delay = min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), max_delay)
    _set(connection, row.id, status="queued", attempts=attempts, last_error=detail,
         next_attempt_at=now() + timedelta(seconds=delay), committing_at=None)
    _attempt(connection, row.id, "retry", code, detail)
    return "retry"


def mark_failed(connection, row, code, detail):
    _set(connection, row.id, status="failed", attempts=row.attempts + 1, last_error=detail,
         committing_at=None)
    _attempt(connection, row.id, "failed", code, detail)
    return "failed"


def settle_in_doubt(connection, older_than=timedelta(minutes=2)):
    """Mail whose sender died after starting the end of DATA: the relay most likely has it,
    and sending it again would deliver it twice — count it sent, flagged unconfirmed."""
    rows = connection.execute(select(OutboxMail.id, OutboxMail.attempts).where(
        OutboxMail.status == "committing", OutboxMail.committing_at < now() - older_than)
        .with_for_update(skip_locked=True)).all()
    for row in rows:
        mark_sent(connection, row, unconfirmed=True,
                  detail="the sender stopped before the relay confirmed the end of DATA")
    return len(rows)


def announce_failure(connection, row, recipients, code, detail):
    """notify.delivery_failed, recorded with the failure; the event relay publishes it."""
    event_id = str(uuid.uuid4())
    payload = {"event_id": event_id, "outbox_id": row.id, "kind": row.kind,
               "ticket_id": row.ticket_id, "message_id": row.ticket_message_id,
               "mail_message_id": row.message_id, "recipients": recipients, "code": code,
               "reason": detail}
    connection.execute(insert(NotifyEvent).values(id=event_id, event_type=contract.DELIVERY_FAILED,
                                                  payload=payload, created_at=now()))


def oldest_waiting_seconds(session):
    oldest = session.scalar(select(func.min(OutboxMail.created_at))
                            .where(OutboxMail.status.in_(["queued", "committing"])))
    return (now() - oldest).total_seconds() if oldest else 0.0


def counts(session):
    return dict(session.execute(select(OutboxMail.status, func.count())
                                .group_by(OutboxMail.status)).all())


def _set(connection, outbox_id, **values):
    connection.execute(update(OutboxMail).where(OutboxMail.id == outbox_id).values(**values))


def _attempt(connection, outbox_id, outcome, code, detail):
    connection.execute(insert(DeliveryAttempt).values(outbox_id=outbox_id, at=now(),
                                                      outcome=outcome, code=code,
                                                      detail=(detail or "")[:2000]))
