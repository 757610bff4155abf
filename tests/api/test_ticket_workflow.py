"""What an agent does through the API, end to end against the running tickets service."""
from sqlalchemy import func, select

from services.tickets.models import AuditEntry, Message, Ticket


def post(client, path, token, json):
    return client.post(f"/api/v1{path}", json=json, headers={"Authorization": f"Bearer {token}"})


def get(client, path, token):
    return client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {token}"})


def patch(client, path, token, json):
    return client.patch(f"/api/v1{path}", json=json,
                        headers={"Authorization": f"Bearer {token}"})


def make_agent(client, admin, name, email, department_ids):
    response = post(client, "/agents", admin["token"],
                    {"name": name, "email": email, "password": "password-123",
                     "department_ids": department_ids})
    assert response.status_code == 201, response.json
    token = client.post("/api/v1/auth/token",
                        json={"email": email, "password": "password-123"}).json["token"]
    return response.json, token


def test_full_history_shows_which_agent_wrote_what(client, admin):
    first = post(client, "/departments", admin["token"],
                 {"name": "First line", "addresses": ["support@isp.example"]}).json
    billing = post(client, "/departments", admin["token"],
                   {"name": "Billing", "addresses": ["billing@isp.example"]}).json
    ivan, ivan_token = make_agent(client, admin, "Иван Петров", "ivan@isp.example",
                                  [first["id"]])
    olga, olga_token = make_agent(client, admin, "Olga Smirnova", "olga@isp.example",
                                  [first["id"], billing["id"]])

    created = post(client, "/tickets", ivan_token, {
        "subject": "Нет интернета", "body": "Звонок: с утра нет подключения", "channel": "phone",
        "department_id": first["id"],
        "customer": {"email": "Client@Mail.example", "name": "Анна", "contract_number": "A-1"}})
    assert created.status_code == 201, created.json
    ticket_id = created.json["id"]

    assert post(client, f"/tickets/{ticket_id}/replies", ivan_token,
                {"body": "Проверяем линию"}).status_code == 201
    assert post(client, f"/tickets/{ticket_id}/notes", olga_token,
                {"body": "Похоже на долг по оплате"}).status_code == 201
    moved = patch(client, f"/tickets/{ticket_id}", olga_token, {"department_id": billing["id"]})
    assert moved.status_code == 200 and moved.json["department_id"] == billing["id"]

    ticket = get(client, f"/tickets/{ticket_id}", olga_token).json
    authors = [(m["direction"], m["author"]["name"]) for m in ticket["messages"]]
    assert authors == [("inbound", "Анна"), ("outbound", "Иван Петров"),
                       ("internal", "Olga Smirnova")]
    assert ticket["first_response_at"] is not None
    moves = [h for h in ticket["history"] if h["field"] == "department_id"]
    assert moves == [{**moves[0], "actor": "Olga Smirnova", "old": str(first["id"]),
                      "new": str(billing["id"])}]
    reply = ticket["messages"][1]
    assert reply["from"] == "support@isp.example"
    assert reply["to"] == ["Client@Mail.example"]
    assert f"[#{ticket_id}]" in reply["subject"]


def test_agent_never_sees_another_departments_ticket(client, admin, db):
    network = post(client, "/departments", admin["token"], {"name": "Network"}).json
    tv = post(client, "/departments", admin["token"], {"name": "TV"}).json
    _, net_token = make_agent(client, admin, "Net Agent", "net@isp.example", [network["id"]])
    _, tv_token = make_agent(client, admin, "TV Agent", "tv@isp.example", [tv["id"]])
    tv_ticket = post(client, "/tickets", tv_token, {
        "subject": "No picture", "body": "Channel 5 is black", "department_id": tv["id"],
        "customer": {"email": "viewer@mail.example"}}).json

    for path in (f"/tickets/{tv_ticket['id']}",):
        response = get(client, path, net_token)
        assert response.status_code == 404
        assert response.json["error"] == "TICKET_NOT_FOUND"
    assert post(client, f"/tickets/{tv_ticket['id']}/replies", net_token,
                {"body": "hi"}).status_code == 404
    assert get(client, "/tickets", net_token).json["total"] == 0
    assert get(client, "/tickets/counts", net_token).json == {}
    assert get(client, "/tickets", tv_token).json["total"] == 1
    assert get(client, "/tickets/counts", tv_token).json == {str(tv["id"]): {"new": 1}}
    assert db.scalar(select(func.count()).select_from(Message)
                     .where(Message.ticket_id == tv_ticket["id"])) == 1


