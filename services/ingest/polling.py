"""IMAP polling as the ingest service runs it: which mailboxes are due, one poller per
mailbox at a time across every replica (a PostgreSQL advisory lock), and each fetched mail
stored — then queued — before the poller marks it on the server. What went wrong in a poll
(a refused login, an unreachable server, mails left over the size limit) is kept as the
mailbox's last_error, which the admin API shows; a clean poll clears it."""
import logging

from sqlalchemy import text
from sqlalchemy.orm import Session

from helpdesk import config as settings
from helpdesk.errors import InvalidInput
from services.ingest import imap, mailboxes, metrics, raw_mails
from services.ingest.parsing import UnparseableMail, parse

log = logging.getLogger(__name__)
# Mails over the size limit named one by one in a mailbox's last error; the rest are counted.
TOO_BIG_NAMED = 5


def poll_due(session, config, publish_ids, load_departments):
    """Poll every enabled mailbox not polled for IMAP_POLL_SECONDS."""
    _sync_configured(session, config.get(settings.MAILBOXES) or [], load_departments)
    every = float(config.get(settings.IMAP_POLL_SECONDS, 30))
    max_bytes = int(config.get(settings.MAX_MAIL_BYTES, imap.MAX_MAIL_BYTES))
    for row in mailboxes.due(session, every):
        poll_one(session, mailboxes.settings(row), publish_ids, max_bytes)


def _sync_configured(session, configured, load_departments):
    if not configured:
        return
    names = {d["name"].lower(): d["id"] for d in load_departments()}
    try:
        mailboxes.sync_from_config(session, configured, names)
    except InvalidInput as error:
        # A slip in the config file must not stop the polling of every other mailbox.
        session.rollback()
        log.error("MAILBOXES in the config file: %s; mailboxes are polled as they were", error)


def poll_one(session, mailbox, publish_ids, max_bytes=imap.MAX_MAIL_BYTES):
    """Poll one mailbox unless another replica is polling it right now; the mailbox's
    last_error then says what went wrong (None after a clean poll)."""
    engine = session.get_bind()
    with engine.connect() as lock:
        key = f"imap-mailbox:{mailbox.id}"
        if not lock.scalar(text("SELECT pg_try_advisory_lock(hashtextextended(:k, 0))"),
                           {"k": key}):
            return None
        try:
            return _poll_locked(engine, session, mailbox, publish_ids, max_bytes)
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), {"k": key})
            lock.commit()


def _poll_locked(engine, session, mailbox, publish_ids, max_bytes):
    def store_raw(raw, source_key):
        with Session(engine) as own:
            raw_mail_id, created = raw_mails.store(own, raw, "imap", mailbox_id=mailbox.id,
                                                   source_key=source_key)
        if created:
            metrics.MAILS_RECEIVED.labels("imap").inc()
            publish_ids([raw_mail_id])
        return created

    try:
        result, failure = imap.poll(mailbox, store_raw, max_bytes=max_bytes), None
    except imap.MailboxError as error:
        result, failure = error.result, error
        log.warning("%s", error)
    mailboxes.polled(session, mailbox.id, problems(failure, result, max_bytes))
    return result


def problems(failure, result, max_bytes):
    """What went wrong in a poll, in words for the admin page; None after a clean poll."""
    found = [str(failure)] if failure else []
    if result is not None:
        found += [_too_big(mail, max_bytes) for mail in result.too_big[:TOO_BIG_NAMED]]
        if len(result.too_big) > TOO_BIG_NAMED:
            found.append(f"{len(result.too_big) - TOO_BIG_NAMED} more messages over the "
                         f"{_size(max_bytes)} limit left on the server")
        if result.errors:
            found.append(f"{result.errors} messages could not be stored (see the ingest log); "
                         "left on the server for the next poll")
    return "; ".join(found) or None


def _too_big(mail, max_bytes):
    return (f"message uid {mail.uid}{_named(mail.header)} is {_size(mail.size)}, over the "
            f"{_size(max_bytes)} limit: left on the server, not imported")


def _named(header):
    """' from <sender> "<subject>"', read by the parser (encoded words, charsets and all), so
    an admin can find the mail in a mail client."""
    try:
        mail = parse(header)
    except UnparseableMail:   # the server gave no header lines
        return ""
    sender = f" from {mail.from_.email}" if mail.from_ and mail.from_.email else ""
    return f'{sender} "{mail.subject}"' if mail.subject else sender


def _size(count):
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{count} bytes"
