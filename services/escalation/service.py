"""The escalation service: entrypoints only. Ticket events recompute the ticket's SLA clocks
(tracking); a timer fires what is due (firing), once across replicas; admins keep policies
and calendars (policies); agents ask where a ticket stands (reports)."""
import logging
from datetime import timedelta

import eventlet
from nameko.events import event_handler
from nameko.timer import timer
from sqlalchemy import text

from helpdesk import contract, logs
from helpdesk.admins import require_admin
from helpdesk.batching import Batches
from helpdesk.correlation import Correlation
from helpdesk.database import Database
from helpdesk.errors import InvalidInput, NotFound
from helpdesk.metrics import EntrypointMetrics
from helpdesk.outbox import EventOutbox
from helpdesk.rpc import rpc
from helpdesk.service_calls import ServiceCalls
from services.escalation import firing, metrics, policies, reports, tracking
from services.escalation.models import OutboxEvent

log = logging.getLogger(__name__)
ESCALATION = contract.system("escalation")
REQUEUE_PAUSE_SECONDS = 1.0  # a failing event goes back to the queue; do not spin on it
# Changes that move no clock: who has the ticket, its language.
CLOCK_FIELDS = {"status", "priority", "department_id"}
RELAY_AFTER = timedelta(seconds=15)
MAX_BATCH = 100  # tickets whose clocks are brought up to date in one transaction


