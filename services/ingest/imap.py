"""Polling one IMAP mailbox: fetch what is not yet imported, hand each mail's bytes to
`store_raw`, and only once it is committed mark it \\Seen (or delete it) on the server.

A crash, a dropped connection or a failed store between the two leaves the mail unmarked: it is
fetched again next time and stored once, thanks to its source key (`imap:<mailbox id>:
<uidvalidity>:<uid>`, a unique column). So the poller keeps no state of its own, and several
pollers on one mailbox cannot import a message twice. The caller still takes a per-mailbox lock
(a PostgreSQL advisory lock in `polling.py`): not for correctness, but so that replicas do not
download the same mails in parallel. That is why `poll` takes no lock of its own.
"""
import logging
from dataclasses import dataclass, field

from imapclient.exceptions import IMAPClientError, LoginError

from services.ingest.imap_session import SECURITIES, connected, error_text

log = logging.getLogger(__name__)

MAX_MAIL_BYTES = 25 * 1024 * 1024      # the same default as the SMTP listener's limit
BATCH_MESSAGES = 50
# A fetch holds its mails in memory until each is stored: this bounds that, not only the count.
BATCH_BYTES = 64 * 1024 * 1024
# The store failing for this many mails in a row means the database is down: try again later.
STORE_FAILURES_IN_A_ROW = 3
SEEN, DELETED = b"\\Seen", b"\\Deleted"
# PEEK: reading the header of a mail we leave on the server must not mark it read either.
TOO_BIG_HEADER = "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)]"


