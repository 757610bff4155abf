"""Bad input gets a 4xx with a JSON body naming the problem, and changes nothing."""
import pytest
from sqlalchemy import text


def snapshot(db):
    db.rollback()
    return db.execute(text(
        "SELECT (SELECT count(*) FROM tickets.tickets), (SELECT count(*) FROM tickets.messages),"
        " (SELECT count(*) FROM tickets.departments), (SELECT count(*) FROM tickets.customers),"
        " (SELECT count(*) FROM tickets.audit_log), (SELECT count(*) FROM tickets.event_outbox)"
    )).one()


@pytest.fixture
def ticket(client, admin):
    dept = client.post("/api/v1/departments", json={"name": "Support"},
                       headers=admin["headers"]).json
    return client.post("/api/v1/tickets", headers=admin["headers"], json={
        "subject": "Router", "body": "help", "department_id": dept["id"],
        "customer": {"email": "c@mail.example"}}).json


def test_malformed_json(client, admin, ticket, db):
    before = snapshot(db)
    response = client.post("/api/v1/tickets", data='{"subject": "x",',
                           content_type="application/json", headers=admin["headers"])
    assert response.status_code == 400
    assert response.json["error"] == "INVALID_JSON"
    assert snapshot(db) == before


@pytest.mark.parametrize("change, field, code", [
    ({"subject": None}, "subject", "INVALID_INPUT"),
    ({"subject": "   "}, "subject", "INVALID_INPUT"),
    ({"department_id": 999999}, "department_id", "UNKNOWN_DEPARTMENT"),
    ({"department_id": "abc"}, "department_id", "INVALID_INPUT"),
    ({"priority": "extreme"}, "priority", "INVALID_INPUT"),
    ({"colour": "red"}, "colour", "INVALID_INPUT"),
    ({"customer": {"email": "not-an-address"}}, "customer.email", "INVALID_INPUT"),
])
def test_invalid_ticket_fields_are_named(client, admin, ticket, db, change, field, code):
    before = snapshot(db)
    payload = {"subject": "New", "body": "text", "department_id": ticket["department_id"],
               "customer": {"email": "c@mail.example"}, **change}
    payload = {k: v for k, v in payload.items() if v is not None}
    response = client.post("/api/v1/tickets", json=payload, headers=admin["headers"])
    assert response.status_code == 400, response.json
    assert (response.json["error"], response.json["field"]) == (code, field)
    assert field.split(".")[0] in response.json["message"]
    assert snapshot(db) == before


def test_body_over_the_limit_is_refused(client, admin, ticket, db):
    before = snapshot(db)
    huge = "x" * (30 * 1024 * 1024)
    response = client.post(f"/api/v1/tickets/{ticket['id']}/replies", headers=admin["headers"],
                           data='{"body": "' + huge + '"}', content_type="application/json")
    assert response.status_code == 413
    assert response.json["error"] == "REQUEST_TOO_LARGE"
    assert snapshot(db) == before


def test_unknown_status_is_refused(client, admin, ticket, db):
    before = snapshot(db)
    response = client.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": "done-ish"},
                            headers=admin["headers"])
    assert response.status_code == 400
    assert response.json["field"] == "status"
    assert snapshot(db) == before


@pytest.mark.parametrize("path", ["/api/v1/tickets/abc", "/api/v1/tickets/-1",
                                  "/api/v1/agents/1.5", "/api/v1/tickets?page=x"])
def test_ids_that_are_not_numbers(client, admin, ticket, path):
    response = client.get(path, headers=admin["headers"])
    assert response.status_code == 400
    assert response.json["error"] == "INVALID_ID"


def test_missing_or_wrong_token(client, ticket):
    assert client.get("/api/v1/tickets").status_code == 401
    response = client.get("/api/v1/tickets", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and response.json["error"] == "UNAUTHORIZED"


def test_unknown_route_and_method_are_json(client, admin):
    assert client.get("/api/v1/nothing", headers=admin["headers"]).json["error"] == "NOT_FOUND"
    response = client.put("/api/v1/tickets", headers=admin["headers"])
    assert response.status_code == 405 and response.json["error"] == "METHOD_NOT_ALLOWED"


def test_a_nul_character_is_refused_naming_where_it_is(client, admin, ticket, db):
    before = snapshot(db)
    sent = client.post(f"/api/v1/tickets/{ticket['id']}/replies", headers=admin["headers"],
                       json={"body": "Здравствуйте\x00", "cc": ["a@mail.example"]})
    assert sent.status_code == 400 and sent.json["field"] == "body"
    found = client.get("/api/v1/customers", query_string={"q": "an\x00na"},
                       headers=admin["headers"])
    assert found.status_code == 400 and found.json["field"] == "q"
    login = client.post("/api/v1/auth/login", json={"email": "a\x00@b.example", "password": "x"})
    assert login.status_code == 400 and login.json["field"] == "email"
    nested = client.post("/api/v1/tickets", headers=admin["headers"], json={
        "subject": "x", "body": "y", "department_id": 1,
        "customer": {"email": "c@mail.example", "phones": ["+7\x00"]}})
    assert nested.status_code == 400 and nested.json["field"] == "customer.phones.0"
    assert snapshot(db) == before


def test_an_agent_cannot_take_a_colleagues_address_whatever_else_changes(client, admin, ticket):
    first = client.post("/api/v1/agents", headers=admin["headers"],
                        json={"name": "Оля", "email": "olga@isp.example"}).json
    second = client.post("/api/v1/agents", headers=admin["headers"],
                         json={"name": "Боря", "email": "boris@isp.example"}).json
    taken = client.patch(f"/api/v1/agents/{second['id']}", headers=admin["headers"],
                         json={"email": "OLGA@isp.example", "department_ids": [],
                               "active": False})
    assert taken.status_code == 409 and taken.json["error"] == "AGENT_EXISTS"
    kept = client.get(f"/api/v1/agents/{second['id']}", headers=admin["headers"]).json
    assert (kept["email"], kept["active"]) == ("boris@isp.example", True)
    assert first["email"] == "olga@isp.example"
