"""The search test-suite, run against every backend: PostgreSQL full text always, and
Elasticsearch when ELASTICSEARCH_URL names one (otherwise those tests are reported skipped,
never passed). Documents are stored as the search service stores them, from what the
tickets service hands over."""
import copy
import os
import uuid
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from helpdesk import config as settings
from services.search import rebuilds
from services.search.backends import backend_from_config
from services.search.documents import ticket_document
from services.search.query import search_in, words
from tests.integration.search import corpus
from tests.integration.search.corpus import BILLING, IVANOV, NETWORK, PETROVA, SECRET, T0

ELASTICSEARCH = pytest.param("elasticsearch", marks=pytest.mark.skipif(
    not os.environ.get(settings.ELASTICSEARCH_URL),
    reason="ELASTICSEARCH_URL is not set: the Elasticsearch backend was not tested"))
EVERYONE = None  # an admin: every department


@pytest.fixture(params=["postgresql", ELASTICSEARCH])
def backend(request, engine, database_url, db):
    config = {**settings.load(), settings.DATABASE_URL: database_url,
              settings.SEARCH_BACKEND: request.param,
              settings.ELASTICSEARCH_INDEX: f"helpdesk-test-{uuid.uuid4().hex[:8]}"}
    backend = backend_from_config(config, engine)
    backend.clear()
    yield backend
    backend.clear()
    backend.close()


@pytest.fixture
def seeded(backend):
    backend.store([ticket_document(item) for item in corpus.seed()])
    return backend


def find(backend, visible=EVERYONE, **query):
    return [hit["ticket"]["id"] for hit in search(backend, visible, **query)["hits"]]


def search(backend, visible=EVERYONE, **query):
    request = search_in({"per_page": 100, **query})
    return backend.search(request, words(request.text), visible)


# --- words ---------------------------------------------------------------------------------
def test_a_russian_word_finds_its_other_forms(seeded):
    # ticket 1 says "подключения" and "подключение"; 2 "подключению"; 5 all of them
    assert sorted(find(seeded, text="подключение")) == [1, 2, 5]
    assert sorted(find(seeded, text="подключению")) == [1, 2, 5]


def test_an_english_word_finds_its_other_forms(seeded):
    assert sorted(find(seeded, text="connect")) == [3, 6]
    assert find(seeded, text="drops evening") == [3]


def test_yo_and_ye_are_one_letter(seeded):
    assert find(seeded, text="еще тариф") == [4]
    assert find(seeded, text="счёт") == find(seeded, text="счет") == [2]


def test_phrases_and_exclusions(seeded):
    assert find(seeded, text='"роутер мигает"') == [1]
    assert find(seeded, text='"мигает роутер"') == []
    assert find(seeded, text='"red light"') == [3]
    assert sorted(find(seeded, text="подключение -роутер")) == [2, 5]
    assert sorted(find(seeded, text='подключение -"серверной нет"')) == [1, 2]


def test_stop_words_alone_find_nothing(seeded):
    assert find(seeded, text="и the") == []


def test_attachment_names_are_searched(seeded):
    assert find(seeded, text="счёт-март.pdf") == [2]


def test_internal_notes_are_found_by_agents(seeded):
    assert find(seeded, text="перезвонить") == [4]


# --- where the words are looked for ----------------------------------------------------
def test_a_subject_only_search_does_not_match_bodies(seeded):
    # "роутер" is only in ticket 1's first message; "интернету" only in its subject
    assert find(seeded, text="роутер", within="subject") == []
    assert find(seeded, text="роутер") == [1]
    assert find(seeded, text="интернет", within="subject") == [1]
    assert sorted(find(seeded, text="подключение", within="subject")) == [1, 5]


def test_a_content_search_does_not_match_subjects(seeded):
    assert find(seeded, text="интернет", within="body") == []
    assert find(seeded, text="роутер", within="body") == [1]


