"""Who may call what, for every operation in the OpenAPI document: no token and a disabled
agent's token get 401 before anything else; an agent gets 403 from what the document marks
(admin) or (manager); and nothing about a ticket of another department — its page, its
conversation, its SLA, its attachments, any change to it — is given to an agent outside it."""
import base64

import pytest

from gateway.api.openapi import OPERATIONS, PUBLIC_OPERATIONS
from services.tickets import agents, conversation, lifecycle
from tests import fixtures

SECRET = "Секретная заявка биллинга"
# Valid bodies for what may be done to a ticket, so the refusal is the access check's
BODIES = {"patch /tickets/{ticket_id}": {"status": "open"},
          "post /tickets/{ticket_id}/replies": {"body": "Здравствуйте"},
          "post /tickets/{ticket_id}/notes": {"body": "заметка"},
          "post /tickets/{ticket_id}/presence": {"state": "viewing"},
          "post /tickets/{ticket_id}/split": {"message_id": 1},
          "post /tickets/{ticket_id}/merge": {"into_ticket_id": 1},
          "post /tickets/{ticket_id}/rating": {"score": 5}}


@pytest.fixture
def world(db, support, every_service):
    """A Billing ticket with an attachment, an active agent of Support only, and a disabled
    agent."""
    ticket = lifecycle.create(db, fixtures.SYSTEM, {
        "subject": SECRET, "body": "Долг 100 рублей", "department_id": support["other"]["id"],
        "customer": {"email": "debtor@mail.example", "name": "Должник"}})
    note = conversation.note(db, fixtures.SYSTEM, ticket["id"], {
        "body": "скан договора", "attachments": [{
            "filename": "договор.pdf", "content_base64": base64.b64encode(b"%PDF").decode()}]})
    gone, gone_token = fixtures.agent_with_token(db, "Уволенный", "gone@isp.example",
                                                 department_ids=[support["department"]["id"]])
    agents.update(db, fixtures.SYSTEM, gone["id"], {"active": False})
    return {"ticket": ticket["id"], "attachment": note["attachments"][0]["id"],
            "agent": support["agent"], "disabled": {"Authorization": f"Bearer {gone_token}"}}


def url(path, world):
    ids = {"ticket_id": world["ticket"], "attachment_id": world["attachment"]}
    for name in ("ticket_id", "attachment_id", "department_id", "agent_id", "customer_id",
                 "template_id", "raw_mail_id", "mailbox_id", "rule_id", "calendar_id",
                 "policy_id", "saved_id"):
        path = path.replace(f"{{{name}}}", str(ids.get(name, 1)))
    path = path.replace("{kind}", "auto_ack").replace("{language}", "ru")
    return f"/api/v1{path}"


def send(client, method, path, headers=None, body=None):
    if body is None and method in ("post", "put", "patch"):
        body = {}
    return client.open(path, method=method.upper(), json=body, headers=headers or {})


def operations(marker=None):
    return [(method, path) for method, path, summary, *_ in OPERATIONS
            if (method, path) not in PUBLIC_OPERATIONS and (marker is None or marker in summary)]


def test_no_token_and_a_disabled_agent_get_401_everywhere(client, world):
    checked = 0
    for method, path in operations():
        for headers, code in ((None, "UNAUTHORIZED"), (world["disabled"], "AGENT_DISABLED")):
            answer = send(client, method, url(path, world), headers)
            assert answer.status_code == 401, (method, path, answer.status_code, answer.json)
            assert answer.json["error"] == code
        checked += 1
    assert checked == len(operations()) >= 60


def test_an_agent_gets_403_from_what_admins_and_managers_do(client, world):
    guarded = operations("(admin)") + operations("(manager)")
    assert len(guarded) >= 20
    for method, path in guarded:
        answer = send(client, method, url(path, world), world["agent"])
        assert answer.status_code == 403, (method, path, answer.status_code, answer.json)


def test_nothing_of_another_departments_ticket_reaches_an_agent(client, world, admin):
    scoped = [(method, path) for method, path in operations()
              if path.startswith("/tickets/{ticket_id}") or path.startswith("/attachments/")]
    assert len(scoped) >= 10
    for method, path in scoped:
        answer = send(client, method, url(path, world), world["agent"],
                      BODIES.get(f"{method} {path}"))
        assert answer.status_code == 404, (method, path, answer.status_code, answer.json)
        assert SECRET not in answer.get_data(as_text=True)
    # and the ticket is where it was, as it was
    ticket = client.get(f"/api/v1/tickets/{world['ticket']}", headers=admin["headers"]).json
    assert ticket["subject"] == SECRET and ticket["status"] == "new"
    assert [m["direction"] for m in ticket["messages"]] == ["inbound", "internal"]
