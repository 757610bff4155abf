"""The customer portal's rules through the gateway and a real tickets service: only portal
departments are offered, a request becomes a ticket with its attachment, the rate limit holds
across addresses, and the signed link shows the customer their own tickets — never another
customer's, never an internal note — and takes their answers."""
import io
import re

import pytest

from helpdesk import signed_links
from tests import fixtures

RUSSIAN = {"Accept-Language": "ru-RU,ru;q=0.9"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


@pytest.fixture
def portal(db):
    support = fixtures.department(db, "Техподдержка", ["support@isp.example"], on_portal=True)
    inside = fixtures.department(db, "Вторая линия", ["l2@isp.example"])
    _, token = fixtures.agent_with_token(db, "Ольга", "olga@isp.example",
                                         department_ids=[support["id"], inside["id"]])
    return {"support": support, "inside": inside,
            "agent": {"Authorization": f"Bearer {token}"}}


def csrf_of(client, path="/portal/", headers=ENGLISH):
    page = client.get(path, headers=headers).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def submit(client, department_id, email="maria@mail.example", subject="Не работает IPTV",
           files=(), headers=ENGLISH, client_address="192.0.2.10", **fields):
    data = {"csrf_token": csrf_of(client, headers=headers), "name": "Мария Кузнецова",
            "email": email, "department_id": str(department_id), "subject": subject,
            "body": "Каналы не показывают со вчерашнего вечера.",
            "attachments": [(io.BytesIO(content), name) for name, content in files], **fields}
    return client.post("/portal/", data=data, headers=headers, content_type="multipart/form-data",
                       environ_base={"REMOTE_ADDR": client_address})


def number_in(page):
    return int(re.search(r"number (\d+)", page.get_data(as_text=True)).group(1))


def enter(client, app, customer_id):
    token = signed_links.PORTAL.token_for(app.config["SECRET_KEY"], customer_id)
    return client.get(f"/portal/enter/{token}", headers=ENGLISH)


def test_a_request_from_the_form_becomes_a_portal_ticket_with_its_attachment(client, portal):
    form = client.get("/portal/", headers=RUSSIAN)
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and "Напишите в нашу поддержку" in html
    assert "Техподдержка" in html and "Вторая линия" not in html  # not offered on the portal
    assert "script-src" not in form.headers["Content-Security-Policy"]  # no script at all

    sent = submit(client, portal["support"]["id"], files=[("экран.png", b"\x89PNG picture")])
    assert sent.status_code == 201, sent.get_data(as_text=True)
    ticket = client.get(f"/api/v1/tickets/{number_in(sent)}", headers=portal["agent"]).json
    assert ticket["channel"] == "portal" and ticket["status"] == "new"
    assert ticket["department_id"] == portal["support"]["id"]
    [message] = ticket["messages"]
    assert message["author"]["name"] == "Мария Кузнецова"
    assert message["body_text"] == "Каналы не показывают со вчерашнего вечера."
    assert [a["filename"] for a in message["attachments"]] == ["экран.png"]


@pytest.mark.parametrize("change, field_problem", [
    ({"email": "not an address"}, "Please give an e-mail address we can answer to."),
    ({"subject": "   "}, "Please say in a few words what the request is about."),
    ({"body": ""}, "Please describe your request."),
    ({"department_id": "x"}, "Choose a department."),
])
def test_a_wrong_field_sends_the_form_back_filled_in_saying_what_is_wrong(
        client, portal, change, field_problem):
    fields = {"department_id": portal["support"]["id"], **change}
    sent = submit(client, **fields)
    html = sent.get_data(as_text=True)
    assert sent.status_code == 400 and field_problem in html
    assert "Мария Кузнецова" in html  # nothing typed is lost


def test_departments_not_on_the_portal_and_forms_without_their_token_are_refused(client,
                                                                                portal):
    inside = submit(client, portal["inside"]["id"])
    assert inside.status_code == 400 and "Choose a department." in inside.get_data(as_text=True)
    forged = client.post("/portal/", headers=ENGLISH, data={
        "email": "maria@mail.example", "department_id": portal["support"]["id"],
        "subject": "x", "body": "y"})
    assert forged.status_code == 403 and "form has expired" in forged.get_data(as_text=True)


def test_the_rate_limit_counts_by_client_address_and_by_mailbox(client, portal):
    for index in range(5):  # PORTAL_REQUESTS_PER_HOUR
        assert submit(client, portal["support"]["id"], email=f"user{index}@mail.example",
                      subject=f"Request {index}").status_code == 201
    flooded = submit(client, portal["support"]["id"], email="another@mail.example")
    assert flooded.status_code == 429
    assert "several requests within the hour" in flooded.get_data(as_text=True)
    # the same mailbox from elsewhere is limited too; someone else elsewhere is not
    assert submit(client, portal["support"]["id"], email="user0@mail.example",
                  client_address="198.51.100.7").status_code == 201  # user0's second
    for _ in range(3):
        submit(client, portal["support"]["id"], email="user0@mail.example",
               client_address="198.51.100.8")
    assert submit(client, portal["support"]["id"], email="user0@mail.example",
                  client_address="198.51.100.9").status_code == 429
    assert submit(client, portal["support"]["id"], email="fresh@mail.example",
                  client_address="198.51.100.10").status_code == 201


def test_the_link_shows_only_the_customers_own_tickets_and_no_internal_notes(client, app,
                                                                            portal):
    mine = number_in(submit(client, portal["support"]["id"], files=[("a.txt", b"mine")]))
    theirs = number_in(submit(client, portal["support"]["id"], email="petr@mail.example",
                              subject="Чужая заявка", files=[("b.txt", b"theirs")]))
    agent = portal["agent"]
    client.post(f"/api/v1/tickets/{mine}/notes", headers=agent, json={
        "body": "Клиент должник, не говорить ему.",
        "attachments": [{"filename": "secret.txt", "content_base64": "c2VjcmV0"}]})
    client.post(f"/api/v1/tickets/{mine}/replies", headers=agent,
                json={"body": "Перезагрузите приставку.", "status": "pending"})
    ticket = client.get(f"/api/v1/tickets/{mine}", headers=agent).json
    maria = ticket["customer_id"]
    attachments = {a["filename"]: a["id"] for m in ticket["messages"] for a in m["attachments"]}
    their_attachment = client.get(f"/api/v1/tickets/{theirs}", headers=agent).json[
        "messages"][0]["attachments"][0]["id"]

    assert client.get("/portal/tickets", headers=ENGLISH).status_code == 401  # no link yet
    assert enter(client, app, maria).headers["Location"].endswith("/portal/tickets")
    listing = client.get("/portal/tickets", headers=ENGLISH).get_data(as_text=True)
    assert "Не работает IPTV" in listing and "Чужая заявка" not in listing
    assert "Waiting for your answer" in listing

    page = client.get(f"/portal/tickets/{mine}", headers=ENGLISH).get_data(as_text=True)
    assert "Перезагрузите приставку." in page and "Ольга" in page
    assert "должник" not in page and "secret.txt" not in page
    assert client.get(f"/portal/tickets/{theirs}", headers=ENGLISH).status_code == 404
    assert client.get(f"/portal/attachments/{attachments['a.txt']}").data == b"mine"
    for hidden in (attachments["secret.txt"], their_attachment):
        assert client.get(f"/portal/attachments/{hidden}").status_code == 404


def test_an_answer_from_the_portal_lands_on_the_ticket_and_reopens_it(client, app, portal):
    number = number_in(submit(client, portal["support"]["id"]))
    agent = portal["agent"]
    client.post(f"/api/v1/tickets/{number}/replies", headers=agent,
                json={"body": "Какая модель приставки?", "status": "pending"})
    enter(client, app, client.get(f"/api/v1/tickets/{number}", headers=agent).json[
        "customer_id"])
    page = client.get(f"/portal/tickets/{number}", headers=ENGLISH).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answered = client.post(f"/portal/tickets/{number}/reply", headers=ENGLISH,
                           content_type="multipart/form-data", data={
                               "csrf_token": token, "body": "MAG-250",
                               "attachments": [(io.BytesIO(b"photo"), "приставка.jpg")]})
    assert answered.status_code == 302
    ticket = client.get(f"/api/v1/tickets/{number}", headers=agent).json
    assert ticket["status"] == "open"
    last = ticket["messages"][-1]
    assert last["direction"] == "inbound" and last["body_text"] == "MAG-250"
    assert last["author"]["kind"] == "customer"
    assert [a["filename"] for a in last["attachments"]] == ["приставка.jpg"]
    unsigned = client.post(f"/portal/tickets/{number}/reply", headers=ENGLISH,
                           data={"body": "no token"})
    assert unsigned.status_code == 403


def test_a_changed_or_foreign_link_opens_nothing(client, app, portal):
    for token in ("nonsense", signed_links.PORTAL.token_for("another desk's key", 1),
                  signed_links.RATING.token_for(app.config["SECRET_KEY"], 1)):
        page = client.get(f"/portal/enter/{token}", headers=ENGLISH)
        assert page.status_code == 400
        assert "not valid or has expired" in page.get_data(as_text=True)
    assert client.get("/portal/tickets", headers=ENGLISH).status_code == 401
