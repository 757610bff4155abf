"""The senders: greenthreads that each take the next due mail from the outbox and hand it to
the transport, holding the row's lock until the mail is as good as sent.

One mail, one sender:
1. BEGIN; claim the row (FOR UPDATE SKIP LOCKED) — a second sender skips it.
2. Envelope and content go to the relay. Any failure here: the row is settled in the same
   transaction (retry later, or failed); a crash rolls back and the row is due again, and
   the relay drops the half-sent mail.
3. The row is marked `committing`; the COMMIT and the final "." of DATA are written back to
   back, with no wait between them (helpdesk.database.when_sent). Dying before the COMMIT is
   written is step 2; dying after both are written leaves a delivered mail and a
   `committing` row. Only dying between the two writes — microseconds, no I/O wait — could
   lose a mail. (Committing first and then sending the "." lost one mail in a kill -9 test:
   the commit's round trip and eventlet's scheduling made that gap milliseconds long.)
4. The relay's answer settles the row: sent, retried (4xx), failed (5xx). A sender that died
   in step 4 leaves a `committing` row, which `settle_in_doubt` later counts as sent.
A transport that delivers a mail again in place (the Maildir: the file is named after the
row) needs none of this: a sender claims up to SEND_TOGETHER due mails, delivers them and
records them in one transaction; a crash before its commit only delivers them again.
If it is the database that fails the COMMIT of step 3 once the end of DATA is out (PostgreSQL
restarting), the relay has the mail but the row is still `queued`: the sender reads the
relay's answer all the same and keeps it in `handed_over` — the process's senders pass over
that row — until the database takes it (`record_handed_over`); so too the relay's answer
when the database fails after step 3. (Sending it again, as the row alone says, delivered it
twice in the chaos test. A notify replica other than this one could still take the row if it
came to it before the database is back and this one recorded it: run notify as one process,
or accept that rare second copy.)
"""
import logging
from datetime import timedelta

import eventlet
from eventlet.event import Event
from nameko.extensions import DependencyProvider
from sqlalchemy.exc import DBAPIError

from helpdesk import config as settings
from helpdesk import database
from helpdesk.database import green_psycopg, make_engine
from services.notify import metrics, outbox, transports

log = logging.getLogger(__name__)
IDLE_POLL_SECONDS = 1.0
METRICS_SECONDS, SETTLE_EVERY = 5, 6  # outbox gauges every 5 s; in-doubt rows every 30 s
STOP_GRACE_SECONDS = 10  # a mail being handed over is finished, not cut off, on a stop
SEND_TOGETHER = 20  # mails a sender claims and records at once where it may (the Maildir)


class Postman(DependencyProvider):
    """Runs NOTIFY_SENDERS senders in the service's process; `wake()` after queueing mail."""

    def __init__(self):
        self.senders_running, self.housekeeper = [], None
        self.stopping = False
        self.new_mail = Event()
        self.handed_over = {}  # outbox id -> (row, outcome) the database has still to record

    def setup(self):
        green_psycopg()
        config = self.container.config
        self.senders = max(1, int(config.get(settings.NOTIFY_SENDERS) or 4))
        self.engine = make_engine(config[settings.DATABASE_URL], self.senders + 1,
                                  "helpdesk notify senders")
        self.max_delay = float(config.get(settings.NOTIFY_RETRY_MAX_SECONDS) or 300)
        self.give_up = timedelta(hours=float(config.get(settings.NOTIFY_GIVE_UP_HOURS) or 48))
        self.make_transport = lambda: transports.from_config(config)

    def start(self):
        self.stopping = False
        self.senders_running = [self.container.spawn_managed_thread(self._run_sender)
                                for _ in range(self.senders)]
        self.housekeeper = self.container.spawn_managed_thread(self._look_after_outbox)

    def stop(self):
        """Let each sender finish the mail in hand, then stop."""
        self.stopping = True
        self.wake()
        with eventlet.Timeout(STOP_GRACE_SECONDS, False):
            for thread in self.senders_running:
                thread.wait()
            self._record_handed_over()
        self.kill()

    def kill(self):
        for thread in [*self.senders_running, self.housekeeper]:
            if thread is not None:
                thread.kill()
        self.engine.dispose()

    def get_dependency(self, worker_ctx):
        return self

    def wake(self):
        if not self.new_mail.ready():
            self.new_mail.send(True)

    def _run_sender(self):
        transport = self.make_transport()
        try:
            while not self.stopping:
                try:
                    record_handed_over(self.engine, self.handed_over, self.max_delay,
                                       self.give_up)
                    deliver = deliver_together if transport.delivers_again_in_place \
                        else deliver_one
                    handled = deliver(self.engine, transport, self.max_delay, self.give_up,
                                      self.handed_over)
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

    def _look_after_outbox(self):
        rounds = 0
        while True:
            eventlet.sleep(METRICS_SECONDS)
            rounds += 1
            try:
                if rounds % SETTLE_EVERY == 0:
                    self._settle()
                with self.engine.connect() as connection:
                    metrics.observe_outbox(connection)
            except Exception:
                log.exception("looking after the outbox failed")

    def _record_handed_over(self):
        try:
            record_handed_over(self.engine, self.handed_over, self.max_delay, self.give_up)
        except Exception:
            log.exception("the outcome of %d mail(s) the relay took could not be recorded; "
                          "they may go out again", len(self.handed_over))

    def _settle(self):
        with self.engine.begin() as connection:
            settled = outbox.settle_in_doubt(connection)
        if settled:
            log.warning("%d mail(s) counted as sent without the relay's confirmation "
                        "(their sender stopped at the end of DATA)", settled)


