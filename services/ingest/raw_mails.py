"""The raw mail store: every mail is committed here, byte for byte, before anyone is told
"received" — the SMTP client's 250, the IMAP server's \\Seen. Everything after that can fail
and be repeated; this step cannot."""
import base64
import hashlib
import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import BigInteger, any_, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.orm import undefer

from helpdesk.errors import Conflict, NotFound
from services.ingest.models import RawMail

# A mail that took this many tries without an answer (its worker died each time) is poison.
MAX_ATTEMPTS = 5


def store(session, raw, source, *, envelope_sender=None, envelope_recipients=(),
          mailbox_id=None, source_key=None):
    """Commit a raw mail; returns (raw_mail_id, created). With a `source_key` (an IMAP
    message's identity) the same mail stored twice, even by two pollers, is one row."""
    values = _values(raw, source, envelope_sender, envelope_recipients, mailbox_id, source_key)
    table = RawMail.__table__  # Core, not the ORM: this runs before every SMTP 250
    statement = insert(table).values(**values, received_at=func.now()).returning(table.c.id)
    if source_key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=[table.c.source_key])
    raw_mail_id = session.scalar(statement)
    created = raw_mail_id is not None
    if not created:
        raw_mail_id = session.scalar(select(RawMail.id).where(RawMail.source_key == source_key))
    session.commit()
    return raw_mail_id, created


# Built once (it runs for every group the listener commits); received_at: one time for the
# group, PostgreSQL's, as store() takes
_STORE_MANY = insert(RawMail.__table__).values(received_at=func.now()) \
    .returning(RawMail.__table__.c.id, sort_by_parameter_order=True)


def store_many(session, mails, source):
    """Commit several raw mails in one INSERT and one commit (the SMTP listener's group
    commit); `mails` is [(raw, envelope_sender, envelope_recipients)]; their ids, in order."""
    rows = [_values(raw, source, sender, recipients) for raw, sender, recipients in mails]
    ids = session.scalars(_STORE_MANY, rows).all()
    session.commit()
    return ids


def _values(raw, source, envelope_sender=None, envelope_recipients=(), mailbox_id=None,
            source_key=None):
    return {"sha256": hashlib.sha256(raw).hexdigest(), "size": len(raw), "content": raw,
            "source": source, "source_key": source_key, "mailbox_id": mailbox_id,
            "envelope_sender": envelope_sender,
            "envelope_recipients": list(envelope_recipients), "status": "received",
            "attempts": 0, "trail": []}


def claim(session, raw_mail_id):
    """The raw mail to work on, with one more attempt counted; None when there is nothing
    to do (already processed, quarantined or ignored; or an unknown id)."""
    return claim_many(session, [raw_mail_id])[0]


# Plain rows, not entities, and a statement built once: this runs for every group of mails,
# and making it each time was a third of what a claim cost
_CLAIM = (update(RawMail.__table__)
          .where(RawMail.__table__.c.id == any_(bindparam("ids", type_=ARRAY(BigInteger))),
                 RawMail.__table__.c.status == "received")
          .values(attempts=RawMail.__table__.c.attempts + 1)
          .returning(*RawMail.__table__.c))


def claim_many(session, raw_mail_ids):
    """`claim` for the mails of concurrent workers, in one statement and one commit: one
    answer each, in order. The same id twice in a batch is claimed once (for the first)."""
    rows = {row.id: row for row in session.execute(_CLAIM, {"ids": sorted(set(raw_mail_ids))})}
    session.commit()
    return [rows.pop(raw_mail_id, None) for raw_mail_id in raw_mail_ids]


def release(session, raw_mail_id):
    """Take back the attempt of a try that failed for reasons not the mail's own (tickets or
    the database unreachable): only workers dying on the mail itself make it poison."""
    session.execute(update(RawMail).where(RawMail.id == raw_mail_id, RawMail.status == "received",
                                          RawMail.attempts > 0)
                    .values(attempts=RawMail.attempts - 1))
    session.commit()


