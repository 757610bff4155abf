"""The tickets service's business metrics: the tickets being worked on, by department and
status, as gauges (refreshed by a timer; every replica reports the same figures, so
dashboards take the max)."""
from prometheus_client import Gauge
from sqlalchemy import func, select

from services.tickets.lifecycle import ACTIVE_STATES
from services.tickets.models import Department, Ticket

ACTIVE = Gauge("helpdesk_tickets_active",
               "Tickets being worked on (new, open, pending), by department and status",
               ["department", "status"])


def count_active(session):
    """Set the gauges from the database (the index of active tickets makes it cheap)."""
    states = [str(state) for state in ACTIVE_STATES]
    counts = {(row[0], row[1]): row[2] for row in session.execute(
        select(Ticket.department_id, Ticket.status, func.count())
        .where(Ticket.status.in_(states)).group_by(Ticket.department_id, Ticket.status))}
    names = dict(session.execute(select(Department.id, Department.name)).all())
    session.rollback()
    for department_id, name in names.items():
        for state in states:  # zeros too: a queue that emptied must show 0, not its last value
            ACTIVE.labels(name, state).set(counts.get((department_id, state), 0))