# --- filters -------------------------------------------------------------------------------
def test_every_filter_narrows(seeded):
    assert sorted(find(seeded, text="подключение")) == [1, 2, 5]
    # agent: assigned to, or wrote on the ticket
    assert find(seeded, text="подключение", agent_id=IVANOV) == [1]
    assert sorted(find(seeded, agent_id=IVANOV)) == [1, 4]   # 4: his internal note
    assert find(seeded, agent_id=PETROVA) == [4]
    # recipient: To or Cc of any message
    assert find(seeded, recipient="billing@isp.example", text="подключение") == [2]
    assert find(seeded, recipient="accounting@corp.example") == [2]
    assert sorted(find(seeded, recipient="anna@mail.example")) == [1, 4]
    # sender, customer
    assert find(seeded, sender="john@mail.example") == [3]
    assert sorted(find(seeded, customer="anna@mail.example")) == [1, 4, 5]
    # department, status, priority
    assert find(seeded, text="подключение", department_ids=[SECRET]) == [5]
    assert sorted(find(seeded, department_ids=[BILLING, NETWORK])) == [1, 2, 3, 4, 6]
    assert find(seeded, statuses=["resolved"]) == [4]
    assert find(seeded, priorities=["high"]) == [3]
    # dates: created, updated, resolved (from inclusive, to exclusive)
    day = timedelta(days=1)
    assert sorted(find(seeded, text="подключение", created_from=(T0 + day).isoformat())) \
        == [2, 5]
    assert find(seeded, created_from=(T0 + 2 * day).isoformat(),
                created_to=(T0 + 3 * day).isoformat()) == [2]
    assert find(seeded, updated_from=(T0 + 6 * day).isoformat(),
                updated_to=(T0 + 7 * day).isoformat()) == [4]
    assert find(seeded, resolved_from=T0.isoformat()) == [4]


def test_filters_combine(seeded):
    assert find(seeded, text="тариф", agent_id=PETROVA, statuses=["resolved"],
                recipient="anna@mail.example", department_ids=[BILLING]) == [4]
    assert find(seeded, text="тариф", agent_id=PETROVA, statuses=["open"]) == []


# --- who sees what -----------------------------------------------------------------------
def test_an_agent_never_sees_another_departments_tickets_snippets_or_counts(seeded):
    everyone = search(seeded, text="подключение")
    assert everyone["facets"]["department"] == {str(BILLING): 2, str(SECRET): 1}
    billing = search(seeded, frozenset({BILLING}), text="подключение")
    assert [hit["ticket"]["id"] for hit in billing["hits"]] != []
    assert {hit["ticket"]["department_id"] for hit in billing["hits"]} == {BILLING}
    assert billing["total"] == 2
    assert billing["facets"]["department"] == {str(BILLING): 2}
    assert sum(billing["facets"]["status"].values()) == 2
    assert "серверной" not in repr(billing)
    # asking for the other department by filter does not open it
    assert search(seeded, frozenset({BILLING}), department_ids=[SECRET])["total"] == 0
    assert search(seeded, frozenset(), text="подключение")["total"] == 0


# --- results -------------------------------------------------------------------------------
def test_hits_carry_marked_snippets_and_escaped_html(seeded):
    result = search(seeded, text="invoice")
    hit = result["hits"][0]
    assert hit["ticket"]["id"] == 6
    assert "<mark>" in hit["subject"] and "<script>" not in hit["subject"]
    assert "&lt;script&gt;" in hit["subject"]
    assert "<mark>invoice</mark>" in hit["message"]["snippet"].lower()
    assert "<b>" not in hit["message"]["snippet"] and "&amp;" in hit["message"]["snippet"]
    snippet = search(seeded, text="подключение", department_ids=[SECRET])["hits"][0]["message"]
    assert snippet["message_id"] == 51 and snippet["snippet"].count("<mark>") >= 2


def test_the_best_matching_message_gives_the_snippet(seeded):
    hit = search(seeded, text="восстановлено")["hits"][0]
    assert hit["message"]["message_id"] == 12
    assert hit["message"]["author_name"] == "Иван Иванов"
    assert hit["message"]["direction"] == "outbound"


