"""The search service in a real nameko container beside tickets, on RabbitMQ and PostgreSQL:
documents follow ticket events, agents search only their departments, saved searches."""
import time

import eventlet
import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from prometheus_client import REGISTRY

from helpdesk import contract
from helpdesk.errors import Conflict, InvalidInput, NotFound, Unauthorized
from services.search.service import SearchService
from services.tickets.service import TicketsService
from tests import fixtures

INGEST = contract.system("ingest")


@pytest.fixture
def desk(container_factory, config, db):
    billing = fixtures.department(db, "Биллинг", ["billing@isp.example"])
    network = fixtures.department(db, "Сеть", ["noc@isp.example"])
    olga, olga_token = fixtures.agent_with_token(db, "Ольга Смирнова", "olga@isp.example",
                                                 department_ids=[billing["id"]])
    _, ivan_token = fixtures.agent_with_token(db, "Иван Петров", "ivan@isp.example",
                                              department_ids=[network["id"]])
    _, admin_token = fixtures.agent_with_token(db, "Ada", "ada@isp.example", role="admin")
    for service in (TicketsService, SearchService):
        container_factory(service, config).start()
    with ClusterRpcProxy(config) as rpc:
        yield {"rpc": rpc, "billing": billing, "network": network, "olga": olga,
               "as_olga": contract.agent_by_token(olga_token),
               "as_ivan": contract.agent_by_token(ivan_token),
               "as_admin": contract.agent_by_token(admin_token)}


def mail(desk, number, to, subject, body):
    return desk["rpc"].tickets.ingest_message(INGEST, {
        "message_id": f"<search-{number}@mail.example>", "from_address": "anna@mail.example",
        "to": [to], "subject": subject, "body_text": body})["ticket_id"]


def found(desk, actor, **query):
    return [hit["ticket"]["id"] for hit in desk["rpc"].search.search(actor, query)["hits"]]


def wait_until_found(desk, actor, ticket_id, seconds=10, **query):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ticket_id in found(desk, actor, **query):
            return True
        eventlet.sleep(0.02)
    return False


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_ticket_is_findable_within_a_second_of_its_mail(desk):
    indexed = sample("helpdesk_search_documents_indexed_total", kind="ticket")
    lags = sample("helpdesk_search_indexing_lag_seconds_count")
    queries = sample("helpdesk_search_query_duration_seconds_count", backend="postgresql")
    started = time.monotonic()
    ticket = mail(desk, 1, "billing@isp.example", "Двойное списание",
                  "С карты списали дважды за подключение.")
    assert wait_until_found(desk, desk["as_olga"], ticket, text="подключения")
    assert time.monotonic() - started < 1.0
    assert sample("helpdesk_search_documents_indexed_total", kind="ticket") == indexed + 1
    assert sample("helpdesk_search_indexing_lag_seconds_count") == lags + 1
    assert sample("helpdesk_search_query_duration_seconds_count",
                  backend="postgresql") > queries


def test_replies_notes_and_changes_are_searchable(desk):
    ticket = mail(desk, 2, "billing@isp.example", "Вопрос по счёту", "Пришёл странный счёт.")
    assert wait_until_found(desk, desk["as_olga"], ticket, text="счет")
    desk["rpc"].tickets.reply(desk["as_olga"], ticket, {"body": "Перерасчёт выполнен."})
    desk["rpc"].tickets.add_note(desk["as_olga"], ticket, {"body": "Клиент ВИП, звонить"})
    assert wait_until_found(desk, desk["as_olga"], ticket, text="перерасчет вип",
                            agent_id=desk["olga"]["id"])
    desk["rpc"].tickets.update_ticket(desk["as_olga"], ticket, {"status": "resolved"})
    assert wait_until_found(desk, desk["as_olga"], ticket, statuses=["resolved"])


def test_an_agent_never_finds_another_departments_tickets(desk):
    billing = mail(desk, 3, "billing@isp.example", "Подключение ТВ", "Хочу подключить ТВ.")
    network = mail(desk, 4, "noc@isp.example", "Авария", "Нет подключения в доме 5.")
    assert wait_until_found(desk, desk["as_admin"], network, text="подключение")
    assert wait_until_found(desk, desk["as_admin"], billing, text="подключение")
    olga = desk["rpc"].search.search(desk["as_olga"], {"text": "подключение"})
    assert [hit["ticket"]["id"] for hit in olga["hits"]] == [billing]
    assert olga["facets"]["department"] == {str(desk["billing"]["id"]): 1}
    assert found(desk, desk["as_ivan"], text="подключение") == [network]
    assert found(desk, desk["as_olga"], department_ids=[desk["network"]["id"]]) == []


