"""Prometheus metrics for nameko entrypoints: calls, errors and latency per service and entrypoint."""
import time
import weakref

from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Histogram

ENTRYPOINT_SECONDS = Histogram(
    "helpdesk_entrypoint_duration_seconds", "Time spent in a service entrypoint.",
    ["service", "entrypoint"])
ENTRYPOINT_ERRORS = Counter(
    "helpdesk_entrypoint_errors_total", "Entrypoint calls that raised.",
    ["service", "entrypoint", "error"])


class EntrypointMetrics(DependencyProvider):
    """Times every entrypoint of the service (the runner serves /metrics for the process)."""

    def __init__(self):
        self.started = weakref.WeakKeyDictionary()

    def worker_setup(self, worker_ctx):
        self.started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self.started.pop(worker_ctx, None)
        service, entrypoint = self.container.service_name, worker_ctx.entrypoint.method_name
        if started is not None:
            ENTRYPOINT_SECONDS.labels(service, entrypoint).observe(time.perf_counter() - started)
        if exc_info is not None:
            ENTRYPOINT_ERRORS.labels(service, entrypoint, exc_info[0].__name__).inc()
