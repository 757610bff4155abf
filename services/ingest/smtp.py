"""The SMTP listener: a mail is accepted (250) only once its raw bytes are committed.

It runs as its own process on asyncio (aiosmtpd), apart from the nameko services: it only
stores and queues, so it stays fast and can be scaled and restarted on its own. Mails that
arrive while a commit is under way are stored together in the next (a group commit, one
INSERT and one commit for all of them) in a thread of its own; queueing runs in another.
"""
import asyncio
import logging
import re
from concurrent.futures import ThreadPoolExecutor

from aiosmtpd.smtp import SMTP
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from helpdesk import logs
from services.ingest import metrics, raw_mails

log = logging.getLogger(__name__)

TRY_LATER = "451 4.3.0 The help desk cannot store mail right now; please try again later"
MAX_RECIPIENTS = 100
MAX_GROUP = 50  # mails committed together
# `<local@domain> params` with dot-atoms of ASCII atext on both sides: what nearly every MAIL
# FROM and RCPT TO is, and what the email package's parser gives back unchanged
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(rf"[ \t]*<((?:{_ATEXT}\.)*{_ATEXT}@(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+)>"
                            r"[ \t]*+((?!\().*)", re.DOTALL)


class HelpdeskSMTP(SMTP):
    """aiosmtpd's SMTP, with a 552 that tells the sender what the limit is."""

    async def push(self, status):
        if status.startswith("552 Error"):
            megabytes = (self.data_size_limit or 0) / (1024 * 1024)
            status = (f"552 5.3.4 Message too big: this help desk accepts mail up to "
                      f"{megabytes:g} MB")
        await super().push(status)

    def _getaddr(self, arg):
        """aiosmtpd's, without the email package's full parser for a plain address: that
        parser was a fifth of the listener's CPU."""
        plain = _PLAIN_ADDRESS.fullmatch(arg or "")
        if plain is None or (self.local_part_limit and
                             len(plain[1].rpartition("@")[0]) > self.local_part_limit):
            return super()._getaddr(arg)
        return plain[1], plain[2]


class RawMailReceiver:
    """The aiosmtpd handler: stores each mail, then queues its id for the parse workers."""

    def __init__(self, engine, publisher):
        self.engine = engine
        self.publisher = publisher
        self.store_pool = ThreadPoolExecutor(1, thread_name_prefix="smtp-store")
        self.publish_pool = ThreadPoolExecutor(1, thread_name_prefix="smtp-queue")
        self.waiting = []  # (mail, future) arrived while the group before was committed
        self.committing = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        try:
            raw_mail_id = await self._stored((raw, envelope.mail_from,
                                              tuple(envelope.rcpt_tos)))
        except SQLAlchemyError as error:
            log.error("mail from %s not stored, answered 451: %s", envelope.mail_from, error)
            metrics.MAILS_DEFERRED.labels("smtp").inc()
            return TRY_LATER
        metrics.MAILS_RECEIVED.labels("smtp").inc()
        log.info("raw mail %s stored: from %s to %s, %d bytes", raw_mail_id, envelope.mail_from,
                 ", ".join(envelope.rcpt_tos), len(raw),
                 extra={logs.KEY: logs.mail_correlation(raw_mail_id)})
        return f"250 2.0.0 OK: stored as raw mail {raw_mail_id}"

    async def _stored(self, mail):
        """The mail's raw_mail_id once it is committed, with whatever else arrived meanwhile."""
        stored = asyncio.get_running_loop().create_future()
        self.waiting.append((mail, stored))
        if not self.committing:
            self.committing = True
            asyncio.create_task(self._commit_groups())
        return await stored

    async def _commit_groups(self):
        loop = asyncio.get_running_loop()
        try:
            while self.waiting:
                group, self.waiting = self.waiting[:MAX_GROUP], self.waiting[MAX_GROUP:]
                try:
                    ids = await loop.run_in_executor(self.store_pool, self._store,
                                                     [mail for mail, _ in group])
                except Exception as error:  # each sender is told to try again later
                    for _, stored in group:
                        stored.set_exception(error)
                    continue
                for (_, stored), raw_mail_id in zip(group, ids):
                    stored.set_result(raw_mail_id)
                # Not awaited: the mails are safe in the database whether or not the
                # queueing succeeds.
                loop.run_in_executor(self.publish_pool, self._publish, ids)
        finally:
            self.committing = False

    def _store(self, mails):
        with Session(self.engine) as session:
            return raw_mails.store_many(session, mails, "smtp")

    def _publish(self, ids):
        self.publisher.publish_group(ids)

    def close(self):
        self.store_pool.shutdown(wait=True)
        self.publish_pool.shutdown(wait=True)
        self.publisher.close()


async def serve(host, port, receiver, max_bytes):
    """Listen until cancelled."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: HelpdeskSMTP(receiver, data_size_limit=max_bytes, enable_SMTPUTF8=True,
                             decode_data=False, ident="helpdesk ESMTP"),
        host=host, port=port, reuse_address=True)
    log.info("SMTP listener on %s:%s, mail up to %s bytes", host, port, max_bytes)
    async with server:
        await server.serve_forever()
