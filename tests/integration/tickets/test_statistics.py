"""Managers' statistics computed by PostgreSQL over a known story: who handled what, first
response average and median, CSAT, load by hour/weekday/month in the viewer's time zone,
backlog and breaches — only for the departments the manager may see, only in the period."""
from datetime import datetime, timezone

import pytest

from helpdesk.errors import Forbidden, InvalidInput
from services.tickets import access, statistics
from services.tickets.models import Customer, Escalation, Message, Rating, Ticket
from tests import fixtures

UTC = timezone.utc
NOVEMBER = {"since": "2026-11-01T00:00:00+00:00", "until": "2026-12-01T00:00:00+00:00",
            "time_zone": "Europe/Moscow"}


def at(day, hour, minute=0, month=11):
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def story(db):
    support = fixtures.department(db, "Техподдержка")
    billing = fixtures.department(db, "Биллинг")
    olga, _ = fixtures.agent_with_token(db, "Ольга", "olga@isp.example",
                                        department_ids=[support["id"], billing["id"]])
    boris, _ = fixtures.agent_with_token(db, "Борис", "boris@isp.example",
                                         department_ids=[support["id"]])
    mila, _ = fixtures.agent_with_token(db, "Мила", "mila@isp.example", role="manager",
                                        department_ids=[support["id"]])
    customer = Customer(email="anna@mail.example", name="Анна")
    db.add(customer)
    db.flush()

    def ticket(department, created, status="open", assignee=None, replies=(), rating=None):
        row = Ticket(subject="Нет интернета", channel="mail", department_id=department["id"],
                     status=status, customer_id=customer.id, created_at=created,
                     updated_at=created, assignee_id=assignee["id"] if assignee else None,
                     first_response_at=min((when for _, when in replies), default=None))
        db.add(row)
        db.flush()
        db.add(Message(ticket_id=row.id, direction="inbound", author_customer_id=customer.id,
                       created_at=created))
        for agent, when in replies:
            db.add(Message(ticket_id=row.id, direction="outbound", author_agent_id=agent["id"],
                           created_at=when))
        if rating:
            db.add(Rating(ticket_id=row.id, score=rating, created_at=created))
        return row

    # Monday 2 November 10:00 UTC is 13:00 in Moscow
    first = ticket(support, at(2, 10), "resolved", olga, [(olga, at(2, 10, 30))], rating=5)
    ticket(support, at(3, 11), "resolved", olga, [(olga, at(3, 13))], rating=3)
    third = ticket(support, at(3, 9), "pending", boris, [(boris, at(3, 9, 10)),
                                                          (olga, at(3, 12))])
    ticket(support, at(4, 9), "new")
    ticket(billing, at(5, 9), "open", olga, [(olga, at(5, 9, 5))], rating=1)
    ticket(support, at(20, 9, month=10), "open", olga, [(olga, at(20, 10, month=10))])
    for level, target in ((1, "first_response"), (2, "first_response"), (1, "resolution")):
        db.add(Escalation(event_id=f"e{level}{target}", ticket_id=third.id,
                          department_id=support["id"], target=target, level=level,
                          created_at=at(3, 9, 30)))
    db.add(Escalation(event_id="old", ticket_id=first.id, department_id=support["id"],
                      target="first_response", level=1, created_at=at(30, 9, month=10)))
    db.commit()
    return {"support": support, "billing": billing, "olga": olga, "boris": boris,
            "manager": access.resolve(db, {"agent_id": mila["id"]}),
            "agent": access.resolve(db, {"agent_id": olga["id"]})}


def test_per_agent_figures_of_the_managers_departments_in_the_period(db, story):
    rows = {row["name"]: row for row in statistics.agents(db, story["manager"], NOVEMBER)}
    assert set(rows) == {"Ольга", "Борис"}
    olga = rows["Ольга"]
    # three support tickets answered in November; the billing one is not Mila's to see
    assert (olga["handled"], olga["replies"], olga["first_responses"]) == (3, 3, 2)
    assert olga["first_response_average_seconds"] == (30 * 60 + 2 * 3600) / 2
    assert olga["first_response_median_seconds"] == 4500
    assert (olga["ratings"], olga["csat_average"], olga["csat_satisfied_share"]) == (2, 4.0, 0.5)
    boris = rows["Борис"]
    assert (boris["handled"], boris["replies"], boris["first_responses"]) == (1, 1, 1)
    assert boris["first_response_median_seconds"] == 600
    assert boris["ratings"] == 0 and boris["csat_average"] is None


def test_an_admin_sees_every_department_and_a_department_can_be_chosen(db, story):
    admin = fixtures.SYSTEM
    olga = next(r for r in statistics.agents(db, admin, NOVEMBER) if r["name"] == "Ольга")
    assert (olga["handled"], olga["first_responses"], olga["ratings"]) == (4, 3, 3)
    billing = statistics.agents(db, admin, {**NOVEMBER, "department_id": story["billing"]["id"]})
    assert [(r["name"], r["handled"]) for r in billing] == [("Ольга", 1)]


def test_load_by_hour_weekday_month_in_the_viewers_zone_backlog_and_breaches(db, story):
    load = statistics.load(db, story["manager"], {**NOVEMBER, "since": "2026-10-01T00:00Z"})
    assert load["incoming"] == 5  # four support tickets in November, one in October
    hours = {item["bucket"]: item["tickets"] for item in load["by_hour"] if item["tickets"]}
    assert hours == {12: 3, 13: 1, 14: 1}  # 09:00, 10:00 and 11:00 UTC in Moscow
    weekdays = {item["bucket"]: item["tickets"] for item in load["by_weekday"] if item["tickets"]}
    assert weekdays == {1: 1, 2: 3, 3: 1}  # Mon 2, Tue 3 (two), Wed 4 November; Tue 20 Oct
    assert load["by_month"] == [{"month": "2026-10", "tickets": 1},
                                {"month": "2026-11", "tickets": 4}]
    assert load["backlog"] == {"new": 1, "open": 1, "pending": 1}
    assert load["breaches"] == {"first_response": 2, "resolution": 1}
    november = statistics.load(db, story["manager"], NOVEMBER)
    assert november["breaches"] == {"first_response": 1, "resolution": 1}


def test_only_managers_and_a_sensible_period(db, story):
    with pytest.raises(Forbidden):
        statistics.agents(db, story["agent"], NOVEMBER)
    for wrong in ({**NOVEMBER, "until": "2026-10-01T00:00:00Z"}, {**NOVEMBER, "since": "soon"},
                  {**NOVEMBER, "time_zone": "Mars/Olympus"}):
        with pytest.raises(InvalidInput):
            statistics.load(db, story["manager"], wrong)
    with pytest.raises(Exception, match="does not exist"):
        statistics.load(db, story["manager"], {**NOVEMBER, "department_id": story["billing"]["id"]})