class EscalationService:
    name = "escalation"

    db = Database()
    tickets = ServiceCalls("tickets")
    outbox = EventOutbox(OutboxEvent)
    batches = Batches("follow", max_size=MAX_BATCH)
    metrics = EntrypointMetrics()
    correlation = Correlation()

    # --- ticket events ------------------------------------------------------------------
    @event_handler("tickets", contract.TICKET_CREATED, requeue_on_error=True)
    def on_ticket_created(self, payload):
        self._follow(payload["ticket"]["id"], payload.get("sla_facts"))

    @event_handler("tickets", contract.TICKETS_CREATED, requeue_on_error=True)
    def on_tickets_created(self, payload):
        self._follow_all(contract.events_together(payload))

    @event_handler("tickets", contract.MESSAGE_ADDED, requeue_on_error=True)
    def on_message_added(self, payload):
        if payload.get("direction") != contract.Direction.INTERNAL:
            self._follow(payload["ticket_id"])

    @event_handler("tickets", contract.TICKET_UPDATED, requeue_on_error=True)
    def on_ticket_updated(self, payload):
        if CLOCK_FIELDS & set(payload.get("changes") or {}):
            self._follow(payload["ticket_id"])

    @event_handler("tickets", contract.TICKET_SPLIT, requeue_on_error=True)
    def on_ticket_split(self, payload):
        self._follow(payload["ticket_id"])  # the new ticket has its own ticket_created

    @event_handler("tickets", contract.TICKET_MERGED, requeue_on_error=True)
    def on_ticket_merged(self, payload):
        self._follow(payload["into_ticket_id"])

    # --- the clock ----------------------------------------------------------------------
    @timer(interval=0.5)
    def fire_due(self):
        """Fire what is due, publishing each batch's events as it commits; a full batch
        means more may be waiting."""
        while True:
            fired = firing.fire_due(self.db)
            self.outbox.flush(self.db)
            if fired < firing.BATCH:
                break

    @timer(interval=2)
    def refresh_stale(self):
        """Recompute the clocks a policy or calendar change affected."""
        while tracking.refresh_stale(self.db):
            pass

    @timer(interval=2)
    def relay_events(self):
        """Publish events whose worker died between the commit and the publish; not before
        RELAY_AFTER, so a replica still publishing a burst is not doubled by another."""
        self.outbox.relay(self.db, older_than=RELAY_AFTER)

    @timer(interval=15, eager=True)
    def observe(self):
        metrics.TIMERS_PENDING.set(reports.pending_timers(self.db))

    # --- agents and managers ------------------------------------------------------------
    @rpc
    def ticket_sla(self, actor, ticket_id):
        """Where the ticket stands: targets, due times, business time left, breaches."""
        who = self.tickets.whoami(actor)
        if not isinstance(ticket_id, int) or not _sees(who, reports.department_of(self.db,
                                                                                  ticket_id)):
            self.tickets.get_ticket(actor, ticket_id)  # NotFound unless the agent sees it
        return reports.ticket_sla(self.db, ticket_id)

    @rpc
    def at_risk(self, actor, department_id, within_minutes=60):
        """Tickets of a department about to breach (within the window) or breached."""
        if not _sees(self.tickets.whoami(actor), department_id):
            raise NotFound("DEPARTMENT_NOT_FOUND", f"department {department_id} does not exist")
        if not isinstance(within_minutes, int) or \
                not 0 <= within_minutes <= reports.MAX_WINDOW_MINUTES:
            raise InvalidInput("INVALID_INPUT", "within_minutes: a whole number of minutes up "
                               f"to {reports.MAX_WINDOW_MINUTES}", "within_minutes")
        return reports.at_risk(self.db, department_id, within_minutes)

    # --- administration -----------------------------------------------------------------
    @rpc
    def list_calendars(self, actor):
        self.tickets.whoami(actor)
        return policies.list_calendars(self.db)

    @rpc
    def save_calendar(self, actor, data, calendar_id=None):
        self._admin(actor)
        return policies.save_calendar(self.db, data, calendar_id)

    @rpc
    def delete_calendar(self, actor, calendar_id):
        self._admin(actor)
        policies.delete_calendar(self.db, calendar_id)

    @rpc
    def list_policies(self, actor):
        self.tickets.whoami(actor)
        return policies.list_policies(self.db)

    @rpc
    def save_policy(self, actor, data, policy_id=None):
        self._admin(actor)
        return policies.save_policy(self.db, data, policy_id, self._department_exists)

    @rpc
    def delete_policy(self, actor, policy_id):
        self._admin(actor)
        policies.delete_policy(self.db, policy_id)

    @rpc
    def health(self):
        self.db.execute(text("SELECT 1"))
        return {"database": "ok"}

    # --- helpers shared by the entrypoints ------------------------------------------------
    def _follow(self, ticket_id, first_facts=None):
        # under load, concurrent events' tickets are followed in one transaction
        followed = self._or_requeue(lambda: self.batches((ticket_id, first_facts),
                                                         self._follow_together))
        _log_followed(ticket_id, followed)

    def _follow_all(self, created):
        """The tickets of ticket_created events that came together in one message, followed
        in one transaction; each logged under its own event's correlation id."""
        wanted = [(event["ticket"]["id"], event.get("sla_facts")) for event in created]
        followed = self._or_requeue(lambda: self.batches.together(wanted,
                                                                  self._follow_together))
        for (ticket_id, _), done, event in zip(wanted, followed, created):
            with logs.continuing(event):
                _log_followed(ticket_id, done)

    def _or_requeue(self, follow):
        try:
            return follow()
        except Exception:
            self.db.rollback()
            eventlet.sleep(REQUEUE_PAUSE_SECONDS)
            raise

    def _follow_together(self, wanted):
        followed = set(tracking.follow_many(
            self.db, wanted, lambda ids: self.tickets.sla_facts_of(ESCALATION, ids)))
        return [ticket_id in followed for ticket_id, _ in wanted]

    def _department_exists(self, department_id):
        try:
            self.tickets.get_department(ESCALATION, department_id)
            return True
        except NotFound:
            return False

    def _admin(self, actor):
        return require_admin(self.tickets.whoami(actor), "manage SLA policies and calendars")


def _log_followed(ticket_id, followed):
    if followed:
        log.info("ticket %s: SLA clocks brought up to date", ticket_id)
    else:
        log.error("ticket %s not followed: no such ticket", ticket_id)


def _sees(who, department_id):
    return bool(who.get("system")) or who.get("role") == "admin" or \
        department_id in (who.get("department_ids") or [])
