"""Search over the REST API: the query string becomes a search in the agent's departments,
bad parameters get a 400 naming them, saved searches are kept and run."""
import time

import pytest

pytestmark = pytest.mark.usefixtures("search_service")


def searched(client, headers, query, expect=1, seconds=10):
    deadline = time.monotonic() + seconds
    while True:
        response = client.get("/api/v1/search", headers=headers, query_string=query)
        assert response.status_code == 200, response.json
        if response.json["total"] >= expect or time.monotonic() > deadline:
            return response.json
        time.sleep(0.05)


def test_an_agent_searches_the_mail_of_their_departments(client, support, customer_writes):
    ours = customer_writes("support@isp.example", subject="Нет подключения",
                           body="Роутер мигает красным, подключения нет.")
    theirs = customer_writes("billing@isp.example", subject="Подключение услуги",
                             body="Прошу подключить услугу.")
    result = searched(client, support["agent"], {"q": "подключение"})
    assert [hit["ticket"]["id"] for hit in result["hits"]] == [ours]
    assert theirs != ours and result["total"] == 1
    assert result["facets"]["department"] == {str(support["department"]["id"]): 1}
    hit = result["hits"][0]
    assert "<mark>" in hit["message"]["snippet"] and hit["message"]["direction"] == "inbound"
    narrowed = searched(client, support["agent"], {
        "q": "роутер", "in": "subject", "department_id": support["department"]["id"]},
        expect=0, seconds=0)
    assert narrowed["total"] == 0
    by_address = searched(client, support["agent"], {
        "recipient": "support@isp.example", "status": ["new", "open"], "sort": "newest"})
    assert [hit["ticket"]["id"] for hit in by_address["hits"]] == [ours]


@pytest.mark.parametrize("query, field", [
    ({"page": "0"}, "page"), ({"per_page": "x"}, "per_page"), ({"sort": "random"}, "sort"),
    ({"status": "lost"}, "statuses.0"), ({"created_from": "last march"}, "created_from"),
    ({"department_id": "-1"}, "department_id"), ({"colour": "red"}, "colour")])
def test_bad_parameters_get_a_400_naming_them(client, support, query, field):
    response = client.get("/api/v1/search", headers=support["agent"], query_string=query)
    assert response.status_code == 400
    assert response.json["field"] == field and response.json["message"]


def test_searching_needs_an_agent(client, search_service):
    assert client.get("/api/v1/search?q=x").status_code == 401


def test_saved_searches_over_the_api(client, support, customer_writes):
    ticket = customer_writes("support@isp.example", subject="Медленный интернет",
                             body="Скорость упала вдвое.")
    created = client.post("/api/v1/search/saved", headers=support["agent"], json={
        "name": "Скорость", "query": {"text": "скорости"}})
    assert created.status_code == 201, created.json
    listed = client.get("/api/v1/search/saved", headers=support["agent"]).json
    assert [saved["name"] for saved in listed] == ["Скорость"]
    searched(client, support["agent"], {"q": "скорость"})
    results = client.get(f"/api/v1/search/saved/{created.json['id']}/results?per_page=5",
                         headers=support["agent"])
    assert results.status_code == 200, results.json
    assert [hit["ticket"]["id"] for hit in results.json["hits"]] == [ticket]
    assert results.json["per_page"] == 5
    renamed = client.put(f"/api/v1/search/saved/{created.json['id']}", headers=support["agent"],
                         json={"name": "Скорость упала", "query": {"text": "скорость"}})
    assert renamed.status_code == 200 and renamed.json["name"] == "Скорость упала"
    bad = client.post("/api/v1/search/saved", headers=support["agent"],
                      json={"name": "", "query": {}})
    assert bad.status_code == 400 and bad.json["field"] == "name"
    gone = client.delete(f"/api/v1/search/saved/{created.json['id']}", headers=support["agent"])
    assert gone.status_code == 200
    missing = client.get(f"/api/v1/search/saved/{created.json['id']}", headers=support["agent"])
    assert missing.status_code == 404 and missing.json["error"] == "SAVED_SEARCH_NOT_FOUND"
