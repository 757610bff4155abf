"""IMAP polling as the ingest service runs it: which mailboxes are due, one poller per
mailbox at a time across every replica (a PostgreSQL advisory lock), and each fetched mail
stored — then queued — before the poller marks it on the server."""
import logging

from sqlalchemy import text
from sqlalchemy.orm import Session

from helpdesk import config as settings
from services.ingest import imap, mailboxes, metrics, raw_mails

log = logging.getLogger(__name__)


def poll_due(session, config, publish_ids, load_departments):
    """Poll every enabled mailbox not polled for IMAP_POLL_SECONDS."""
    configured = config.get(settings.MAILBOXES) or []
    if configured:
        names = {d["name"].lower(): d["id"] for d in load_departments()}
        mailboxes.sync_from_config(session, configured, names)
    every = float(config.get(settings.IMAP_POLL_SECONDS, 30))
    for row in mailboxes.due(session, every):
        poll_one(session, mailboxes.settings(row), publish_ids)


def poll_one(session, mailbox, publish_ids):
    """Poll one mailbox unless another replica is polling it right now."""
    engine = session.get_bind()
    with engine.connect() as lock:
        key = f"imap-mailbox:{mailbox.id}"
        if not lock.scalar(text("SELECT pg_try_advisory_lock(hashtextextended(:k, 0))"),
                           {"k": key}):
            return None
        try:
            return _poll_locked(engine, session, mailbox, publish_ids)
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), {"k": key})
            lock.commit()


def _poll_locked(engine, session, mailbox, publish_ids):
    def store_raw(raw, source_key):
        with Session(engine) as own:
            raw_mail_id, created = raw_mails.store(own, raw, "imap", mailbox_id=mailbox.id,
                                                   source_key=source_key)
        if created:
            metrics.MAILS_RECEIVED.labels("imap").inc()
            publish_ids([raw_mail_id])
        return created

    error = None
    try:
        result = imap.poll(mailbox, store_raw)
    except imap.MailboxError as failure:
        error, result = str(failure), None
        log.warning("mailbox %s: %s", mailbox.name, failure)
    mailboxes.polled(session, mailbox.id, error)
    return result
