"""Rules that need no broker and no database."""
import pytest

from helpdesk import config, contract
from helpdesk.errors import InvalidInput, NotFound
from helpdesk.payloads import ReplyIn, TicketIn, TicketQuery, parse
from services.tickets.access import Actor
from services.tickets.templates import _check_placeholders


def test_subject_tag_is_added_once_and_found_again():
    tagged = contract.tag_subject("Re: Нет интернета", 1234)
    assert tagged == "Re: Нет интернета [#1234]"
    assert contract.tag_subject(tagged, 1234) == tagged
    assert contract.ticket_number_in("Fwd: " + tagged) == 1234
    assert contract.ticket_number_in("no tag [#abc]") is None


def test_agent_sees_only_their_departments_admin_and_system_see_all():
    agent = Actor(label="a", agent_id=1, role="agent", department_ids=frozenset({2}))
    assert agent.can_see(2) and not agent.can_see(3)
    assert Actor(label="b", agent_id=2, role="admin").can_see(3)
    assert Actor(label="ingest", system="ingest").can_see(3)


def test_payload_errors_name_the_field():
    with pytest.raises(InvalidInput) as error:
        parse(TicketIn, {"subject": "x", "body": "y", "department_id": 0})
    assert error.value.field == "department_id"
    with pytest.raises(InvalidInput) as error:
        parse(ReplyIn, {"body": ""})
    assert error.value.field == "body"
    with pytest.raises(InvalidInput) as error:
        parse(ReplyIn, ["not", "an", "object"])
    assert "JSON object" in error.value.message
    assert parse(TicketQuery, {"status": ["new", "open"]}).per_page == 25


def test_errors_survive_the_trip_through_nameko():
    from nameko.exceptions import deserialize, serialize

    again = deserialize(serialize(NotFound("TICKET_NOT_FOUND", "ticket 5 does not exist")))
    assert isinstance(again, NotFound)
    assert again.as_dict() == {"error": "TICKET_NOT_FOUND", "message": "ticket 5 does not exist"}


@pytest.mark.parametrize("body", ["{customer_name.__class__}", "{password}", "{", "{0}"])
def test_templates_refuse_placeholders_they_cannot_fill(body):
    with pytest.raises(InvalidInput):
        _check_placeholders(body)


def test_config_substitutes_environment_with_defaults(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("A: ${HD_A:fallback}\nB: ${HD_B:1}\n")
    assert config.load(path, {"HD_B": "2"}) == {"A": "fallback", "B": 2}
    path.write_text("A: ${HD_REQUIRED}\n")
    with pytest.raises(KeyError):
        config.load(path, {})
