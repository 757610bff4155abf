"""A queue page: the tickets an agent may see, newest first, filtered as asked, each with its
customer's name and address, and the number of all that match across pages."""
from services.tickets import access, lifecycle
from tests import fixtures


def new_ticket(db, department_id, subject, email, name=""):
    return lifecycle.create(db, fixtures.SYSTEM, {
        "subject": subject, "body": "Нет связи с утра.", "department_id": department_id,
        "customer": {"email": email, "name": name}})


def test_a_queue_page_shows_the_newest_visible_tickets_with_their_customers(db):
    support = fixtures.department(db, "Техподдержка", ["support@isp.example"])
    billing = fixtures.department(db, "Биллинг", ["billing@isp.example"])
    first = new_ticket(db, support["id"], "Нет интернета", "ivan@mail.example", "Иван Петров")
    second = new_ticket(db, support["id"], "Роутер мигает", "olga@mail.example")
    third = new_ticket(db, support["id"], "Снова нет интернета", "ivan@mail.example")
    new_ticket(db, billing["id"], "Счёт за ноябрь", "anna@mail.example", "Анна")
    lifecycle.update(db, fixtures.SYSTEM, second["id"], {"status": "pending"})
    agent = access.Actor(label="agent:test", agent_id=1,
                         department_ids=frozenset([support["id"]]))

    page = lifecycle.find(db, agent, {"per_page": 2})
    assert page["total"] == 3 and (page["page"], page["per_page"]) == (1, 2)
    assert [item["id"] for item in page["items"]] == [third["id"], second["id"]]
    assert page["items"][0]["customer"] == {"id": first["customer_id"],
                                            "name": "Иван Петров",
                                            "email": "ivan@mail.example"}
    assert page["items"][1]["customer"]["email"] == "olga@mail.example"
    assert {key: page["items"][0][key] for key in ("subject", "status", "department_id")} == {
        "subject": "Снова нет интернета", "status": "new", "department_id": support["id"]}
    assert "version" not in page["items"][0]

    last = lifecycle.find(db, agent, {"per_page": 2, "page": 2})
    assert [item["id"] for item in last["items"]] == [first["id"]] and last["total"] == 3
    beyond = lifecycle.find(db, agent, {"per_page": 2, "page": 5})
    assert beyond["items"] == [] and beyond["total"] == 3

    waiting = lifecycle.find(db, agent, {"status": ["new"], "department_id": support["id"]})
    assert [item["id"] for item in waiting["items"]] == [third["id"], first["id"]]
    assert lifecycle.find(db, agent, {"department_id": billing["id"]})["total"] == 0
    everyone = lifecycle.find(db, fixtures.SYSTEM, {"customer_id": first["customer_id"]})
    assert [item["id"] for item in everyone["items"]] == [third["id"], first["id"]]
