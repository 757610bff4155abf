"""Notification templates: every shipped one renders; an admin's cannot reach Python or
break a mail."""
import pytest

from helpdesk import rating_links
from helpdesk.errors import InvalidInput
from services.notify import texts


@pytest.mark.parametrize("kind", texts.KINDS)
@pytest.mark.parametrize("language", texts.LANGUAGES)
def test_every_shipped_template_renders_with_its_variables(kind, language):
    subject, body = texts.render(*texts.SHIPPED[kind][language],
                                 texts.example_context(kind, language))
    assert subject and "\n" not in subject and body.strip()
    assert "{{" not in subject + body


def test_a_template_cannot_reach_python_internals():
    with pytest.raises(InvalidInput) as raised:
        texts.check(texts.AUTO_ACK, "x", "{{ ticket.__class__.__mro__[1].__subclasses__() }}")
    assert raised.value.code == "INVALID_TEMPLATE"


@pytest.mark.parametrize("body", ["{{ ticket.nonexistent }}", "{% if %}", "{{ undefined_name }}"])
def test_a_broken_template_is_refused_before_it_is_saved(body):
    with pytest.raises(InvalidInput) as raised:
        texts.check(texts.RESOLVED, "Resolved", body)
    assert raised.value.code == "INVALID_TEMPLATE"


def test_a_multi_line_subject_becomes_one_line():
    subject, _ = texts.render("Ticket\n{{ ticket.number }}\r\nresolved", "x",
                              texts.example_context(texts.RESOLVED))
    assert subject == "Ticket 1234 resolved"


def test_a_rating_token_names_its_ticket_and_refuses_any_change():
    token = rating_links.token_for("secret", 1042)
    assert rating_links.ticket_of("secret", token) == 1042
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for bad in (tampered, token.replace(".", "x", 1), "garbage", ""):
        with pytest.raises(rating_links.InvalidRatingLink):
            rating_links.ticket_of("secret", bad)
    with pytest.raises(rating_links.InvalidRatingLink):
        rating_links.ticket_of("another secret", token)