def test_a_moved_ticket_follows_its_department(desk):
    ticket = mail(desk, 5, "billing@isp.example", "Не тот отдел", "Роутер не работает.")
    assert wait_until_found(desk, desk["as_olga"], ticket, text="роутер")
    desk["rpc"].tickets.update_ticket(desk["as_olga"], ticket,
                                      {"department_id": desk["network"]["id"]})
    assert wait_until_found(desk, desk["as_ivan"], ticket, text="роутер")
    assert found(desk, desk["as_olga"], text="роутер") == []


def test_a_split_message_is_found_on_its_new_ticket(desk):
    ticket = mail(desk, 6, "billing@isp.example", "Два вопроса", "Первый вопрос про тариф.")
    answer = desk["rpc"].tickets.ingest_message(INGEST, {
        "message_id": "<search-6b@mail.example>", "from_address": "anna@mail.example",
        "to": ["billing@isp.example"], "subject": f"Re: Два вопроса [#{ticket}]",
        "ticket_id": ticket,  # as ingest threads it by the subject tag
        "body_text": "И ещё: пропал телевизор."})
    assert answer["ticket_id"] == ticket
    assert wait_until_found(desk, desk["as_olga"], ticket, text="телевизор")
    new = desk["rpc"].tickets.split_ticket(desk["as_olga"], ticket,
                                           {"message_id": answer["message_id"]})
    assert wait_until_found(desk, desk["as_olga"], new["id"], text="телевизор")
    assert found(desk, desk["as_olga"], text="телевизор") == [new["id"]]


def test_bad_searches_are_refused_with_the_field_named(desk):
    with pytest.raises(InvalidInput) as error:
        desk["rpc"].search.search(desk["as_olga"], {"sort": "random"})
    assert error.value.field == "sort"
    with pytest.raises(Unauthorized):
        desk["rpc"].search.search(contract.agent_by_token("nonsense"), {"text": "x"})


def test_saved_searches_are_kept_per_agent_and_shared_with_a_department(desk, db):
    rpc = desk["rpc"]
    mine = rpc.search.save_search(desk["as_olga"], {
        "name": "Подключения", "query": {"text": "подключение", "statuses": ["open"]}})
    assert mine["query"] == {"text": "подключение", "statuses": ["open"]}
    with pytest.raises(Conflict):
        rpc.search.save_search(desk["as_olga"], {"name": "Подключения", "query": {}})
    with pytest.raises(InvalidInput) as error:
        rpc.search.save_search(desk["as_olga"], {"name": "x", "query": {"page": 0}})
    assert error.value.field == "query.page"
    shared = rpc.search.save_search(desk["as_olga"], {
        "name": "Биллинг: новые", "query": {"statuses": ["new"]},
        "department_id": desk["billing"]["id"]})
    with pytest.raises(NotFound):  # not her department
        rpc.search.save_search(desk["as_olga"], {"name": "Сеть", "query": {},
                                                 "department_id": desk["network"]["id"]})
    _, colleague = fixtures.agent_with_token(db, "Коллега", "colleague@isp.example",
                                             department_ids=[desk["billing"]["id"]])
    colleague = contract.agent_by_token(colleague)
    assert [s["name"] for s in rpc.search.list_saved(colleague)] == ["Биллинг: новые"]
    assert [s["name"] for s in rpc.search.list_saved(desk["as_ivan"])] == []
    with pytest.raises(NotFound):  # a colleague may use it, not change it
        rpc.search.delete_saved(colleague, shared["id"])
    with pytest.raises(NotFound):
        rpc.search.get_saved(desk["as_ivan"], mine["id"])
    rpc.search.delete_saved(desk["as_olga"], mine["id"])
    assert [s["name"] for s in rpc.search.list_saved(desk["as_olga"])] == ["Биллинг: новые"]
