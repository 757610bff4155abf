"""Mail ingest for admins through the REST API: quarantine, raw mail, mailboxes, rules."""
import base64

import pytest

from services.ingest.service import IngestService
from tests import fixtures
from tests.mail import wait_until_processed

RAW = ("From: Анна <anna@mail.example>\r\nTo: nobody@isp.example\r\n"
       "Subject: =?utf-8?b?0J3QtdGCINGB0LLRj9C30Lg=?=\r\nMessage-ID: <q1@mail.example>\r\n"
       "\r\nТекст\r\n").encode("utf-8")


@pytest.fixture(autouse=True)
def ingest_service(container_factory, config, tickets_service):
    container = container_factory(IngestService, config)
    container.start()
    return container


@pytest.fixture
def agent(db):
    created, token = fixtures.agent_with_token(db, "Ivan", "ivan@isp.example")
    return {"Authorization": f"Bearer {token}"}


def submit(client, headers, raw=RAW, recipients=()):
    return client.post("/api/v1/mail/raw", headers=headers, json={
        "content_base64": base64.b64encode(raw).decode(), "envelope_recipients": list(recipients)})


@pytest.mark.parametrize("method, path", [
    ("get", "/api/v1/mail/raw"), ("get", "/api/v1/mail/mailboxes"), ("get", "/api/v1/mail/rules"),
    ("post", "/api/v1/mail/raw/1/reprocess")])
def test_only_admins_manage_mail(client, agent, method, path):
    response = getattr(client, method)(path, headers=agent)
    assert response.status_code == 403 and response.json["error"] == "ADMIN_ONLY"


def test_quarantined_mail_is_listed_shown_downloaded_and_reprocessed(client, admin, engine,
                                                                     db):
    assert submit(client, admin["headers"]).status_code == 202
    [row] = wait_until_processed(engine, 1)
    listed = client.get("/api/v1/mail/raw", headers=admin["headers"]).json
    assert listed["total"] == 1 and listed["items"][0]["reason"].startswith("NO_DEPARTMENT")
    shown = client.get(f"/api/v1/mail/raw/{row.id}", headers=admin["headers"]).json
    assert shown["parsed"]["subject"] == "Нет связи"
    original = client.get(f"/api/v1/mail/raw/{row.id}/original", headers=admin["headers"])
    assert original.data == RAW and original.headers["X-Content-Type-Options"] == "nosniff"
    client.post("/api/v1/departments", headers=admin["headers"],
                json={"name": "Support", "addresses": ["nobody@isp.example"]})
    again = client.post(f"/api/v1/mail/raw/{row.id}/reprocess", headers=admin["headers"])
    assert again.status_code == 202
    [row] = wait_until_processed(engine, 1)
    assert row.status == "processed" and row.ticket_id is not None


def test_reprocessing_processed_mail_is_a_conflict(client, admin, engine):
    client.post("/api/v1/departments", headers=admin["headers"],
                json={"name": "Support", "addresses": ["nobody@isp.example"]})
    submit(client, admin["headers"])
    [row] = wait_until_processed(engine, 1)
    response = client.post(f"/api/v1/mail/raw/{row.id}/reprocess", headers=admin["headers"])
    assert response.status_code == 409 and response.json["error"] == "NOT_QUARANTINED"


def test_bad_raw_mail_input_is_named(client, admin):
    response = client.post("/api/v1/mail/raw", headers=admin["headers"],
                           json={"content_base64": "***"})
    assert response.status_code == 400 and response.json["field"] == "content_base64"
    response = client.get("/api/v1/mail/raw?status=lost", headers=admin["headers"])
    assert response.status_code == 400 and response.json["field"] == "status"


def test_mailboxes_never_show_their_password_and_names_are_unique(client, admin):
    mailbox = {"name": "Support inbox", "host": "imap.isp.example", "port": 993,
               "username": "support", "password": "s3cret"}
    created = client.post("/api/v1/mail/mailboxes", headers=admin["headers"], json=mailbox)
    assert created.status_code == 201 and "password" not in created.json
    assert client.post("/api/v1/mail/mailboxes", headers=admin["headers"],
                       json=mailbox).status_code == 409
    bad = client.post("/api/v1/mail/mailboxes", headers=admin["headers"],
                      json={**mailbox, "name": "Other", "security": "ssl3"})
    assert bad.status_code == 400 and bad.json["field"] == "security"
    changed = client.patch(f"/api/v1/mail/mailboxes/{created.json['id']}",
                           headers=admin["headers"], json={"enabled": False})
    assert changed.json["enabled"] is False
    listed = client.get("/api/v1/mail/mailboxes", headers=admin["headers"]).json
    assert [m["name"] for m in listed] == ["Support inbox"]


def test_routing_rules_are_listed_in_the_order_they_are_tried(client, admin):
    department = client.post("/api/v1/departments", headers=admin["headers"],
                             json={"name": "Billing"}).json
    for position, domain in ((20, "late.example"), (10, "early.example")):
        client.post("/api/v1/mail/rules", headers=admin["headers"], json={
            "department_id": department["id"], "position": position, "sender_domain": domain})
    rules = client.get("/api/v1/mail/rules", headers=admin["headers"]).json
    assert [r["sender_domain"] for r in rules] == ["early.example", "late.example"]
    assert client.delete(f"/api/v1/mail/rules/{rules[0]['id']}",
                         headers=admin["headers"]).status_code == 200
    assert len(client.get("/api/v1/mail/rules", headers=admin["headers"]).json) == 1