def test_disabled_agent_is_locked_out_but_keeps_their_name(client, admin):
    dept = post(client, "/departments", admin["token"], {"name": "Support"}).json
    agent, token = make_agent(client, admin, "Leaving Agent", "leaving@isp.example",
                              [dept["id"]])
    ticket = post(client, "/tickets", token, {
        "subject": "Slow", "body": "Speed is low", "department_id": dept["id"],
        "customer": {"email": "c@mail.example"}}).json
    post(client, f"/tickets/{ticket['id']}/replies", token, {"body": "Reboot the router"})

    assert patch(client, f"/agents/{agent['id']}", admin["token"],
                 {"active": False}).status_code == 200

    refused = get(client, "/tickets", token)
    assert refused.status_code == 401 and refused.json["error"] == "AGENT_DISABLED"
    login = client.post("/api/v1/auth/login",
                        json={"email": "leaving@isp.example", "password": "password-123"})
    assert login.status_code == 401 and login.json["error"] == "AGENT_DISABLED"
    history = get(client, f"/tickets/{ticket['id']}", admin["token"]).json
    assert history["messages"][1]["author"] == {"kind": "agent", "id": agent["id"],
                                                "name": "Leaving Agent", "active": False}


def test_an_agent_asking_who_they_are_gets_their_own_record(client, admin):
    first = post(client, "/departments", admin["token"], {"name": "First line"}).json
    billing = post(client, "/departments", admin["token"], {"name": "Billing"}).json
    olga, token = make_agent(client, admin, "Ольга Смирнова", "olga@isp.example",
                             [billing["id"], first["id"]])
    me = get(client, "/me", token).json
    assert me == get(client, f"/agents/{olga['id']}", admin["token"]).json
    assert me["department_ids"] == sorted([first["id"], billing["id"]])
    assert (me["name"], me["email"], me["role"]) == ("Ольга Смирнова", "olga@isp.example",
                                                     "agent")
    assert patch(client, f"/agents/{olga['id']}", admin["token"],
                 {"active": False}).status_code == 200
    refused = get(client, "/me", token)
    assert refused.status_code == 401 and refused.json["error"] == "AGENT_DISABLED"


def test_session_login_needs_csrf_token_for_writes(client, admin):
    login = client.post("/api/v1/auth/login",
                        json={"email": "admin@isp.example", "password": "secret-pass-1"})
    assert login.status_code == 200
    assert client.get("/api/v1/me").json["email"] == "admin@isp.example"
    refused = client.post("/api/v1/departments", json={"name": "No CSRF"})
    assert refused.status_code == 403 and refused.json["error"] == "CSRF_TOKEN_MISSING"
    accepted = client.post("/api/v1/departments", json={"name": "With CSRF"},
                           headers={"X-CSRF-Token": login.json["csrf_token"]})
    assert accepted.status_code == 201


def test_split_and_merge_keep_links_and_history(client, admin, db):
    dept = post(client, "/departments", admin["token"], {"name": "Support"}).json
    ticket = post(client, "/tickets", admin["token"], {
        "subject": "Two problems", "body": "Internet and TV", "department_id": dept["id"],
        "customer": {"email": "c@mail.example"}}).json
    note = post(client, f"/tickets/{ticket['id']}/notes", admin["token"],
                {"body": "TV part is separate"}).json
    split = post(client, f"/tickets/{ticket['id']}/split", admin["token"],
                 {"message_id": note["id"]})
    assert split.status_code == 201 and split.json["parent_id"] == ticket["id"]
    original = get(client, f"/tickets/{ticket['id']}", admin["token"]).json
    assert original["children_ids"] == [split.json["id"]]
    assert [m["id"] for m in original["messages"]] != [note["id"]]

    merged = post(client, f"/tickets/{split.json['id']}/merge", admin["token"],
                  {"into_ticket_id": ticket["id"]})
    assert merged.status_code == 200
    closed = db.get(Ticket, split.json["id"])
    assert (closed.status, closed.merged_into_id) == ("closed", ticket["id"])
    assert db.scalar(select(func.count()).select_from(AuditEntry)
                     .where(AuditEntry.ticket_id == ticket["id"])) >= 3


