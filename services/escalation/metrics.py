"""SLA metrics (the per-entrypoint ones come from helpdesk.metrics)."""
from prometheus_client import Counter, Gauge, Histogram

from services.escalation import clocks

BREACHES = Counter("helpdesk_sla_breaches_total",
                   "SLA breaches fired (escalation level 1), by department and target",
                   ["department", "target"])
ESCALATIONS = Counter("helpdesk_sla_escalations_total",
                      "Escalation levels fired (warnings and every breach level), by department, "
                      "target, kind and level", ["department", "target", "kind", "level"])
WARNINGS = Counter("helpdesk_sla_warnings_total", "SLA warnings fired, by department and target",
                   ["department", "target"])
FIRING_DELAY = Histogram("helpdesk_sla_firing_delay_seconds",
                         "How long after its due time a timer fired",
                         buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300))
FIRST_RESPONSE = Histogram("helpdesk_sla_first_response_seconds",
                           "Business time to the first agent reply, by department",
                           ["department"],
                           buckets=(300, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600,
                                    24 * 3600, 3 * 24 * 3600))
TIMERS_PENDING = Gauge("helpdesk_sla_timers_pending",
                       "Timers waiting to fire (their clock running)")


def fired(timer, moment):
    department = str(timer.department_id)
    ESCALATIONS.labels(department, timer.target, timer.kind, str(timer.level)).inc()
    if timer.kind == clocks.WARNING:
        WARNINGS.labels(department, timer.target).inc()
    elif timer.level == 1:
        BREACHES.labels(department, timer.target).inc()
    FIRING_DELAY.observe(max(0.0, (moment - timer.due_at).total_seconds()))
