"""The escalation service in real nameko containers beside tickets (and notify, mailing a real
SMTP server), on RabbitMQ and PostgreSQL. Targets are whole minutes, so a test moves a
ticket's story back in time (its rows in the tickets schema) instead of waiting: the clocks
are worked out from those very rows."""
import re
import time
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
from nameko.events import event_handler
from nameko.standalone.rpc import ClusterRpcProxy
from prometheus_client import REGISTRY
from sqlalchemy import func, select, text

from helpdesk import contract
from services.escalation.models import Clock, Escalation, Timer
from services.escalation.service import EscalationService
from services.notify.service import NotifyService
from services.tickets.models import AuditEntry, Ticket
from services.tickets.service import TicketsService
from tests import fixtures
from tests.waiting import wait_until

INGEST, ADMIN = contract.system("ingest"), contract.system("test")


class Listener:
    name = "sla_test_listener"
    breaches, warnings = [], []

    @event_handler("escalation", contract.SLA_BREACHED)
    def breached(self, payload):
        Listener.breaches.append(payload)

    @event_handler("escalation", contract.SLA_WARNING)
    def warned(self, payload):
        Listener.warnings.append(payload)


def wait_for(condition, seconds=15):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        eventlet.sleep(0.1)
    return condition()


@pytest.fixture
def desk(container_factory, config, db):
    Listener.breaches, Listener.warnings = [], []
    first = fixtures.department(db, "Первая линия", ["support@isp.example"])
    second = fixtures.department(db, "Вторая линия", ["l2@isp.example"])
    _, token = fixtures.agent_with_token(db, "Ольга Смирнова", "olga@isp.example",
                                         department_ids=[first["id"]])
    fixtures.agent_with_token(db, "Начальник смены", "boss@isp.example", role="manager",
                              department_ids=[first["id"]])
    for service in (TicketsService, EscalationService, Listener):
        container_factory(service, config).start()
    with ClusterRpcProxy(config) as rpc:
        yield {"rpc": rpc, "agent": contract.agent_by_token(token), "first": first,
               "second": second, "db": db}


def policy(desk, **targets):
    return desk["rpc"].escalation.save_policy(ADMIN, {
        "name": "Первая линия", "department_id": desk["first"]["id"], **targets})


def new_ticket(desk, number=1):
    return desk["rpc"].tickets.ingest_message(INGEST, {
        "message_id": f"<sla-{number}@mail.example>", "from_address": "anna@mail.example",
        "to": ["support@isp.example"], "subject": "Нет интернета",
        "body_text": "С утра нет подключения."})["ticket_id"]


def followed(desk, ticket_id, condition=lambda clock: True):
    """Wait until the escalation service has the ticket's clock and it satisfies `condition`."""
    def check():
        desk["db"].rollback()
        clock = desk["db"].get(Clock, ticket_id)
        return clock is not None and clock.facts is not None and condition(clock)
    assert wait_for(check), f"ticket {ticket_id} was not followed"
    return desk["db"].get(Clock, ticket_id)


def move_back(db, ticket_id, seconds):
    """Move the ticket's whole story `seconds` into the past."""
    shift = {"ticket_id": ticket_id, "shift": timedelta(seconds=seconds)}
    for statement in (
            "UPDATE tickets.tickets SET created_at = created_at - :shift WHERE id = :ticket_id",
            "UPDATE tickets.messages SET created_at = created_at - :shift "
            "WHERE ticket_id = :ticket_id",
            "UPDATE tickets.audit_log SET created_at = created_at - :shift "
            "WHERE ticket_id = :ticket_id"):
        db.execute(text(statement), shift)
    db.commit()


def target(sla, name):
    return next(state for state in sla["targets"] if state["target"] == name)


def test_an_agents_reply_stops_the_first_response_clock_and_records_the_time(desk):
    policy(desk, first_response_minutes=240, next_response_minutes=120)
    ticket_id = new_ticket(desk)
    followed(desk, ticket_id)
    sla = desk["rpc"].escalation.ticket_sla(desk["agent"], ticket_id)
    first = target(sla, "first_response")
    assert first["state"] == "running" and first["target_seconds"] == 240 * 60
    assert 0 < first["remaining_seconds"] <= 240 * 60
    recorded_before = REGISTRY.get_sample_value(
        "helpdesk_sla_first_response_seconds_count",
        {"department": str(desk["first"]["id"])}) or 0

    move_back(desk["db"], ticket_id, 90 * 60)
    desk["rpc"].tickets.reply(desk["agent"], ticket_id, {"body": "Перезагрузите роутер."})
    clock = followed(desk, ticket_id, lambda clock: clock.first_response_seconds is not None)
    assert 90 * 60 <= clock.first_response_seconds < 91 * 60
    sla = desk["rpc"].escalation.ticket_sla(desk["agent"], ticket_id)
    assert target(sla, "first_response")["state"] == "met"
    assert wait_until(lambda: REGISTRY.get_sample_value(  # observed just after the commit
        "helpdesk_sla_first_response_seconds_count",
        {"department": str(desk["first"]["id"])}) == recorded_before + 1)
    assert not desk["db"].scalars(select(Timer).where(Timer.ticket_id == ticket_id,
                                                      Timer.target == "first_response")).all()


