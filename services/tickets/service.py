"""The tickets service: entrypoints only. Every call names its actor; access is checked in
the domain modules, and events go out through the outbox after the commit."""
import logging

import eventlet
from nameko.dependency_providers import Config
from nameko.events import event_handler
from nameko.timer import timer
from sqlalchemy import text

from helpdesk import contract
from helpdesk.config import PORTAL_REQUESTS_PER_HOUR, REOPEN_DAYS
from helpdesk.correlation import Correlation
from helpdesk.database import Database, reads_only
from helpdesk.metrics import EntrypointMetrics
from helpdesk.outbox import EventOutbox
from helpdesk.errors import HelpdeskError
from helpdesk.rpc import rpc
from services.tickets import (access, agents, conversation, customers, deliveries, departments,
                              documents, escalations, inbound, lifecycle, outbound, portal,
                              serialise, statistics, templates)
from services.tickets import metrics as gauges
from services.tickets.models import OutboxEvent

log = logging.getLogger(__name__)
REQUEUE_PAUSE_SECONDS = 1.0  # a failing event goes back to the queue; do not spin on it


class TicketsService:
    name = "tickets"

    db = Database()
    # the tickets a batch of mails opened go to each consumer in one message
    outbox = EventOutbox(OutboxEvent, together={contract.TICKET_CREATED: contract.TICKETS_CREATED})
    metrics = EntrypointMetrics()
    correlation = Correlation()
    config = Config()

    def _actor(self, actor):
        return access.resolve(self.db, actor)

    # --- who is calling -------------------------------------------------------------------
    @rpc
    def login(self, credentials):
        """Check an agent's email and password; returns the agent."""
        return serialise.agent(agents.login(self.db, credentials))

    @rpc
    def issue_token(self, credentials, label=""):
        """A new API token for the agent with these credentials (shown once)."""
        agent = agents.login(self.db, credentials)
        return {"token": agents.issue_token(self.db, agent, label), "agent": serialise.agent(agent)}

    @rpc
    def set_my_preferences(self, actor, data):
        """The calling agent's workspace language and time zone."""
        return agents.set_preferences(self.db, self._actor(actor), data)

    @rpc
    @reads_only
    def whoami(self, actor):
        actor, row = access.caller(self.db, actor)  # asked before every search: one statement
        if row is None:
            return {"system": actor.system}
        return serialise.agent(row, row.department_ids)

    # --- departments and agents -----------------------------------------------------------
    @rpc
    @reads_only
    def list_departments(self, actor):
        self._actor(actor)
        return departments.list_all(self.db)

    @rpc
    @reads_only
    def get_department(self, actor, department_id):
        self._actor(actor)
        return serialise.department(departments.get(self.db, department_id))

    @rpc
    def create_department(self, actor, data):
        return departments.create(self.db, self._actor(actor), data)

    @rpc
    def update_department(self, actor, department_id, data):
        return departments.update(self.db, self._actor(actor), department_id, data)

    @rpc
    @reads_only
    def department_for_address(self, actor, address):
        """The department that receives mail at `address` (mail routing), or None."""
        self._actor(actor)
        department = departments.by_address(self.db, address)
        return serialise.department(department) if department else None

    @rpc
    @reads_only
    def list_agents(self, actor):
        return agents.list_all(self.db, self._actor(actor))

    @rpc
    @reads_only
    def get_agent(self, actor, agent_id):
        return serialise.agent(agents.get(self.db, self._actor(actor), agent_id))

    @rpc
    def create_agent(self, actor, data):
        return agents.create(self.db, self._actor(actor), data)

    @rpc
    def update_agent(self, actor, agent_id, data):
        return agents.update(self.db, self._actor(actor), agent_id, data)

    # --- customers ------------------------------------------------------------------------
    @rpc
    @reads_only
    def find_customers(self, actor, text="", limit=20):
        self._actor(actor)
        return customers.find(self.db, text, limit)

    @rpc
    @reads_only
    def get_customer(self, actor, customer_id):
        self._actor(actor)
        return serialise.customer(customers.get(self.db, customer_id))

    @rpc
    def create_customer(self, actor, data):
        self._actor(actor)
        return customers.create(self.db, data)

    @rpc
    def update_customer(self, actor, customer_id, data):
        self._actor(actor)
        return customers.update(self.db, customer_id, data)

    # --- tickets --------------------------------------------------------------------------
    @rpc
    def create_ticket(self, actor, data):
        return lifecycle.create(self.db, self._actor(actor), data)

    @rpc
    def ingest_message(self, actor, data):
        """A parsed inbound mail; idempotent on its Message-ID (or raw sha256)."""
        return inbound.ingest(self.db, self._actor(actor), data,
                              int(self.config.get(REOPEN_DAYS, inbound.DEFAULT_REOPEN_DAYS)))

    @rpc
    def ingest_messages(self, actor, items):
        """Parsed inbound mails in one transaction: one outcome each, {"result"} or {"error"}."""
        return inbound.ingest_many(self.db, self._actor(actor), items,
                                   int(self.config.get(REOPEN_DAYS, inbound.DEFAULT_REOPEN_DAYS)))

    @rpc
    @reads_only
    def get_ticket(self, actor, ticket_id):
        """The ticket with its full history: messages with their authors, audit log, rating."""
        return lifecycle.full(self.db, self._actor(actor), ticket_id)

    @rpc
    @reads_only
    def list_tickets(self, actor, query=None):
        return lifecycle.find(self.db, self._actor(actor), query or {})

    @rpc
    @reads_only
    def ticket_counts(self, actor):
        return lifecycle.counts(self.db, self._actor(actor))

    @rpc
    @reads_only
    def queue_counts(self, actor):
        """{department id: {new, open, pending, mine, unassigned}} of active tickets."""
        return lifecycle.queue_counts(self.db, self._actor(actor))

    @rpc
    def update_ticket(self, actor, ticket_id, data):
        """Status, priority, assignee (None to unassign) and department, each audited."""
        return lifecycle.update(self.db, self._actor(actor), ticket_id, data)

    @rpc
    def reply(self, actor, ticket_id, data):
        return conversation.reply(self.db, self._actor(actor), ticket_id, data)

    @rpc
    def add_note(self, actor, ticket_id, data):
        return conversation.note(self.db, self._actor(actor), ticket_id, data)

    @rpc
    def split_ticket(self, actor, ticket_id, data):
        return conversation.split(self.db, self._actor(actor), ticket_id, data)

    @rpc
    def merge_ticket(self, actor, ticket_id, data):
        return conversation.merge(self.db, self._actor(actor), ticket_id, data)

    @rpc
    @reads_only
    def get_attachment(self, actor, attachment_id):
        return conversation.attachment(self.db, self._actor(actor), attachment_id)

    @rpc
    def rate_ticket(self, actor, ticket_id, data):
        return lifecycle.rate(self.db, self._actor(actor), ticket_id, data)

    # --- statistics (managers) ------------------------------------------------------------
    @rpc
    @reads_only
    def statistics_agents(self, actor, query):
        """Per agent over {since, until, department_id?}: handled, replies, first response
        average and median, CSAT."""
        return statistics.agents(self.db, self._actor(actor), query)

    @rpc
    @reads_only
    def statistics_load(self, actor, query):
        """Incoming by hour, weekday and month in {time_zone}; backlog; SLA breaches."""
        return statistics.load(self.db, self._actor(actor), query)

    # --- the customer portal (system actor "portal", for the customer it vouches for) ------
    @rpc
    @reads_only
    def portal_departments(self, actor):
        return portal.departments(self.db, self._actor(actor))

    @rpc
    def portal_submit(self, actor, data):
        """A request from the portal's form: {ticket_id, customer_id}; 429 past the limit."""
        return portal.submit(self.db, self._actor(actor), data,
                             int(self.config.get(PORTAL_REQUESTS_PER_HOUR,
                                                 portal.DEFAULT_REQUESTS_PER_HOUR)))

    @rpc
    @reads_only
    def portal_tickets(self, actor, customer_id):
        return portal.tickets(self.db, self._actor(actor), customer_id)

    @rpc
    @reads_only
    def portal_ticket(self, actor, customer_id, ticket_id):
        return portal.ticket(self.db, self._actor(actor), customer_id, ticket_id)

    @rpc
    def portal_reply(self, actor, customer_id, ticket_id, data):
        return portal.reply(self.db, self._actor(actor), customer_id, ticket_id, data)

    @rpc
    @reads_only
    def portal_attachment(self, actor, customer_id, attachment_id):
        return portal.attachment(self.db, self._actor(actor), customer_id, attachment_id)

    @rpc
    @reads_only
    def presence(self, actor, ticket_id):
        """Who is on a ticket, for the collision banner: the ticket's department (if the
        agent may see it) and the agent's name."""
        return agents.presence(self.db, self._actor(actor), ticket_id)

    @rpc
    @reads_only
    def mail_context(self, actor, ticket_id, message_id=None):
        """Everything the notify service needs to write a mail about a ticket (system only)."""
        return outbound.mail_context(self.db, self._actor(actor), ticket_id, message_id)

    @event_handler("notify", contract.DELIVERY_FAILED, requeue_on_error=True)
    def note_failed_delivery(self, payload):
        """A mail notify could not deliver becomes a system note on its ticket."""
        self._handle(deliveries.record_failure, payload)

    # --- SLA escalation -------------------------------------------------------------------
    @rpc
    @reads_only
    def sla_facts(self, actor, ticket_id):
        """The ticket's status timeline and who wrote when, for the SLA clocks."""
        return escalations.facts(self.db, self._actor(actor), ticket_id)

    @rpc
    @reads_only
    def sla_facts_of(self, actor, ticket_ids):
        """sla_facts of several tickets at once: those that exist, in the order asked."""
        return escalations.facts_of(self.db, self._actor(actor), ticket_ids)

    @event_handler("escalation", contract.SLA_BREACHED, requeue_on_error=True)
    def record_breach(self, payload):
        """A breach goes into the ticket's history, with the escalation level's changes."""
        self._handle(escalations.record_breach, payload)

    def _handle(self, handle, payload):
        try:
            handle(self.db, payload)
        except HelpdeskError as error:  # it will not get better by trying again
            log.error("event %s not recorded: %s", payload.get("event_id"), error)
        except Exception:
            self.db.rollback()
            eventlet.sleep(REQUEUE_PAUSE_SECONDS)
            raise

    # --- search ---------------------------------------------------------------------------
    @rpc
    @reads_only
    def search_documents(self, actor, ticket_ids):
        """Tickets as the search index keeps them: each with its messages and its version."""
        return documents.for_tickets(self.db, self._actor(actor), ticket_ids)

    @rpc
    @reads_only
    def search_documents_after(self, actor, after_id=0, limit=200):
        """The next page of search documents in ticket order, for rebuilding an index."""
        return documents.after(self.db, self._actor(actor), after_id, limit)

    @rpc
    @reads_only
    def ticket_total(self, actor):
        return documents.count(self.db, self._actor(actor))

    # --- canned replies -------------------------------------------------------------------
    @rpc
    @reads_only
    def list_templates(self, actor, department_id=None):
        return templates.list_visible(self.db, self._actor(actor), department_id)

    @rpc
    @reads_only
    def get_template(self, actor, template_id):
        return serialise.template(templates.get(self.db, self._actor(actor), template_id))

    @rpc
    def create_template(self, actor, data):
        return templates.create(self.db, self._actor(actor), data)

    @rpc
    def update_template(self, actor, template_id, data):
        return templates.update(self.db, self._actor(actor), template_id, data)

    @rpc
    def delete_template(self, actor, template_id):
        return templates.delete(self.db, self._actor(actor), template_id)

    @rpc
    @reads_only
    def render_template(self, actor, template_id, data):
        return templates.render(self.db, self._actor(actor), template_id, data)

    # --- housekeeping ---------------------------------------------------------------------
    @timer(interval=5)
    def relay_events(self):
        """Publish events whose worker died between the commit and the publish."""
        self.outbox.relay(self.db)

    @timer(interval=15)
    def count_tickets(self):
        """The gauges of active tickets by department and status."""
        gauges.count_active(self.db)

    @rpc
    @reads_only
    def health(self):
        """Whether this service reaches its database."""
        self.db.execute(text("SELECT 1"))
        return {"database": "ok"}
