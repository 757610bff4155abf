"""The notify service: entrypoints only. Ticket and escalation events are stored in the
inbox on arrival and turned into outbox mail; the senders (sending.Postman) deliver the
outbox; timers retry what failed and publish delivery failures; admins edit the templates."""
import logging
from datetime import timedelta

import eventlet
from nameko.dependency_providers import Config
from nameko.events import EventDispatcher, event_handler
from nameko.timer import timer
from sqlalchemy import text

from helpdesk import contract
from helpdesk.admins import require_admin
from helpdesk.batching import Batches
from helpdesk.correlation import Correlation
from helpdesk.database import Database
from helpdesk.metrics import EntrypointMetrics
from helpdesk.outbox import EventOutbox
from helpdesk.rpc import rpc
from helpdesk.service_calls import ServiceCalls
from services.notify import events, inbox, live, notifications, outbox, templates
from services.notify.models import NotifyEvent
from services.notify.sending import Postman

log = logging.getLogger(__name__)
NOTIFY = contract.system("notify")
REQUEUE_PAUSE_SECONDS = 1.0  # an event that cannot even be stored goes back to the queue
MAX_BATCH = 50  # events stored and worked in one transaction


class NotifyService:
    name = "notify"

    db = Database()
    tickets = ServiceCalls("tickets")
    postman = Postman()
    announce = EventOutbox(NotifyEvent)
    broadcast = EventDispatcher()
    config = Config()
    metrics = EntrypointMetrics()
    correlation = Correlation()
    batches = Batches("take", max_size=MAX_BATCH)

    # --- events in ----------------------------------------------------------------------
    @event_handler("tickets", contract.TICKET_CREATED, requeue_on_error=True)
    def on_ticket_created(self, payload):
        self._take(events.CREATED, payload)

    @event_handler("tickets", contract.TICKETS_CREATED, requeue_on_error=True)
    def on_tickets_created(self, payload):
        self._take_all(events.CREATED, contract.events_together(payload))

    @event_handler("tickets", contract.MESSAGE_ADDED, requeue_on_error=True)
    def on_message_added(self, payload):
        self._take(events.MESSAGE, payload)

    @event_handler("tickets", contract.TICKET_UPDATED, requeue_on_error=True)
    def on_ticket_updated(self, payload):
        self._take(events.UPDATED, payload)

    @event_handler("escalation", contract.SLA_BREACHED, requeue_on_error=True)
    def on_sla_breached(self, payload):
        self._take(events.BREACHED, payload)

    @event_handler("escalation", contract.SLA_WARNING, requeue_on_error=True)
    def on_sla_warning(self, payload):
        self._take(events.WARNING, payload)

    # --- housekeeping -------------------------------------------------------------------
    @timer(interval=2)
    def retry_events(self):
        """Work off stored events whose first try failed (or whose worker died)."""
        for event_id in inbox.due(self.db):
            self._work(event_id)

    @timer(interval=1)
    def publish_events(self):
        """Publish notify's own events (delivery failures) recorded by the senders."""
        self.announce.relay(self.db, older_than=timedelta(0))

    # --- administration -----------------------------------------------------------------
    @rpc
    def list_templates(self, actor):
        self._admin(actor)
        return templates.list_all(self.db)

    @rpc
    def save_template(self, actor, data):
        self._admin(actor)
        if isinstance(data, dict) and isinstance(data.get("department_id"), int) \
                and data["department_id"]:
            self.tickets.get_department(NOTIFY, data["department_id"])  # NotFound if none
        return templates.save(self.db, data)

    @rpc
    def reset_template(self, actor, kind, language, department_id=None):
        self._admin(actor)
        templates.reset(self.db, kind, language, department_id)

    @rpc
    def outbox_summary(self, actor):
        self._admin(actor)
        return {"by_status": outbox.counts(self.db),
                "oldest_waiting_seconds": outbox.oldest_waiting_seconds(self.db)}

    @rpc
    def health(self):
        self.db.execute(text("SELECT 1"))
        return {"database": "ok"}

    # --- helpers shared by the entrypoints ------------------------------------------------
    def _take(self, event_type, payload):
        self._tell_browsers(event_type, [payload])
        if not events.calls_for_mail(event_type, payload, self._options.assignments):
            return
        # under load, concurrent events are stored and worked in one transaction
        self._queue_or_requeue(lambda: self.batches((event_type, payload), self._take_together))

    def _take_all(self, event_type, payloads):
        """Events that came together in one message, stored and worked in one transaction."""
        self._tell_browsers(event_type, payloads)
        wanted = [(event_type, payload) for payload in payloads
                  if events.calls_for_mail(event_type, payload, self._options.assignments)]
        if wanted:
            self._queue_or_requeue(lambda: any(self.batches.together(wanted,
                                                                     self._take_together)))

    def _tell_browsers(self, event_type, payloads):
        updates = [update for update in (live.live_event(event_type, payload)
                                         for payload in payloads) if update is not None]
        if len(updates) == 1:
            self.broadcast(contract.LIVE, updates[0])
        elif updates:  # a batch of new tickets: one message, not one a ticket
            self.broadcast(contract.LIVE, {"events": updates})

    def _queue_or_requeue(self, take):
        try:
            queued = take()
        except Exception:
            self.db.rollback()
            eventlet.sleep(REQUEUE_PAUSE_SECONDS)  # the broker redelivers it right away
            raise
        if queued:
            self.postman.wake()

    def _take_together(self, events):
        return inbox.take_many(self.db, events, self._queue_mail, notifications.read_ahead,
                               notifications.queue_held)

    def _work(self, event_id):
        queued = inbox.work(self.db, event_id, self._queue_mail)
        if queued:
            self.postman.wake()

    def _queue_mail(self, session, event_type, payload):
        return notifications.queue_mail(
            session, event_type, payload,
            lambda ticket_id, message_id: self.tickets.mail_context(NOTIFY, ticket_id,
                                                                    message_id),
            self._options)

    @property
    def _options(self):
        return notifications.options_from(self.config)

    def _admin(self, actor):
        return require_admin(self.tickets.whoami(actor), "manage notifications")