def test_sorting_and_paging(seeded):
    newest = find(seeded, sort="newest")
    assert newest == [6, 5, 4, 3, 2, 1]
    assert find(seeded, sort="oldest") == newest[::-1]
    first = search(seeded, sort="newest", per_page=4, page=1)
    second = search(seeded, sort="newest", per_page=4, page=2)
    assert first["total"] == second["total"] == 6
    assert [h["ticket"]["id"] for h in first["hits"] + second["hits"]] == newest
    ranked = search(seeded, text="подключение")["hits"]
    assert ranked[0]["ticket"]["id"] in (1, 5)  # in the subject and the messages
    assert all(a["score"] >= b["score"] for a, b in zip(ranked, ranked[1:]))


# --- versions ------------------------------------------------------------------------------
def test_an_older_version_never_overwrites_a_newer_one(backend):
    first = corpus.seed()[0]
    newer = copy.deepcopy(first)
    newer["ticket"].update(version=5, status="resolved", subject="Подключение восстановлено")
    assert backend.store([ticket_document(newer)]) == [1]
    assert backend.store([ticket_document(first)]) == []          # version 1 arrives late
    hit = search(backend, text="восстановлено", within="subject")["hits"]
    assert [h["ticket"]["status"] for h in hit] == ["resolved"]
    assert find(backend, text="интернету", within="subject") == []


def test_a_split_message_moves_to_its_new_ticket_whatever_the_order(backend):
    before = corpus.seed()[0]                      # version 1: messages 11 and 12
    after = copy.deepcopy(before)                  # version 3: message 12 split out
    after["ticket"]["version"] = 3
    after["messages"] = after["messages"][:1]
    split = corpus.ticket(7, "Линия восстановлена", [dict(before["messages"][1], ticket_id=7)],
                          version=4)
    backend.store([ticket_document(split)])
    backend.store([ticket_document(before)])       # late: must not take message 12 back
    backend.store([ticket_document(after)])
    assert find(backend, text="восстановлено") == [7]
    assert search(backend, text="восстановлено")["hits"][0]["message"]["message_id"] == 12
    assert find(backend, text="роутер") == [1]


# --- rebuilding ----------------------------------------------------------------------------
QUERIES = [{"text": "подключение"}, {"text": "connect"}, {"agent_id": IVANOV},
           {"recipient": "billing@isp.example"}, {"text": "тариф", "within": "subject"},
           {"sort": "newest"}]


def test_rebuilding_after_losing_the_index_restores_the_same_results(seeded, engine):
    before = [search(seeded, **query) for query in QUERIES]
    seeded.clear()
    assert search(seeded, sort="newest")["total"] == 0
    documents = corpus.seed()

    def fetch_after(after_id, limit):
        return [item for item in documents if item["ticket"]["id"] > after_id][:limit]

    with Session(engine) as session:
        row = rebuilds.run(session, seeded, fetch_after, total=len(documents), batch=4)
        assert rebuilds.running(session, seeded.name) is None  # finished
    assert row["done"] == len(documents)
    assert [search(seeded, **query) for query in QUERIES] == before


def test_a_stopped_rebuild_resumes_where_it_was(seeded, engine):
    documents = corpus.seed()
    pages = []

    def failing_after_one_page(after_id, limit):
        if pages:
            raise ConnectionError("tickets went away")
        pages.append(after_id)
        return [item for item in documents if item["ticket"]["id"] > after_id][:limit]

    with Session(engine) as session:
        with pytest.raises(ConnectionError):
            rebuilds.run(session, seeded, failing_after_one_page, total=6, batch=4)
        asked = []

        def fetch_after(after_id, limit):
            asked.append(after_id)
            return [item for item in documents if item["ticket"]["id"] > after_id][:limit]

        row = rebuilds.run(session, seeded, fetch_after, total=6, batch=4)
    assert asked[0] == 4 and row["done"] == 6
    assert sorted(find(seeded, text="подключение")) == [1, 2, 5]