class MailboxError(Exception):
    """The mailbox cannot be polled now (login refused, server unreachable, connection lost).
    The message names the mailbox; `result` counts what was done before it happened."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class Mailbox:
    id: int
    name: str
    host: str
    port: int
    security: str                  # tls | starttls | none
    username: str
    password: str = field(default="", repr=False)    # a Mailbox may end up in a log
    folder: str = "INBOX"
    department_id: int | None = None
    after_import: str = "seen"     # seen | delete
    timeout: float = 30            # seconds, for connecting and for every answer

    def __post_init__(self):
        if self.security not in SECURITIES:
            raise ValueError(f"mailbox {self.name}: security must be one of {SECURITIES}")
        if self.after_import not in ("seen", "delete"):
            raise ValueError(f"mailbox {self.name}: after_import must be 'seen' or 'delete'")

    def source_key(self, uidvalidity, uid):
        return f"imap:{self.id}:{uidvalidity}:{uid}"


@dataclass
class PollResult:
    fetched: int = 0        # mails downloaded
    stored: int = 0         # of those, new raw mails
    already_had: int = 0    # of those, stored before (by an earlier poll or another poller)
    errors: int = 0         # mails the store refused: left unmarked, fetched again next time
    too_big: list = field(default_factory=list)   # TooBig mails, left untouched on the server
    uidvalidity: int | None = None


@dataclass(frozen=True)
class TooBig:
    """A mail over the size limit, with enough of its header for an admin to find it."""
    uid: int
    size: int
    header: bytes           # its From, Subject and Date lines, as the server has them


def poll(mailbox, store_raw, *, max_bytes=MAX_MAIL_BYTES, batch_size=BATCH_MESSAGES,
         ssl_context=None):
    """Import what is new in `mailbox.folder`; returns a PollResult.

    `store_raw(raw_bytes, source_key) -> created` must have committed the mail when it returns
    (False: that source key was stored already). If it raises, the mail stays unmarked.
    Raises MailboxError when the server refuses the login or cannot be talked to.
    """
    result = PollResult()
    try:
        with connected(mailbox, ssl_context) as client:
            _poll_folder(client, mailbox, store_raw, result, max_bytes, batch_size)
    except LoginError as error:
        raise MailboxError(f"mailbox {mailbox.name}: login refused for user {mailbox.username} "
                           f"at {mailbox.host}:{mailbox.port}: {error_text(error)}",
                           result) from None
    except (IMAPClientError, OSError) as error:
        raise MailboxError(f"mailbox {mailbox.name} ({mailbox.host}:{mailbox.port}, folder "
                           f"{mailbox.folder}): {error_text(error)}", result) from None
    return result


def _poll_folder(client, mailbox, store_raw, result, max_bytes, batch_size):
    status = client.select_folder(mailbox.folder)
    if not status.get(b"READ-WRITE"):
        # Mails we cannot mark would be downloaded again on every poll.
        raise IMAPClientError("the folder is read-only, imported mails could not be marked")
    if b"UIDVALIDITY" not in status:
        raise IMAPClientError("the server gives no UIDVALIDITY: its UIDs cannot be trusted")
    # A new UIDVALIDITY gives every message a new source key: mails already marked are not
    # searched for again, so at worst a mail stored but not yet marked is stored twice (the
    # parser's Message-ID idempotency keeps that to one ticket message).
    result.uidvalidity = status[b"UIDVALIDITY"]
    uids = sorted(client.search(_not_yet_imported(mailbox)))   # oldest first: arrival order
    failures = 0
    for start in range(0, len(uids), batch_size):
        sizes = _sizes(client, uids[start:start + batch_size])
        wanted, too_big = _by_limit(sizes, max_bytes)
        _note_too_big(client, mailbox, too_big, sizes, max_bytes, result)
        for chunk in _chunks(wanted, sizes):
            safe, failures = _store_chunk(client, mailbox, chunk, store_raw, result, failures)
            _mark(client, mailbox, safe)
            if failures >= STORE_FAILURES_IN_A_ROW:
                log.error("mailbox %s: the mail store keeps failing, stopping this poll",
                          mailbox.name)
                return


def _not_yet_imported(mailbox):
    # With "seen", a mail someone read in a mail client before we polled is not imported:
    # the price of sharing a mailbox with people. "delete" takes everything still there.
    return ["UNSEEN", "NOT", "DELETED"] if mailbox.after_import == "seen" else ["NOT", "DELETED"]


def _sizes(client, uids):
    # Mails expunged since the search (by another poller) simply do not answer.
    answers = client.fetch(uids, ["RFC822.SIZE"])
    return {uid: answers[uid][b"RFC822.SIZE"] for uid in uids
            if b"RFC822.SIZE" in answers.get(uid, {})}


def _by_limit(sizes, max_bytes):
    """(UIDs to import, UIDs over the limit)."""
    if max_bytes is None:
        return list(sizes), []
    return ([uid for uid, size in sizes.items() if size <= max_bytes],
            [uid for uid, size in sizes.items() if size > max_bytes])


def _note_too_big(client, mailbox, uids, sizes, max_bytes, result):
    # Left as it is (unread, not deleted): nothing is lost, and an admin can deal with it.
    # Reported on every poll until then; the header lines say which mail it is.
    if not uids:
        return
    answers = client.fetch(uids, [TOO_BIG_HEADER])
    for uid in uids:
        header = next((value for key, value in answers.get(uid, {}).items()
                       if key.startswith(b"BODY[HEADER")), None) or b""
        result.too_big.append(TooBig(uid, sizes[uid], header))
        log.warning("mailbox %s: message uid %s is %s bytes, over the %s byte limit; "
                    "left on the server, not imported", mailbox.name, uid, sizes[uid], max_bytes)


def _chunks(uids, sizes, budget=BATCH_BYTES):
    chunk, total = [], 0
    for uid in uids:
        if chunk and total + sizes[uid] > budget:
            yield chunk
            chunk, total = [], 0
        chunk.append(uid)
        total += sizes[uid]
    if chunk:
        yield chunk


def _store_chunk(client, mailbox, uids, store_raw, result, failures):
    """Store each mail of the chunk; returns (UIDs now safe in the database, failures in a row)."""
    # BODY.PEEK: fetching must not set \Seen before the mail is stored.
    answers = client.fetch(uids, ["BODY.PEEK[]"])
    safe = []
    for uid in uids:
        # Unsolicited FETCH answers (another session's flag changes) carry no body: skip them.
        raw = answers.get(uid, {}).get(b"BODY[]")
        if raw is None or failures >= STORE_FAILURES_IN_A_ROW:
            continue
        result.fetched += 1
        try:
            created = store_raw(raw, mailbox.source_key(result.uidvalidity, uid))
        except Exception as error:
            failures += 1
            result.errors += 1
            # One traceback per poll is enough to find the cause; more is noise.
            log.error("mailbox %s: could not store message uid %s (%s); left unmarked on the "
                      "server for the next poll", mailbox.name, uid, error,
                      exc_info=result.errors == 1)
            continue
        failures = 0
        result.stored += bool(created)
        result.already_had += not created
        safe.append(uid)
    return safe, failures


def _mark(client, mailbox, uids):
    if not uids:
        return
    if mailbox.after_import == "seen":
        client.add_flags(uids, [SEEN], silent=True)
        return
    client.add_flags(uids, [DELETED], silent=True)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        # Without UIDPLUS, EXPUNGE removes every \Deleted mail of the folder; all of them are
        # either ours (stored) or deleted on purpose by a person (never imported).
        client.expunge()
