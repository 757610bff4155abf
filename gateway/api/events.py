"""/api/v1/events: what an agent's browser is told at once (a customer wrote, a ticket
arrived, a ticket was assigned), as Server-Sent Events. Each event names its ticket and
department only; the browser fetches the rest through the API, which applies access."""
import json
import time

from flask import Blueprint, Response, current_app, request

from gateway.api import call
from gateway.live import HEARTBEAT_SECONDS, STREAM_SECONDS

bp = Blueprint("events", __name__)
RETRY_MILLISECONDS = 3000  # how soon EventSource reconnects after the stream ends


@bp.get("/events")
def live_events():
    agent = call("whoami")  # once: the departments this stream may carry
    live = current_app.extensions["live"]
    listener = live.listen(agent)
    stream = _stream(listener, current_app.config[HEARTBEAT_SECONDS],
                     current_app.config[STREAM_SECONDS])
    response = Response(stream, mimetype="text/event-stream")
    response.call_on_close(lambda: live.stop_listening(listener))  # also for a stream never read
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx would hold events back otherwise
    request.environ["eventlet.minimum_write_chunk_size"] = 0  # eventlet: send each event now
    return response


def _stream(listener, heartbeat, lifetime):
    yield f"retry: {RETRY_MILLISECONDS}\n: connected\n\n"
    ends = time.monotonic() + lifetime
    while time.monotonic() < ends:
        event = listener.next_event(timeout=heartbeat)
        yield ": keep-alive\n\n" if event is None else _sse(event)


def _sse(event):
    return f"event: {event['kind']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"