def test_a_customer_reply_on_a_pending_ticket_restarts_the_next_response_clock(desk):
    policy(desk, first_response_minutes=60, next_response_minutes=30)
    ticket_id = new_ticket(desk)
    desk["rpc"].tickets.reply(desk["agent"], ticket_id, {"body": "Пришлите MAC-адрес.",
                                                         "status": "pending"})
    followed(desk, ticket_id, lambda clock: clock.status == "pending")
    sla = desk["rpc"].escalation.ticket_sla(desk["agent"], ticket_id)
    assert {t["target"] for t in sla["targets"]} == {"first_response"}

    answer_at = datetime.now(timezone.utc)
    desk["rpc"].tickets.ingest_message(INGEST, {
        "message_id": "<sla-answer@mail.example>", "from_address": "anna@mail.example",
        "to": ["support@isp.example"], "subject": f"Re: Нет интернета [#{ticket_id}]",
        "body_text": "MAC: 00:11:22:33:44:55", "ticket_id": ticket_id})
    followed(desk, ticket_id, lambda clock: clock.status == "open")
    following = target(desk["rpc"].escalation.ticket_sla(desk["agent"], ticket_id),
                       "next_response")
    assert following["state"] == "running"
    started = datetime.fromisoformat(following["started_at"])
    assert abs((started - answer_at).total_seconds()) < 5
    due = datetime.fromisoformat(following["due_at"])
    # the ticket's reopening is stamped a moment after the message that reopened it
    assert timedelta(minutes=30) <= due - started < timedelta(minutes=30, seconds=1)


def test_a_breach_fires_once_is_recorded_on_the_ticket_and_escalates_by_level(desk):
    policy(desk, first_response_minutes=10, warning_percent=50, levels=[
        {"after_minutes": 0},
        {"after_minutes": 5, "priority": "urgent", "department_id": desk["second"]["id"]}])
    ticket_id = new_ticket(desk)
    followed(desk, ticket_id)
    move_back(desk["db"], ticket_id, 10 * 60 - 2)  # the first response is due in 2 seconds
    desk["rpc"].tickets.update_ticket(desk["agent"], ticket_id, {"status": "open"})

    assert wait_for(lambda: Listener.breaches)
    [warning] = Listener.warnings
    [breach] = Listener.breaches
    assert warning["target"] == breach["target"] == "first_response"
    assert breach["level"] == 1 and breach["ticket_id"] == ticket_id
    due = datetime.fromisoformat(breach["due_at"])
    fired_at = desk["db"].scalar(select(Escalation.fired_at)
                                 .where(Escalation.event_id == breach["event_id"]))
    assert timedelta(0) <= fired_at - due < timedelta(seconds=5)
    assert wait_for(lambda: history(desk, ticket_id, "escalation"))
    assert "first response breached" in history(desk, ticket_id, "escalation")[0]

    # level 2, five business minutes later: a higher priority and the second line
    move_back(desk["db"], ticket_id, 5 * 60)
    desk["rpc"].tickets.update_ticket(desk["agent"], ticket_id, {"status": "new"})
    assert wait_for(lambda: len(Listener.breaches) == 2)
    assert Listener.breaches[1]["level"] == 2
    assert wait_for(lambda: ticket(desk, ticket_id).department_id == desk["second"]["id"])
    assert ticket(desk, ticket_id).priority == "urgent"
    eventlet.sleep(1.5)  # the move and the new priority recompute the clocks...
    assert len(Listener.breaches) == 2  # ...but no level of this cycle fires again


def test_two_replicas_fire_every_breach_exactly_once(container_factory, config, desk):
    container_factory(EscalationService, config).start()  # a second replica
    policy(desk, first_response_minutes=1)
    tickets = [new_ticket(desk, number) for number in range(60)]
    for ticket_id in tickets:
        followed(desk, ticket_id)
    for ticket_id in tickets:
        move_back(desk["db"], ticket_id, 58)
    for ticket_id in tickets:
        desk["rpc"].tickets.update_ticket(desk["agent"], ticket_id, {"status": "open"})
    assert wait_for(lambda: len(Listener.breaches) >= len(tickets), 30)
    eventlet.sleep(2)
    assert sorted(b["ticket_id"] for b in Listener.breaches) == sorted(tickets)
    assert desk["db"].scalar(select(func.count()).select_from(Escalation)) == len(tickets)