def deliver_one(engine, transport, max_delay, give_up, handed_over=None):
    """Send the next due mail; False when none is due. A mail that cannot be delivered (or
    recipients the relay refused) is announced as notify.delivery_failed, through the event
    outbox in the same transaction. `handed_over` ({outbox id: (row, outcome)}, shared by a
    process's senders) takes the mails the relay got while the database lost their row's
    commit; they are not claimed again (see record_handed_over)."""
    handed_over = {} if handed_over is None else handed_over
    with engine.connect() as connection:
        transaction = connection.begin()
        row = outbox.claim(connection, passing_over=handed_over)
        if row is None:
            transaction.rollback()
            return False
        committed, lost = [], []

        def commit_then(end_data):
            """Commit the row as `committing`, with `end_data` written the moment the COMMIT
            is on the wire (or right after the commit, without eventlet's wait callback)."""
            outbox.mark_committing(connection, row.id)
            dbapi_connection = connection.connection.dbapi_connection
            ended = []
            database.when_sent(dbapi_connection, lambda: ended.append(end_data()))
            try:
                transaction.commit()
            except Exception as error:
                if not any(ended):
                    raise  # the end of DATA never went out: the relay drops the mail
                lost.append(error)  # it did: the relay has the mail, whatever the database
                return
            finally:
                database.forget_sent(dbapi_connection)
            committed.append(True)
            end_data()  # a no-op when the wait callback already ran it

        outcome = _attempt(transport, row, commit_then)
        if committed or lost:  # the end of DATA went out: its outcome is recorded, now or later
            settled = _record_handed(connection, row, outcome, max_delay, give_up, lost,
                                     handed_over)
        else:
            settled = _record_outcome(connection, row, outcome, max_delay, give_up)
            transaction.commit()
    if settled:
        metrics.settled(row.kind, settled)
    return True


def deliver_together(engine, transport, max_delay, give_up, handed_over=None,
                     limit=SEND_TOGETHER):
    """For a transport that delivers a mail again in place: up to `limit` due mails claimed,
    delivered and recorded in one transaction; False when none is due."""
    with engine.connect() as connection, connection.begin():
        rows = outbox.claim_many(connection, limit, passing_over=handed_over or ())
        attempts = [(row, _attempt(transport, row, _no_commit_then)) for row in rows]
        sent = [(row, outcome[2]) for row, outcome in attempts
                if outcome[0] == "sent" and not outcome[3]]
        if sent:
            outbox.mark_all_sent(connection, sent)
        settled = [("sent", row) for row, _ in sent] + [
            (_record_outcome(connection, row, outcome, max_delay, give_up), row)
            for row, outcome in attempts if outcome[0] != "sent" or outcome[3]]
    for how, row in settled:
        metrics.settled(row.kind, how)
    return bool(rows)


def _no_commit_then(end_data):
    raise RuntimeError("a transport that delivers again in place has no end of DATA to time")


def _record_handed(connection, row, outcome, max_delay, give_up, lost, handed_over):
    """Record the relay's answer about a mail whose end of DATA went out; None when the
    database cannot take it now (a relay's 4xx must not become `sent` by settle_in_doubt,
    nor a mail the relay has go out again): it waits in `handed_over`."""
    if not lost:
        try:
            with connection.begin():
                return _record_outcome(connection, row, outcome, max_delay, give_up)
        except DBAPIError as error:
            lost.append(error)
    handed_over[row.id] = (row, outcome)
    log.warning("outbox %s: the relay has the mail, but the database could not record it "
                "(%s); recorded once it answers", row.id, lost[0])
    return None


def record_handed_over(engine, handed_over, max_delay, give_up):
    """Record the outcome of the mails the relay took while the database lost their commit
    (raises while the database is still away); a row settled meanwhile stays as it is."""
    for outbox_id, (row, outcome) in list(handed_over.items()):
        with engine.begin() as connection:
            settled = outbox.lock_unsettled(connection, outbox_id) and \
                _record_outcome(connection, row, outcome, max_delay, give_up)
        handed_over.pop(outbox_id, None)
        if settled:
            metrics.settled(row.kind, settled)
            log.warning("outbox %s: recorded as %s after the database came back", outbox_id,
                        settled)


def _record_outcome(connection, row, outcome, max_delay, give_up):
    """Record the outcome of an attempt; returns how the mail stands (sent, retry, failed)."""
    outcome, code, detail, refused = outcome
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
    return outcome


def _attempt(transport, row, commit_then):
    """(outcome, smtp code, detail, refused recipients) of handing one mail to the
    transport."""
    try:
        answer, refused = transport.send(row, commit_then)
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
