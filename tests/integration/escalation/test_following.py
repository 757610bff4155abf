"""Following tickets: their clocks are worked out from the facts a new ticket's event
carries, or else fetched fresh; a batch of events' tickets is followed in one transaction."""
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.escalation import policies, tracking
from services.escalation.models import Clock, Timer

def test_carried_facts_count_only_for_a_ticket_never_followed(engine, db):
    """ticket_created's facts start the clocks; an event of the same ticket arriving after
    others (or again) must not set the clocks back to them: the facts are fetched."""
    created = datetime.now(timezone.utc) - timedelta(minutes=5)
    answered = created + timedelta(minutes=1)
    carried = {"ticket_id": 1002, "department_id": 7, "priority": "normal", "status": "new",
               "created_at": created.isoformat(), "statuses": [[created.isoformat(), "new"]],
               "messages": [[created.isoformat(), "inbound", 1]]}
    current = {**carried, "status": "open",
               "statuses": [*carried["statuses"], [answered.isoformat(), "open"]],
               "messages": [*carried["messages"], [answered.isoformat(), "outbound", 2]]}
    fetched = []

    def fetch(ticket_id):
        fetched.append(ticket_id)
        return current

    with Session(engine) as session:
        policies.save_policy(session, {"name": "Биллинг", "department_id": 7,
                                       "first_response_minutes": 60})
        tracking.follow(session, 1002, fetch, carried)
        assert fetched == [] and _first_response_timers(session, 1002) == 1
        tracking.follow(session, 1002, fetch, carried)  # the same event again, late
        assert fetched == [1002] and _first_response_timers(session, 1002) == 0


def _first_response_timers(session, ticket_id):
    return len(session.scalars(select(Timer).where(Timer.ticket_id == ticket_id,
                                                   Timer.target == "first_response",
                                                   Timer.fired_at.is_(None))).all())



def story(ticket_id, created, answered=None):
    facts = {"ticket_id": ticket_id, "department_id": 7, "priority": "normal", "status": "new",
             "created_at": created.isoformat(), "statuses": [[created.isoformat(), "new"]],
             "messages": [[created.isoformat(), "inbound", ticket_id * 10]]}
    if answered:
        facts["status"] = "open"
        facts["statuses"].append([answered.isoformat(), "open"])
        facts["messages"].append([answered.isoformat(), "outbound", ticket_id * 10 + 1])
    return facts


def test_a_batch_of_events_is_followed_in_one_go(engine, db):
    created = datetime.now(timezone.utc) - timedelta(minutes=5)
    fetched = []

    def fetch(ticket_ids):
        fetched.append(ticket_ids)
        return [story(number, created, answered=created + timedelta(minutes=1))
                for number in ticket_ids if number != 2003]  # 2003 does not exist

    with Session(engine) as session:
        policies.save_policy(session, {"name": "Биллинг", "department_id": 7,
                                       "first_response_minutes": 60})
        followed = tracking.follow_many(session, [
            (2001, story(2001, created)),            # new: its carried facts are enough
            (2002, story(2002, created)), (2002, None),  # and an agent already answered
            (2003, None)], fetch)
    assert followed == [2001, 2002] and fetched == [[2002, 2003]]
    assert _first_response_timers(db, 2001) == 1  # waiting for the first answer
    assert _first_response_timers(db, 2002) == 0  # answered
    assert db.scalar(select(Clock).where(Clock.ticket_id == 2003)) is None
