"""A policy saved while a ticket's clock is being computed from the old one: the clock must
still end up with the new policy's timers (seen in the 10,000-ticket benchmark: 5 tickets
followed in the same milliseconds as the policy was saved kept no timer)."""
from datetime import datetime, timedelta, timezone

import eventlet
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.database import green_psycopg
from services.escalation import policies, tracking
from services.escalation.models import Timer


def test_a_policy_saved_mid_computation_still_reaches_the_clock(engine, db):
    green_psycopg()  # both sessions wait on PostgreSQL without blocking each other
    created = datetime.now(timezone.utc) - timedelta(minutes=1)
    facts = {"ticket_id": 1001, "department_id": 7, "priority": "normal", "status": "new",
             "created_at": created.isoformat(), "statuses": [[created.isoformat(), "new"]],
             "messages": []}
    fetching, release = eventlet.event.Event(), eventlet.event.Event()

    def slow_facts(ticket_id):
        fetching.send()
        release.wait()  # the tickets service answering slowly
        return facts

    def follow():
        with Session(engine) as session:
            tracking.follow(session, 1001, slow_facts)

    def save_policy():
        with Session(engine) as session:
            policies.save_policy(session, {"name": "Первая линия", "department_id": 7,
                                           "first_response_minutes": 60})

    follower = eventlet.spawn(follow)
    fetching.wait()
    saver = eventlet.spawn(save_policy)
    eventlet.sleep(0.3)
    assert not saver.dead, "the policy change must wait for the clock being computed"
    release.send()
    follower.wait()
    saver.wait()
    with Session(engine) as session:
        while tracking.refresh_stale(session):
            pass
        timers = session.scalars(select(Timer).where(Timer.ticket_id == 1001)).all()
    assert [(t.target, t.kind) for t in timers] == [("first_response", "breach")]