def finish(session, raw_mail_id, status, *, reason=None, ticket_id=None, message_id=None,
           trail=()):
    """Record what became of a raw mail: processed, ignored or quarantined."""
    finish_many(session, [(raw_mail_id, status, {"reason": reason, "ticket_id": ticket_id,
                                                 "message_id": message_id, "trail": trail})])


_FINISHED = text("""
    UPDATE ingest.raw_mail r SET status = d.status, reason = d.reason, ticket_id = d.ticket_id,
           message_id = d.message_id, trail = d.trail, processed_at = now()
    FROM jsonb_to_recordset(CAST(:outcomes AS jsonb))
         AS d(id bigint, status text, reason text, ticket_id bigint, message_id bigint,
              trail jsonb)
    WHERE r.id = d.id""")


def finish_many(session, outcomes):
    """`finish` for the mails of concurrent workers, in one statement and one commit:
    `outcomes` is [(raw_mail_id, status, {reason, ticket_id, message_id, trail})]."""
    rows = [{"id": raw_mail_id, "status": status, "reason": outcome.get("reason"),
             "ticket_id": outcome.get("ticket_id"), "message_id": outcome.get("message_id"),
             "trail": list(outcome.get("trail") or ())}
            for raw_mail_id, status, outcome in outcomes]
    session.execute(_FINISHED, {"outcomes": json.dumps(rows)})
    session.commit()
    return [None] * len(outcomes)


def due_for_sweep(session, older_than_seconds, limit=500):
    """Raw mails left in `received` too long (a publish lost, a worker gone): claimed for
    republishing, so a second sweeper replica does not republish them as well."""
    cutoff = datetime.now(timezone.utc) - timedelta(seconds=older_than_seconds)
    waiting = (select(RawMail.id).where(RawMail.status == "received",
                                        func.coalesce(RawMail.published_at,
                                                      RawMail.received_at) < cutoff)
               .order_by(RawMail.id).limit(limit).with_for_update(skip_locked=True))
    ids = list(session.scalars(update(RawMail).where(RawMail.id.in_(waiting.scalar_subquery()))
                               .values(published_at=func.now()).returning(RawMail.id)))
    session.commit()
    return sorted(ids)


def get(session, raw_mail_id, with_content=False):
    query = select(RawMail).where(RawMail.id == raw_mail_id)
    if with_content:
        query = query.options(undefer(RawMail.content))
    row = session.scalar(query)
    if row is None:
        raise NotFound("RAW_MAIL_NOT_FOUND", f"raw mail {raw_mail_id} does not exist")
    return row


def listing(session, status="quarantined", limit=50, offset=0):
    rows = session.scalars(select(RawMail).where(RawMail.status == status)
                           .order_by(RawMail.id.desc()).limit(limit).offset(offset))
    total = session.scalar(select(func.count()).where(RawMail.status == status))
    return list(rows), total


def requeue(session, raw_mail_id):
    """Give a quarantined (or ignored) mail another go, after its cause was fixed."""
    row = get(session, raw_mail_id)
    if row.status not in ("quarantined", "ignored"):
        raise Conflict("NOT_QUARANTINED", f"raw mail {raw_mail_id} is {row.status}, "
                       "only quarantined or ignored mail can be reprocessed")
    row.status, row.attempts, row.published_at = "received", 0, func.now()
    session.commit()
    return row


def counts_by_status(session):
    return dict(session.execute(text(
        "SELECT status, count(*) FROM ingest.raw_mail GROUP BY status")).all())


def as_dict(row, with_content=False):
    data = {"id": row.id, "sha256": row.sha256, "size": row.size, "source": row.source,
            "mailbox_id": row.mailbox_id, "envelope_sender": row.envelope_sender,
            "envelope_recipients": list(row.envelope_recipients or []),
            "received_at": row.received_at.isoformat(), "status": row.status,
            "attempts": row.attempts, "reason": row.reason, "ticket_id": row.ticket_id,
            "message_id": row.message_id, "trail": row.trail,
            "processed_at": row.processed_at.isoformat() if row.processed_at else None}
    if with_content:
        data["content_base64"] = base64.b64encode(row.content).decode("ascii")
    return data
