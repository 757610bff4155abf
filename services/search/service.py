"""The search service: entrypoints only. Ticket events refresh the tickets they name
(indexing); agents search within the departments they may see (the backend filters, the
facets too); saved searches are kept per agent (saved)."""
import logging
import time

import eventlet
from nameko.events import event_handler
from nameko.timer import timer

from helpdesk import contract, logs
from helpdesk.batching import Batches
from helpdesk.correlation import Correlation
from helpdesk.database import Database
from helpdesk.errors import HelpdeskError, Unauthorized
from helpdesk.metrics import EntrypointMetrics
from helpdesk.rpc import rpc
from helpdesk.service_calls import ServiceCalls
from services.search import indexing, metrics, rebuilds, saved
from services.search.index import SearchIndex
from services.search.query import search_in, words

log = logging.getLogger(__name__)
SEARCH = contract.system("search")
MAX_BATCH = 200  # events whose tickets (one or two each) are read and stored together
REQUEUE_PAUSE_SECONDS = 1.0  # a failing event goes back to the queue; do not spin on it


class SearchService:
    name = "search"

    index = SearchIndex()
    db = Database()
    tickets = ServiceCalls("tickets")
    metrics = EntrypointMetrics()
    correlation = Correlation()
    # an agent's reply announces message_added and ticket_updated in one commit: they arrive
    # within a millisecond, and 5 ms of waiting makes them one read of the ticket, not two
    batches = Batches("refresh", max_size=MAX_BATCH, linger=0.005)

    # --- ticket events ------------------------------------------------------------------
    @event_handler("tickets", contract.TICKET_CREATED, requeue_on_error=True)
    def on_ticket_created(self, payload):
        self._refresh([payload["ticket"]["id"]])

    @event_handler("tickets", contract.TICKETS_CREATED, requeue_on_error=True)
    def on_tickets_created(self, payload):
        created = contract.events_together(payload)
        self._refresh([event["ticket"]["id"] for event in created], created)

    @event_handler("tickets", contract.MESSAGE_ADDED, requeue_on_error=True)
    def on_message_added(self, payload):
        self._refresh([payload["ticket_id"]])

    @event_handler("tickets", contract.TICKET_UPDATED, requeue_on_error=True)
    def on_ticket_updated(self, payload):
        self._refresh([payload["ticket_id"]])

    @event_handler("tickets", contract.TICKET_SPLIT, requeue_on_error=True)
    def on_ticket_split(self, payload):
        self._refresh([payload["ticket_id"], payload["new_ticket_id"]])

    @event_handler("tickets", contract.TICKET_MERGED, requeue_on_error=True)
    def on_ticket_merged(self, payload):
        self._refresh([payload["ticket_id"], payload["into_ticket_id"]])

    @timer(interval=5, eager=True)
    def follow_rebuild(self):
        """While `helpdesk reindex` builds a new index, live changes go there too."""
        self.index.rebuilding_into(rebuilds.running_target(self.db, self.index.name))

    # --- agents -------------------------------------------------------------------------
    @rpc
    def search(self, actor, query):
        """Tickets matching free text and filters, among the departments the caller sees:
        {"total", "page", "per_page", "hits", "facets"}."""
        who = self.tickets.whoami(actor)
        request = search_in(query)
        started = time.perf_counter()
        try:
            result = self.index.search(request, words(request.text), _visible(who))
        except Exception:
            metrics.ERRORS.labels("search").inc()
            raise
        metrics.QUERY_SECONDS.labels(self.index.name).observe(time.perf_counter() - started)
        return {**result, "page": request.page, "per_page": request.per_page}

    @rpc
    def list_saved(self, actor):
        return saved.visible(self.db, self._agent(actor))

    @rpc
    def get_saved(self, actor, saved_id):
        return saved.serialise(saved.get(self.db, self._agent(actor), saved_id))

    @rpc
    def save_search(self, actor, data, saved_id=None):
        return saved.save(self.db, self._agent(actor), data, saved_id)

    @rpc
    def delete_saved(self, actor, saved_id):
        saved.delete(self.db, self._agent(actor), saved_id)

    @rpc
    def health(self):
        return self.index.health()

    # --- helpers shared by the entrypoints ------------------------------------------------
    def _refresh(self, ticket_ids, events_together=None):
        """The tickets read and stored again. Under load, concurrent events' tickets go
        together; `events_together` came together in one message, one a ticket, and each
        ticket is logged under its own event's correlation id."""
        try:
            if events_together:
                self.batches.together([[number] for number in ticket_ids],
                                      self._refresh_together)
                for number, event in zip(ticket_ids, events_together):
                    with logs.continuing(event):
                        log.info("tickets %s indexed", number)
            else:
                self.batches(ticket_ids, self._refresh_together)
                log.info("tickets %s indexed", ", ".join(map(str, ticket_ids)))
        except HelpdeskError as error:  # it will not get better by trying again
            log.error("tickets %s not indexed: %s", ticket_ids, error)
        except Exception:
            metrics.ERRORS.labels("index").inc()
            eventlet.sleep(REQUEUE_PAUSE_SECONDS)
            raise

    def _refresh_together(self, lists_of_ids):
        ids = sorted({number for ids in lists_of_ids for number in ids})
        indexing.refresh(self.index, lambda batch: self.tickets.search_documents(SEARCH, batch),
                         ids)
        return [None] * len(lists_of_ids)

    def _agent(self, actor):
        who = self.tickets.whoami(actor)
        if who.get("id") is None:
            raise Unauthorized("AGENT_ONLY", "saved searches belong to agents")
        return who


def _visible(who):
    """The departments a caller may search; None: all of them (admins, the help desk)."""
    if who.get("system") or who.get("role") == contract.Role.ADMIN:
        return None
    return frozenset(who.get("department_ids") or [])