def test_admins_keep_calendars_and_policies_and_agents_cannot(desk):
    rpc = desk["rpc"].escalation
    office = rpc.save_calendar(ADMIN, {
        "name": "Москва, будни", "time_zone": "Europe/Moscow", "country": "RU",
        "hours": {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}})
    saved = policy(desk, first_response_minutes=240, calendar_id=office["id"])
    assert rpc.list_policies(desk["agent"])[0]["calendar_id"] == office["id"]
    with pytest.raises(Exception) as refused:
        rpc.save_calendar(desk["agent"], {"name": "x", "always_open": True})
    assert refused.value.code == "ADMIN_ONLY"
    with pytest.raises(Exception) as wrong:
        rpc.save_calendar(ADMIN, {"name": "Ночь", "hours": {"mon": [["18:00", "09:00"]]}})
    assert wrong.value.code == "INVALID_INPUT" and "ends before it starts" in wrong.value.message
    with pytest.raises(Exception) as taken:
        policy(desk, first_response_minutes=60)
    assert taken.value.code == "POLICY_EXISTS"
    with pytest.raises(Exception) as in_use:
        rpc.delete_calendar(ADMIN, office["id"])
    assert in_use.value.code == "CALENDAR_IN_USE"
    rpc.delete_policy(ADMIN, saved["id"])
    rpc.delete_calendar(ADMIN, office["id"])
    assert rpc.list_calendars(ADMIN) == []


def test_a_policy_change_recomputes_open_tickets(desk):
    saved = policy(desk, first_response_minutes=240)
    ticket_id = new_ticket(desk)
    followed(desk, ticket_id)
    desk["rpc"].escalation.save_policy(ADMIN, {"name": "Быстрее", "department_id":
                                               desk["first"]["id"],
                                               "first_response_minutes": 30}, saved["id"])
    created = ticket(desk, ticket_id).created_at

    def due_in_30_minutes():
        desk["db"].rollback()
        due = desk["db"].scalar(select(Timer.due_at).where(Timer.ticket_id == ticket_id,
                                                           Timer.kind == "breach"))
        return due == created + timedelta(minutes=30)
    assert wait_for(due_in_30_minutes)


def test_tickets_at_risk_are_listed_for_the_department_soonest_first(desk):
    policy(desk, first_response_minutes=60)
    later, sooner = new_ticket(desk, 1), new_ticket(desk, 2)
    for ticket_id in (later, sooner):
        followed(desk, ticket_id)
    move_back(desk["db"], sooner, 30 * 60)
    desk["rpc"].tickets.update_ticket(desk["agent"], sooner, {"status": "open"})
    followed(desk, sooner, lambda clock: clock.status == "open")
    risk = desk["rpc"].escalation.at_risk(desk["agent"], desk["first"]["id"], 45)
    assert [entry["ticket_id"] for entry in risk["at_risk"]] == [sooner]
    risk = desk["rpc"].escalation.at_risk(desk["agent"], desk["first"]["id"], 90)
    assert [entry["ticket_id"] for entry in risk["at_risk"]] == [sooner, later]
    with pytest.raises(Exception) as hidden:
        desk["rpc"].escalation.at_risk(desk["agent"], desk["second"]["id"])
    assert hidden.value.code == "DEPARTMENT_NOT_FOUND"


def history(desk, ticket_id, field):
    desk["db"].rollback()
    return desk["db"].scalars(select(AuditEntry.new_value).where(
        AuditEntry.ticket_id == ticket_id, AuditEntry.field == field)).all()


def ticket(desk, ticket_id):
    desk["db"].rollback()
    return desk["db"].get(Ticket, ticket_id)


def test_the_managers_get_one_mail_per_breach(container_factory, config, desk, tmp_path):
    from tests.relay import Relay
    relay = Relay(tmp_path / "relay").start()
    try:
        container_factory(NotifyService, {**config, **relay.settings()}).start()
        policy(desk, first_response_minutes=1)
        tickets = [new_ticket(desk, number) for number in range(3)]
        relay.wait_for(3)  # the acknowledgements
        for ticket_id in tickets:
            followed(desk, ticket_id)
            move_back(desk["db"], ticket_id, 59)
            desk["rpc"].tickets.update_ticket(desk["agent"], ticket_id, {"status": "open"})
        relay.wait_for(6)
        eventlet.sleep(2)
        received = relay.mails()
        alerts = [mail for mail in received if "boss@isp.example" in str(mail["To"])]
        assert len(alerts) == 3 and len(received) == 6
        assert sorted(int(re.match(r"<hd\.(\d+)\.", mail["Message-ID"]).group(1))
                      for mail in alerts) == sorted(tickets)
    finally:
        relay.stop()
