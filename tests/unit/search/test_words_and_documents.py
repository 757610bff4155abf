"""Free text as agents type it, and documents as search builds them: plain Python."""
import pytest

from helpdesk.errors import InvalidInput
from services.search.documents import ticket_document
from services.search.query import Words, search_in, words
from tests.integration.search import corpus


def test_words_phrases_and_exclusions_are_told_apart():
    assert words('подключение "нет связи" -спам -"реклама тут" connect') == Words(
        terms=("подключение", "connect"), phrases=("нет связи",),
        excluded=("спам", "реклама тут"))


def test_yo_is_folded_in_what_agents_type():
    assert words("ещё Счёт").terms == ("еще", "Счет")


def test_only_exclusions_or_nothing_asks_for_no_words():
    assert not words("-спам")
    assert not words("   ")
    assert not words('""')


def test_a_search_is_validated_where_it_runs():
    assert search_in({"text": "x", "statuses": ["open"]}).statuses == ["open"]
    for bad, field in [({"page": 0}, "page"), ({"per_page": 1000}, "per_page"),
                       ({"statuses": ["lost"]}, "statuses.0"), ({"within": "everywhere"}, "within"),
                       ({"created_from": "yesterday"}, "created_from"),
                       ({"created_from": "2026-03-01T00:00:00"}, "created_from"),  # no zone
                       ({"colour": "red"}, "colour")]:
        with pytest.raises(InvalidInput) as error:
            search_in(bad)
        assert error.value.field == field
    with pytest.raises(InvalidInput, match="created_from is after created_to"):
        search_in({"created_from": "2026-03-02T00:00:00Z", "created_to": "2026-03-01T00:00:00Z"})


def test_a_ticket_document_knows_its_agents_senders_and_recipients():
    document = ticket_document(corpus.seed()[3])
    assert document.agent_ids == [corpus.IVANOV, corpus.PETROVA]  # assignee, note author
    assert document.senders == ["anna@mail.example", "billing@isp.example"]
    assert document.recipients == ["anna@mail.example", "support@isp.example"]
    assert document.subject == "Еще один вопрос по тарифу"
    assert "перезвонить" in document.body
