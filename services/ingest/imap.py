"""Polling one IMAP mailbox: fetch what is new, hand each mail's bytes to `store_raw`, and only
once it is stored mark it (\\Seen) or delete it on the server. A crash between the two leaves
the mail unmarked: fetched again next time, and stored once thanks to its source key."""
import logging
import ssl
from dataclasses import dataclass

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

log = logging.getLogger(__name__)
BATCH = 50


class MailboxError(Exception):
    """The mailbox cannot be polled now; the message names the mailbox and the cause."""


@dataclass(frozen=True)
class Mailbox:
    id: int
    name: str
    host: str
    port: int
    security: str            # tls | starttls | none
    username: str
    password: str = ""
    folder: str = "INBOX"
    department_id: int | None = None
    after_import: str = "seen"   # seen | delete
    timeout: float = 30


@dataclass
class PollResult:
    fetched: int = 0
    stored: int = 0
    already_had: int = 0


def poll(mailbox, store_raw):
    """`store_raw(raw_bytes, source_key) -> created` must commit before it returns."""
    try:
        with _connected(mailbox) as client:
            return _poll_folder(client, mailbox, store_raw)
    except LoginError as error:
        raise MailboxError(f"mailbox {mailbox.name}: login refused for {mailbox.username}: "
                           f"{_text(error)}") from None
    except (IMAPClientError, OSError, ssl.SSLError) as error:
        raise MailboxError(f"mailbox {mailbox.name} ({mailbox.host}:{mailbox.port}): "
                           f"{_text(error)}") from None


def _connected(mailbox):
    client = IMAPClient(mailbox.host, port=mailbox.port, ssl=mailbox.security == "tls",
                        timeout=mailbox.timeout)
    if mailbox.security == "starttls":
        client.starttls()
    client.login(mailbox.username, mailbox.password)
    return client


def _poll_folder(client, mailbox, store_raw):
    status = client.select_folder(mailbox.folder)
    validity = status.get(b"UIDVALIDITY", 0)
    criteria = ["UNSEEN"] if mailbox.after_import == "seen" else ["NOT", "DELETED"]
    uids = client.search(criteria)
    result = PollResult()
    for start in range(0, len(uids), BATCH):
        batch = uids[start:start + BATCH]
        done = []
        for uid, data in client.fetch(batch, ["BODY.PEEK[]"]).items():
            result.fetched += 1
            created = store_raw(data[b"BODY[]"], f"imap:{mailbox.id}:{validity}:{uid}")
            result.stored += created
            result.already_had += not created
            done.append(uid)
        _mark(client, mailbox, done)
    return result


def _mark(client, mailbox, uids):
    if not uids:
        return
    if mailbox.after_import == "delete":
        client.delete_messages(uids)
        client.expunge()
    else:
        client.add_flags(uids, [b"\\Seen"])


def _text(error):
    return error.decode() if isinstance(error, bytes) else str(error)
