"""/healthz (what the gateway depends on, and whether it answers), /livez and /metrics."""
import time

from flask import Blueprint, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

bp = Blueprint("health", __name__)

REQUEST_SECONDS = Histogram("helpdesk_http_request_duration_seconds",
                            "Gateway request latency.", ["method", "endpoint"])
REQUESTS = Counter("helpdesk_http_requests_total", "Gateway requests.",
                   ["method", "endpoint", "status"])


@bp.get("/healthz")
def healthz():
    checks = {}
    try:
        report = current_app.extensions["rpc"].call("tickets", "health")
        checks["broker"] = checks["tickets"] = "ok"
        checks["database"] = report.get("database", "unknown")
    except Exception as error:  # any failure is the answer here, not an error
        checks["tickets"] = f"unreachable: {error}"
    healthy = all(value == "ok" for value in checks.values())
    return {"status": "ok" if healthy else "failing", "checks": checks}, 200 if healthy else 503


@bp.get("/livez")
def livez():
    """The process answers (a liveness probe; /healthz is the readiness one)."""
    return {"part": "gateway", "status": "ok"}


@bp.get("/metrics")
def metrics():
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)


def init_app(app):
    @app.before_request
    def start_timer():
        request.environ["helpdesk.started"] = time.perf_counter()

    @app.after_request
    def observe(response):
        started = request.environ.get("helpdesk.started")
        endpoint = request.endpoint or "unmatched"
        if started is not None:
            REQUEST_SECONDS.labels(request.method, endpoint).observe(time.perf_counter() - started)
        REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        return response