def test_canned_reply_fills_placeholders(client, admin):
    dept = post(client, "/departments", admin["token"], {"name": "Support"}).json
    ticket = post(client, "/tickets", admin["token"], {
        "subject": "Router", "body": "help", "department_id": dept["id"],
        "customer": {"email": "c@mail.example", "name": "Пётр"}}).json
    template = post(client, "/templates", admin["token"], {
        "title": "Greeting", "department_id": dept["id"],
        "body": "Здравствуйте, {customer_name}! Заявка {ticket_number}. {agent_name}"}).json
    rendered = post(client, f"/templates/{template['id']}/render", admin["token"],
                    {"ticket_id": ticket["id"]})
    assert rendered.json == {"body": f"Здравствуйте, Пётр! Заявка {ticket['id']}. Ada Admin"}
    bad = post(client, "/templates", admin["token"], {"title": "Bad", "body": "{password}"})
    assert bad.status_code == 400 and bad.json["error"] == "UNKNOWN_PLACEHOLDER"


def test_rating_only_for_resolved_tickets(client, admin):
    dept = post(client, "/departments", admin["token"], {"name": "Support"}).json
    ticket = post(client, "/tickets", admin["token"], {
        "subject": "Router", "body": "help", "department_id": dept["id"],
        "customer": {"email": "c@mail.example"}}).json
    early = post(client, f"/tickets/{ticket['id']}/rating", admin["token"], {"score": 5})
    assert early.status_code == 409
    patch(client, f"/tickets/{ticket['id']}", admin["token"], {"status": "resolved"})
    rated = post(client, f"/tickets/{ticket['id']}/rating", admin["token"],
                 {"score": 4, "comment": "ok"})
    assert rated.status_code == 201
    assert get(client, f"/tickets/{ticket['id']}", admin["token"]).json["rating"]["score"] == 4


def test_a_reply_or_note_sent_again_with_its_idempotency_key_is_made_once(client, admin, db):
    """A client retrying after a timeout must not mail the customer twice."""
    dept = post(client, "/departments", admin["token"], {"name": "Support"}).json
    _, ivan = make_agent(client, admin, "Иван", "ivan@isp.example", [dept["id"]])
    _, olga = make_agent(client, admin, "Ольга", "olga@isp.example", [dept["id"]])
    ticket_id = post(client, "/tickets", ivan, {
        "subject": "Нет интернета", "body": "Звонок", "department_id": dept["id"],
        "customer": {"email": "c@mail.example"}}).json["id"]
    other_id = post(client, "/tickets", ivan, {
        "subject": "Медленно", "body": "Звонок", "department_id": dept["id"],
        "customer": {"email": "d@mail.example"}}).json["id"]

    def send(kind, token, key, ticket=ticket_id, text="Проверяем линию"):
        return client.post(f"/api/v1/tickets/{ticket}/{kind}", json={"body": text},
                           headers={"Authorization": f"Bearer {token}",
                                    "Idempotency-Key": key})

    first = send("replies", ivan, "k-1")
    again = send("replies", ivan, "k-1", text="the retry's text does not matter")
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert send("replies", olga, "k-1").json["id"] != first.json["id"]  # her keys are hers
    assert send("notes", ivan, "k-2").json == send("notes", ivan, "k-2").json
    assert send("replies", ivan, "no-key-twice").status_code == 201
    reused = send("replies", ivan, "k-1", ticket=other_id)
    assert reused.status_code == 409 and reused.json["field"] == "request_key"
    assert send("replies", ivan, "x" * 201).json["field"] == "request_key"
    directions = db.scalars(select(Message.direction).where(Message.ticket_id == ticket_id)
                            .order_by(Message.id)).all()
    assert directions == ["inbound", "outbound", "outbound", "internal", "outbound"]
    plain = [client.post(f"/api/v1/tickets/{ticket_id}/replies", json={"body": "Без ключа"},
                         headers={"Authorization": f"Bearer {ivan}"}) for _ in range(2)]
    assert plain[0].json["id"] != plain[1].json["id"]  # no key: two requests, two replies
