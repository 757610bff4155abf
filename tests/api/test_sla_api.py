"""SLA over the REST API: admins set a business calendar and a policy, an agent reads where
a ticket stands and which tickets are at risk; bad input and other departments get clear
4xx answers."""
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest


MON_FRI = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}

pytestmark = pytest.mark.usefixtures("escalation_service")


def test_an_admin_sets_a_calendar_and_policy_and_an_agent_sees_the_due_time(
        client, admin, support, customer_writes, db):
    calendar = client.post("/api/v1/sla/calendars", headers=admin["headers"], json={
        "name": "Москва", "time_zone": "Europe/Moscow", "hours": MON_FRI, "country": "RU",
        "holidays": ["2026-12-31"]})
    assert calendar.status_code == 201, calendar.json
    policy = client.post("/api/v1/sla/policies", headers=admin["headers"], json={
        "name": "Техподдержка", "department_id": support["department"]["id"],
        "calendar_id": calendar.json["id"], "first_response_minutes": 240,
        "warning_percent": 80})
    assert policy.status_code == 201, policy.json
    assert policy.json["levels"][0]["after_minutes"] == 0

    ticket_id = customer_writes("support@isp.example", subject="Нет интернета", body="Нет связи")
    sla = wait_for_targets(client, support["agent"], ticket_id)
    first = sla["targets"][0]
    assert first["target"] == "first_response" and first["target_seconds"] == 240 * 60
    due = datetime.fromisoformat(first["due_at"])
    # within working hours in Moscow: a weekday, 09:00-18:00
    local = due.astimezone(ZoneInfo("Europe/Moscow"))
    assert local.weekday() < 5 and (9, 0) <= (local.hour, local.minute) <= (18, 0)
    assert sla["policy"]["name"] == "Техподдержка"

    risk = client.get(f"/api/v1/departments/{support['department']['id']}/sla/at-risk"
                      "?within_minutes=10080", headers=support["agent"])
    assert risk.status_code == 200
    assert [entry["ticket_id"] for entry in risk.json["at_risk"]] == [ticket_id]


def wait_for_targets(client, headers, ticket_id, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = client.get(f"/api/v1/tickets/{ticket_id}/sla", headers=headers)
        assert answer.status_code == 200, answer.json
        if answer.json["targets"]:
            return answer.json
        time.sleep(0.1)
    raise AssertionError("the ticket's SLA clocks never started")


def test_bad_calendars_and_policies_are_refused_naming_the_problem(client, admin, support):
    cases = [
        ("/api/v1/sla/calendars", {"name": "x", "time_zone": "Mars/Olympus", "always_open": True},
         "time_zone"),
        ("/api/v1/sla/calendars", {"name": "x", "hours": {"mon": [["9:00", "18:00"]]}}, "hours"),
        ("/api/v1/sla/calendars", {"name": "x", "hours": {"xyz": [["09:00", "18:00"]]}}, "hours"),
        ("/api/v1/sla/calendars", {"name": "x", "country": "ZZ", "always_open": True},
         "country"),
        ("/api/v1/sla/policies", {"name": "p"}, "target"),
        ("/api/v1/sla/policies", {"name": "p", "first_response_minutes": 0},
         "first_response_minutes"),
        ("/api/v1/sla/policies", {"name": "p", "first_response_minutes": 60,
                                  "department_id": 999999}, "department_id"),
        ("/api/v1/sla/policies", {"name": "p", "first_response_minutes": 60,
                                  "calendar_id": 999999}, "calendar"),
        ("/api/v1/sla/policies", {"name": "p", "first_response_minutes": 60,
                                  "levels": [{"after_minutes": 30}, {"after_minutes": 10}]},
         "after_minutes"),
    ]
    for path, data, named in cases:
        answer = client.post(path, headers=admin["headers"], json=data)
        assert 400 <= answer.status_code < 500, (data, answer.json)
        assert named in answer.json["message"] or named == answer.json.get("field"), \
            (data, answer.json)


def test_agents_may_read_but_not_change_policies_nor_see_other_departments(
        client, admin, support, customer_writes):
    refused = client.post("/api/v1/sla/policies", headers=support["agent"],
                          json={"name": "p", "first_response_minutes": 60})
    assert refused.status_code == 403 and refused.json["error"] == "ADMIN_ONLY"
    assert client.get("/api/v1/sla/policies", headers=support["agent"]).status_code == 200
    hidden = client.get(f"/api/v1/departments/{support['other']['id']}/sla/at-risk",
                        headers=support["agent"])
    assert hidden.status_code == 404
    billing_ticket = customer_writes("billing@isp.example", subject="Счёт", body="Вопрос")
    assert client.get(f"/api/v1/tickets/{billing_ticket}/sla",
                      headers=support["agent"]).status_code == 404
    assert client.get("/api/v1/tickets/abc/sla", headers=support["agent"]).status_code == 400
    assert client.get("/api/v1/sla/policies").status_code == 401


def test_a_ticket_without_a_policy_has_no_targets(client, support, customer_writes):
    ticket_id = customer_writes("support@isp.example", subject="Вопрос", body="Просто вопрос")
    answer = client.get(f"/api/v1/tickets/{ticket_id}/sla", headers=support["agent"])
    assert answer.status_code == 200
    assert answer.json["targets"] == [] and answer.json["policy"] is None
