"""The senders: greenthreads that each take the next due mail from the outbox and hand it to
the transport, holding the row's lock until the mail is as good as sent.

One mail, one sender:
1. BEGIN; claim the row (FOR UPDATE SKIP LOCKED) — a second sender skips it.
2. Envelope and content go to the relay. Any failure here: the row is settled in the same
   transaction (retry later, or failed); a crash rolls back and the row is due again, and
   the relay dropped the half-sent mail.
3. The row is marked `committing` and COMMITTED; then the end of DATA goes out.
4. The relay's answer settles the row: sent, retried (4xx), failed (5xx). A sender that died
   in step 4 leaves a `committing` row, which `settle_in_doubt` later counts as sent.
"""
import logging
from datetime import timedelta

import eventlet
from eventlet.event import Event
from nameko.extensions import DependencyProvider

from helpdesk import config as settings
from helpdesk.database import green_psycopg, make_engine
from services.notify import metrics, outbox, transports

log = logging.getLogger(__name__)
IDLE_POLL_SECONDS = 1.0


class Postman(DependencyProvider):
    """Runs NOTIFY_SENDERS senders in the service's process; `wake()` after queueing mail."""

    def __init__(self):
        self.threads = []
        self.new_mail = Event()

    def setup(self):
        green_psycopg()
        config = self.container.config
        self.senders = max(1, int(config.get(settings.NOTIFY_SENDERS) or 4))
        self.engine = make_engine(config[settings.DATABASE_URL], self.senders + 1)
        self.max_delay = float(config.get(settings.NOTIFY_RETRY_MAX_SECONDS) or 300)
        self.give_up = timedelta(hours=float(config.get(settings.NOTIFY_GIVE_UP_HOURS) or 48))
        self.make_transport = lambda: transports.from_config(config)

    def start(self):
        self.threads = [self.container.spawn_managed_thread(self._run_sender)
                        for _ in range(self.senders)]
        self.threads.append(self.container.spawn_managed_thread(self._settle_periodically))

    def stop(self):
        for thread in self.threads:
            thread.kill()
        self.engine.dispose()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self

    def wake(self):
        if not self.new_mail.ready():
            self.new_mail.send(True)

    def _run_sender(self):
        transport = self.make_transport()
        try:
            while True:
                try:
                    handled = deliver_one(self.engine, transport, self.max_delay,
                                          self.give_up)
                except Exception:  # the database is away: wait and try again
                    log.exception("sending from the outbox failed; trying again shortly")
                    handled = False
                    eventlet.sleep(IDLE_POLL_SECONDS)
                if not handled:
                    self._wait_for_mail()
        finally:
            transport.close()

    def _wait_for_mail(self):
        with eventlet.Timeout(IDLE_POLL_SECONDS, False):
            self.new_mail.wait()
        if self.new_mail.ready():
            self.new_mail = Event()

    def _settle_periodically(self):
        while True:
            eventlet.sleep(30)
            try:
                with self.engine.begin() as connection:
                    settled = outbox.settle_in_doubt(connection)
                if settled:
                    log.warning("%d mail(s) counted as sent without the relay's confirmation "
                                "(their sender stopped at the end of DATA)", settled)
                with self.engine.connect() as connection:
                    metrics.observe_outbox(connection)
            except Exception:
                log.exception("settling the outbox failed")


def deliver_one(engine, transport, max_delay, give_up):
    """Send the next due mail; False when none is due. A mail that cannot be delivered (or
    recipients the relay refused) is announced as notify.delivery_failed, through the event
    outbox in the same transaction."""
    with engine.connect() as connection:
        transaction = connection.begin()
        row = outbox.claim(connection)
        if row is None:
            transaction.rollback()
            return False
        committed = []

        def point_of_no_return():
            outbox.mark_committing(connection, row.id)
            transaction.commit()
            committed.append(True)

        outcome, code, detail, refused = _attempt(transport, row, point_of_no_return)
        if committed:
            transaction = connection.begin()
        if outcome == "sent":
            outbox.mark_sent(connection, row, detail=detail)
        elif outcome == "unconfirmed":
            outbox.mark_sent(connection, row, unconfirmed=True, detail=detail)
        elif outcome == "retry":
            outcome = outbox.retry_later(connection, row, code, detail, max_delay, give_up)
        else:
            outbox.mark_failed(connection, row, code, detail)
        if outcome == "failed":
            outbox.announce_failure(connection, row, list(row.recipients), code, detail)
        elif refused:
            outbox.announce_failure(connection, row, list(refused), code, detail)
        transaction.commit()
    metrics.settled(row.kind, outcome)
    return True


def _attempt(transport, row, point_of_no_return):
    """(outcome, smtp code, detail, refused recipients) of handing one mail to the
    transport."""
    try:
        answer, refused = transport.send(row, point_of_no_return)
    except transports.PermanentFailure as error:
        return "failed", error.code, error.detail, {}
    except transports.TemporaryFailure as error:
        return "retry", error.code, error.detail, {}
    except transports.InDoubt as error:
        return "unconfirmed", None, str(error), {}
    if refused:
        refusals = "; ".join(f"{address}: {code} {text}" for address, (code, text)
                             in refused.items())
        log.warning("outbox %s: the relay refused some recipients: %s", row.id, refusals)
        worst = max(code for code, _ in refused.values())
        return "sent", worst, f"{answer}; refused: {refusals}", refused
    return "sent", None, answer, {}
