"""Live events for agents' browsers. Notify broadcasts `live` events (exchange notify.events,
routing key live), gateways publish agents' `presence` on tickets (gateway.events, presence);
each gateway process runs ONE consumer of them, on an exclusive queue that
goes away with its connection, and hands every event to the listeners (one per open
/api/v1/events stream) whose agent may see the ticket's department.

Live events are a hint to refresh, not a record: the queue holds nothing while the gateway is
away, and after the consumer had to reconnect every listener is told to `resync` (reload what
it shows), because events published in the gap are gone."""
import logging
import os
import queue
import re
import socket
import threading
import uuid

from kombu import Connection, Consumer, Queue, binding
from nameko.standalone.events import get_event_exchange
from prometheus_client import Counter, Gauge

from gateway import presence
from gateway.rpc import ServiceUnavailable
from helpdesk import contract
from helpdesk.config import AMQP_URI

log = logging.getLogger(__name__)

READY_SECONDS = 5.0        # a new stream waits this long for the consumer to be bound
RECONNECT_SECONDS, MAX_RECONNECT_SECONDS = 1.0, 30.0
BROKER_HEARTBEAT = 30      # seconds; a broker that vanished without a word is noticed
BACKLOG = 500              # events a browser may fall behind before it is told to resync
RESYNC = {"kind": "resync"}
EVENT_KIND = re.compile(r"[a-z_]{1,40}")

# Settings (config.yaml or the environment). Proxies drop a connection silent for about a
# minute, so a comment line goes out every LIVE_HEARTBEAT_SECONDS. A stream ends after
# LIVE_STREAM_SECONDS and the browser's EventSource reconnects by itself: that is when a
# changed department access, a disabled agent or a revoked token takes effect.
HEARTBEAT_SECONDS = "LIVE_HEARTBEAT_SECONDS"
STREAM_SECONDS = "LIVE_STREAM_SECONDS"

STREAMS = Gauge("helpdesk_live_streams", "Open live-event streams in this gateway process.")
RECEIVED = Counter("helpdesk_live_events_total",
                   "Live events this gateway process took off the broker, by kind.", ["kind"])


def init_app(app, config):
    app.extensions["live"] = LiveEvents(config)
    app.config[HEARTBEAT_SECONDS] = float(config.get(HEARTBEAT_SECONDS) or 15)
    app.config[STREAM_SECONDS] = float(config.get(STREAM_SECONDS) or 3600)


class Listener:
    """One open stream: what its agent may see, and the events waiting to be sent."""

    def __init__(self, agent):
        self.sees_every_department = agent.get("role") == contract.Role.ADMIN
        self.department_ids = frozenset(agent.get("department_ids") or ())
        self.waiting = queue.Queue(maxsize=BACKLOG)
        self.missed = False

    def may_see(self, event):
        """The same rule as the tickets service's department access."""
        return self.sees_every_department or event.get("department_id") in self.department_ids

    def offer(self, event):
        try:
            self.waiting.put_nowait(event)
        except queue.Full:  # a stalled browser must not hold events in memory forever
            self.missed = True

    def next_event(self, timeout):
        """The next event, RESYNC if some were dropped, or None after `timeout` seconds."""
        if self.missed:
            self.missed = False
            return RESYNC
        try:
            return self.waiting.get(timeout=timeout)
        except queue.Empty:
            return None


class LiveEvents:
    """The process's consumer and its listeners. The consumer starts with the first listener,
    so a gateway nobody watches live holds no queue."""

    def __init__(self, config):
        self.config = {AMQP_URI: config[AMQP_URI]}
        self.queue_name = (f"gateway.live.{socket.gethostname()}.{os.getpid()}."
                           f"{uuid.uuid4().hex[:8]}")
        self.listeners = set()
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._consumer = None

    def listen(self, agent):
        """A new listener for `agent` (tickets.whoami); ServiceUnavailable when the consumer
        cannot be bound to the broker in time."""
        self._start()
        if not self._ready.wait(READY_SECONDS):
            raise ServiceUnavailable("BROKER_UNAVAILABLE", "live events are not available: "
                                     "the message broker cannot be reached")
        listener = Listener(agent)
        with self._lock:
            self.listeners.add(listener)
        STREAMS.inc()
        return listener

    def stop_listening(self, listener):
        with self._lock:
            if listener not in self.listeners:
                return
            self.listeners.discard(listener)
        STREAMS.dec()

    def stop(self):
        self._stopping.set()
        if self._consumer is not None:
            self._consumer.join(timeout=READY_SECONDS)

    def _start(self):
        with self._lock:
            if self._consumer is None:
                self._consumer = threading.Thread(target=self._run, name="live-events",
                                                  daemon=True)
                self._consumer.start()

    def _run(self):
        delay, lost = RECONNECT_SECONDS, False
        while not self._stopping.is_set():
            try:
                with self._connection() as connection:
                    connection.ensure_connection(max_retries=0)  # kombu would retry forever
                    self._consume(connection, lost)
            except Exception as error:  # whatever broke, the way back is a new connection
                if self._ready.is_set():  # it had been consuming: back off afresh
                    delay = RECONNECT_SECONDS
                log.warning("live events: lost the broker (%r); reconnecting in %.0f s",
                            error, delay)
                self._ready.clear()
                lost = True
                self._stopping.wait(delay)
                delay = min(delay * 2, MAX_RECONNECT_SECONDS)

    def _connection(self):
        return Connection(self.config[AMQP_URI], heartbeat=BROKER_HEARTBEAT,
                          connect_timeout=READY_SECONDS, transport_options={
                              "client_properties": {
                                  "connection_name": f"live events {self.queue_name}"}})

    def _consume(self, connection, lost):
        # notify's live events, and the agents' presence on tickets that gateways publish
        bound = Queue(self.queue_name, bindings=[
            binding(get_event_exchange("notify", self.config), routing_key=contract.LIVE),
            binding(get_event_exchange(presence.SOURCE, self.config),
                    routing_key=presence.EVENT)],
            exclusive=True, auto_delete=True, durable=False)
        with Consumer(connection, queues=[bound], callbacks=[self._on_message], no_ack=True,
                      accept=["json"]):
            self._ready.set()
            if lost:
                log.info("live events: consuming again")
                self._fan_out(RESYNC)
            while not self._stopping.is_set():
                try:
                    connection.drain_events(timeout=1)
                except socket.timeout:
                    pass
                connection.heartbeat_check()

    def _on_message(self, body, message):
        together = isinstance(body, dict) and "events" in body  # several in one message
        for event in contract.events_together(body) if together else [body]:
            self._relay(event)

    def _relay(self, event):
        # the kind becomes the SSE event name: a line break in it would forge events
        if not isinstance(event, dict) or not EVENT_KIND.fullmatch(str(event.get("kind"))):
            log.warning("live events: ignored a malformed event %r", event)
            return
        RECEIVED.labels(event["kind"]).inc()
        self._fan_out(event)

    def _fan_out(self, event):
        with self._lock:
            listeners = list(self.listeners)
        for listener in listeners:
            if event is RESYNC or listener.may_see(event):
                listener.offer(event)
