"""Collision detection: which agents have a ticket open, and who is writing a reply, so two
agents do not answer one customer twice.

The ticket page tells the gateway every few seconds (and at once when the agent starts
typing or leaves); the gateway checks with tickets that the agent may see the ticket and
publishes a `presence` event (exchange gateway.events). Every gateway process's live-event
consumer takes those too and hands them to the streams of agents of the ticket's department;
the browsers forget a colleague they have not heard about for a while. Nothing is stored:
presence is only ever now."""
from nameko.standalone.events import event_dispatcher

from helpdesk.config import AMQP_URI

SOURCE, EVENT = "gateway", "presence"
STATES = ("viewing", "typing", "left")


class Presence:
    def __init__(self, config):
        self._dispatch = event_dispatcher({AMQP_URI: config[AMQP_URI]})

    def announce(self, facts, state):
        """Publish that facts["agent"] is in `state` on facts' ticket."""
        self._dispatch(SOURCE, EVENT, {
            "kind": EVENT, "ticket_id": facts["ticket_id"],
            "department_id": facts["department_id"], "agent_id": facts["agent"]["id"],
            "agent_name": facts["agent"]["name"], "state": state})
