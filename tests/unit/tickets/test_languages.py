"""The language the help desk writes to a customer in, guessed from their first mail."""
from services.tickets.languages import SAMPLE_CHARS, detect


def test_a_russian_request_is_answered_in_russian():
    assert detect("Не работает интернет", "Здравствуйте! С утра нет связи, роутер мигает.") == "ru"
    assert detect("Рахунок", "Доброго дня, прошу перевірити рахунок") == "ru"  # Cyrillic


def test_an_english_one_in_english_and_so_is_one_without_letters():
    assert detect("No internet", "Hello, my router blinks since this morning.") == "en"
    assert detect("12345", "192.168.1.1 — 10:00") == "en"
    assert detect(None, "") == "en"


def test_a_few_russian_words_in_english_text_do_not_make_it_russian():
    assert detect("Invoice", "Please check my invoice, account name Иванов, thanks a lot") == "en"
    assert detect("Счёт", "Please check my invoice for November, it is twice what it should be") \
        == "en"


def test_only_the_start_counts_not_quoted_history_further_down():
    quoted = "\n> " + "Hello, this is the old English thread. " * 100
    assert detect("Re: ticket", ("Добрый день, всё ещё не работает. " * 80)[:SAMPLE_CHARS]
                  + quoted) == "ru"
