"""The mail ingest service: entrypoints only. Parse workers consume raw-mail ids from a
durable queue; timers sweep up what was never queued and poll IMAP mailboxes; RPCs let admins
see and reprocess quarantined mail and manage mailboxes and routing rules."""
import logging

import eventlet
from nameko.dependency_providers import Config
from nameko.messaging import Publisher, consume
from nameko.timer import timer

from helpdesk import config as settings
from helpdesk import logs
from helpdesk.admins import require_admin
from helpdesk.batching import Batches
from helpdesk.contract import system
from helpdesk.correlation import Correlation
from helpdesk.database import Database
from helpdesk.metrics import EntrypointMetrics
from helpdesk.rpc import rpc
from helpdesk.service_calls import ServiceCalls
from services.ingest import (handover, mailboxes, metrics, parse_preview, polling,
                             processing, queue, raw_mails, rules)
from services.ingest.directory import DirectoryCache

log = logging.getLogger(__name__)
INGEST = system("ingest")
MAX_LEDGER_BATCH = 50  # raw mails claimed, or finished, in one statement


class IngestService:
    name = "ingest"

    db = Database()
    tickets = ServiceCalls("tickets")
    publish = Publisher(exchange=queue.EXCHANGE, declare=[queue.RAW_MAIL_QUEUE])
    config = Config()
    metrics = EntrypointMetrics()
    correlation = Correlation()
    directory = DirectoryCache()
    batches = Batches("hand_over", max_size=handover.MAX_BATCH)
    claims = Batches("claim", max_size=MAX_LEDGER_BATCH)
    finishes = Batches("finish", max_size=MAX_LEDGER_BATCH)

    # --- parse workers ----------------------------------------------------------------------
    @consume(queue.RAW_MAIL_QUEUE)
    def handle_raw_mail(self, body):
        """Process one raw mail, or the group of them the message names; trouble that is not
        the mails' fault leaves them `received` for the sweeper (the queue message is acked
        either way: the database is the truth)."""
        ids = queue.ids_in(body)
        self.correlation(logs.mail_correlation(ids[0]))
        try:
            processing.process_many(self.db, ids, self._context, self._hand_over_many,
                                    _TogetherLedger(self))
        except (Exception, eventlet.Timeout) as error:
            log.warning("raw mail(s) %s left for a later try: %r", ", ".join(map(str, ids)),
                        error)
            self.db.rollback()
            try:
                for raw_mail_id in ids:
                    raw_mails.release(self.db, raw_mail_id)
            except Exception:  # the database itself is away: the sweeper will see to it
                self.db.rollback()

    @timer(interval=10)
    def sweep(self):
        """Queue again the raw mails left `received` too long, unless the queue is still
        draining a backlog (they are then most likely in it already)."""
        backlog = queue.backlog(self.config[settings.AMQP_URI])
        metrics.QUEUE_DEPTH.set(backlog or 0)
        for status, count in raw_mails.counts_by_status(self.db).items():
            metrics.WAITING.labels(status).set(count)
        if backlog != 0:
            return
        for raw_mail_id in raw_mails.due_for_sweep(
                self.db, int(self.config.get(settings.SWEEP_AFTER_SECONDS, 60))):
            self.publish(queue.message(raw_mail_id), routing_key="raw_mail")

    @timer(interval=5)
    def poll_mailboxes(self):
        polling.poll_due(self.db, self.config, self._publish_ids, self._departments)

    # --- quarantine --------------------------------------------------------------------------
    @rpc
    def list_raw_mail(self, actor, status="quarantined", limit=50, offset=0):
        self._admin(actor)
        rows, total = raw_mails.listing(self.db, status, int(limit), int(offset))
        return {"items": [raw_mails.as_dict(row) for row in rows], "total": total}

    @rpc
    def get_raw_mail(self, actor, raw_mail_id):
        """A raw mail with its bytes (base64) and what the parser makes of it now."""
        self._admin(actor)
        row = raw_mails.get(self.db, raw_mail_id, with_content=True)
        return {**raw_mails.as_dict(row, with_content=True),
                "parsed": parse_preview.preview(row.content, self._context(row, False))}

    @rpc
    def reprocess(self, actor, raw_mail_id):
        self._admin(actor)
        row = raw_mails.requeue(self.db, raw_mail_id)
        self.publish(queue.message(row.id), routing_key="raw_mail")
        return raw_mails.as_dict(row)

    @rpc
    def submit_raw_mail(self, actor, data):
        """A raw mail handed in through the API; stored and queued like any other."""
        self._admin(actor)
        content, recipients = parse_preview.submitted(data)
        raw_mail_id, _ = raw_mails.store(self.db, content, "api",
                                         envelope_recipients=recipients)
        metrics.MAILS_RECEIVED.labels("api").inc()
        self._publish_ids([raw_mail_id])
        return raw_mails.as_dict(raw_mails.get(self.db, raw_mail_id))

    # --- mailboxes and routing rules ---------------------------------------------------------
    @rpc
    def list_mailboxes(self, actor):
        self._admin(actor)
        return mailboxes.list_all(self.db)

    @rpc
    def create_mailbox(self, actor, data):
        self._admin(actor)
        return mailboxes.create(self.db, data)

    @rpc
    def update_mailbox(self, actor, mailbox_id, data):
        self._admin(actor)
        return mailboxes.update(self.db, mailbox_id, data)

    @rpc
    def delete_mailbox(self, actor, mailbox_id):
        self._admin(actor)
        mailboxes.delete(self.db, mailbox_id)

    @rpc
    def list_rules(self, actor):
        self._admin(actor)
        return rules.list_all(self.db)

    @rpc
    def create_rule(self, actor, data):
        self._admin(actor)
        return self._rules_changed(rules.create(self.db, data))

    @rpc
    def update_rule(self, actor, rule_id, data):
        self._admin(actor)
        return self._rules_changed(rules.update(self.db, rule_id, data))

    @rpc
    def delete_rule(self, actor, rule_id):
        self._admin(actor)
        rules.delete(self.db, rule_id)
        self._rules_changed(None)

    @rpc
    def health(self):
        return {"service": "ingest", "raw_mail": raw_mails.counts_by_status(self.db)}

    # --- helpers shared by the entrypoints ---------------------------------------------------
    def _admin(self, actor):
        return require_admin(self.tickets.whoami(actor), "manage mail ingest")

    def _departments(self):
        return self.tickets.list_departments(INGEST)

    def _context(self, row, force):
        self.directory.refresh(self._departments, lambda: rules.in_force(self.db), force)
        return self.directory.context(row, mailboxes.department_of(self.db, row.mailbox_id))

    def _hand_over_many(self, payloads):
        # under load, the mails this process's workers parse meanwhile go over together
        return handover.outcomes(self.batches.together(payloads, self._hand_over_together))

    def _hand_over_together(self, payloads):
        return self.tickets.ingest_messages(INGEST, payloads)  # within the calls' deadline

    def _publish_ids(self, ids):
        for raw_mail_id in ids:
            self.publish(queue.message(raw_mail_id), routing_key="raw_mail")

    def _rules_changed(self, result):
        self.directory.forget()
        return result


class _TogetherLedger:
    """processing.Ledger for the claims and outcomes of concurrent parse workers, in one
    statement and one commit each: two commits a mail were most of what a parse worker spent
    besides parsing."""

    def __init__(self, service):
        self.service = service

    def claim_many(self, raw_mail_ids):
        return self.service.claims.together(raw_mail_ids, lambda ids: raw_mails.claim_many(
            self.service.db, ids))

    def finish_many(self, outcomes):
        self.service.finishes.together(outcomes, lambda batch: raw_mails.finish_many(
            self.service.db, batch))
