"""The texts of the help desk's own mail, changed by admins through the REST API and used by
the notify service for the next mail (received by a real SMTP server)."""
import pytest

from tests import fixtures

TEMPLATES = "/api/v1/notify/templates"
OUR_ACK = {"kind": "auto_ack", "language": "ru",
           "subject": "Заявка {{ ticket.number }} принята: {{ ticket.subject }}",
           "body": "{{ customer.name }}, биллинг ответит в течение дня.\n"}


@pytest.fixture
def billing(db, notify_service):
    return fixtures.department(db, "Биллинг", ["billing@isp.example"])


@pytest.fixture
def agent(db, billing):
    _, token = fixtures.agent_with_token(db, "Ivan", "ivan@isp.example",
                                         department_ids=[billing["id"]])
    return {"Authorization": f"Bearer {token}"}


def test_a_departments_own_acknowledgement_is_what_its_customers_get(client, admin, billing,
                                                                     relay, customer_writes):
    saved = client.put(TEMPLATES, headers=admin["headers"],
                       json={**OUR_ACK, "department_id": billing["id"]})
    assert saved.status_code == 200, saved.json
    assert saved.json["shipped"] is False and saved.json["department_id"] == billing["id"]
    listed = client.get(TEMPLATES, headers=admin["headers"]).json
    assert {"kind": "auto_ack", "language": "ru", "department_id": billing["id"]} in [
        {key: t[key] for key in ("kind", "language", "department_id")} for t in listed]
    ticket_id = customer_writes("billing@isp.example", subject="Двойное списание",
                                body="С карты дважды списали абонентскую плату.")
    [ack] = relay.wait_for(1)
    assert ack["Subject"] == f"Заявка {ticket_id} принята: Двойное списание [#{ticket_id}]"
    assert ack.get_body(("plain",)).get_content().startswith(
        "Анна Иванова, биллинг ответит в течение дня.")
    summary = client.get("/api/v1/notify/outbox", headers=admin["headers"])
    assert summary.status_code == 200 and "oldest_waiting_seconds" in summary.json


def test_a_template_that_does_not_render_is_refused_by_name(client, admin, billing):
    for broken in ({"body": "{% if ticket.number %}never closed"},
                   {"body": "{{ ticket.no_such_field }}"},
                   {"subject": "{{ ''.__class__.__mro__ }}"}):
        response = client.put(TEMPLATES, headers=admin["headers"],
                              json={**OUR_ACK, "department_id": billing["id"], **broken})
        assert response.status_code == 400
        assert response.json["error"] == "INVALID_TEMPLATE", response.json
        assert response.json["message"]
    unknown = client.put(TEMPLATES, headers=admin["headers"], json={**OUR_ACK, "kind": "spam"})
    assert unknown.status_code == 400 and unknown.json["field"] == "kind"
    not_json = client.put(TEMPLATES, headers=admin["headers"], data="kind=auto_ack")
    assert not_json.status_code == 400 and not_json.json["error"] == "INVALID_JSON"
    listed = client.get(TEMPLATES, headers=admin["headers"]).json
    assert all(t["shipped"] for t in listed)  # nothing refused was stored


def test_a_reset_template_goes_back_to_the_shipped_text(client, admin, billing):
    client.put(TEMPLATES, headers=admin["headers"], json=OUR_ACK)
    client.put(TEMPLATES, headers=admin["headers"], json={**OUR_ACK,
                                                          "department_id": billing["id"]})
    path = f"{TEMPLATES}/auto_ack/ru"
    reset = client.delete(f"{path}?department_id={billing['id']}", headers=admin["headers"])
    assert reset.status_code == 200 and reset.json == {"reset": True}
    again = client.delete(f"{path}?department_id={billing['id']}", headers=admin["headers"])
    assert again.status_code == 404 and again.json["error"] == "TEMPLATE_NOT_CHANGED"
    assert client.delete(path, headers=admin["headers"]).status_code == 200
    ack = [t for t in client.get(TEMPLATES, headers=admin["headers"]).json
           if (t["kind"], t["language"]) == ("auto_ack", "ru")]
    assert ack == [{**ack[0], "department_id": None, "shipped": True}]
    bad = client.delete(f"{path}?department_id=first", headers=admin["headers"])
    assert bad.status_code == 400 and bad.json["field"] == "department_id"


@pytest.mark.parametrize("method, path", [
    ("get", TEMPLATES), ("put", TEMPLATES), ("delete", f"{TEMPLATES}/auto_ack/ru"),
    ("get", "/api/v1/notify/outbox")])
def test_only_admins_manage_notifications(client, agent, method, path):
    response = getattr(client, method)(path, headers=agent, json=OUR_ACK)
    assert response.status_code == 403 and response.json["error"] == "ADMIN_ONLY"
    anonymous = getattr(client, method)(path, json=OUR_ACK)
    assert anonymous.status_code == 401

