"""Which mail each event calls for, without a broker: events.plan over a mail context shaped
as tickets.mail_context returns it."""
import copy

import pytest

from helpdesk import rating_links, signed_links
from services.notify import events, texts
from services.notify.mails import Settings

SETTINGS = Settings(public_url="http://desk.example", secret_key="k" * 32)
CONTEXT = {
    "ticket": {"id": 1042, "subject": "Нет интернета", "status": "new", "priority": "normal",
               "language": "ru", "department_id": 3},
    "department": {"id": 3, "name": "First line", "addresses": ["support@isp.example"],
                   "signature": "", "sender_name": "Техподдержка", "agent_name_in_from": False},
    "customer": {"id": 9, "name": "Анна", "email": "Anna@Mail.example"},
    "assignee": None,
    "own_addresses": ["support@isp.example", "billing@isp.example"],
    "managers": [{"id": 5, "name": "Manager One", "email": "m1@isp.example"},
                 {"id": 6, "name": "Manager Two", "email": "m2@isp.example"}],
    "first_message": {"id": 1, "message_id": "<q1@mail.example>", "auto_reply": False,
                      "subject": "Нет интернета"},
    "message": None, "references": [],
}


def shipped(kind, language, department_id):
    return texts.SHIPPED[kind][language]


def plan(event_type, payload, context=None, acknowledged=0, **options):
    return events.plan(event_type, {"event_id": "e1", **payload}, context or CONTEXT, SETTINGS,
                       shipped, lambda address: acknowledged, 5, **options)


def with_(**changes):
    context = copy.deepcopy(CONTEXT)
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            context[section][field] = value
        else:
            context[section] = value
    return context


def test_a_customers_request_is_acknowledged_once_per_event():
    result = plan(events.CREATED, {"origin": "customer", "ticket": {"id": 1042}})
    [(key, mail)] = result.mails
    assert key == "e1:auto_ack"
    assert mail.to[0].address == "Anna@Mail.example"
    assert mail.subject == "Ваше обращение получено: Нет интернета [#1042]"
    assert mail.auto_submitted == "auto-replied" and mail.in_reply_to == "<q1@mail.example>"


def test_the_acknowledgement_carries_the_customers_portal_link():
    result = plan(events.CREATED, {"origin": "customer", "ticket": {"id": 1042}})
    [(_, mail)] = result.mails
    [link] = [word for word in mail.text.split() if "/portal/enter/" in word]
    assert link.startswith("http://desk.example/portal/enter/")
    token = link.rsplit("/", 1)[1]
    assert signed_links.PORTAL.value_of(SETTINGS.secret_key, token) == 9
    with pytest.raises(signed_links.InvalidLink):  # a rating token opens no portal
        signed_links.PORTAL.value_of(SETTINGS.secret_key,
                                     rating_links.token_for(SETTINGS.secret_key, 9))


@pytest.mark.parametrize("context, acknowledged, reason", [
    (with_(first_message__auto_reply=True), 0, "automatic mail"),
    (with_(customer__email="BILLING@isp.example"), 0, "our own address"),
    (with_(customer__email="MAILER-DAEMON@mail.example"), 0, "a machine's address"),
    (with_(customer__email="no-reply@shop.example"), 0, "a machine's address"),
    (CONTEXT, 5, "hourly limit of acknowledgements reached"),
])
def test_no_acknowledgement_to_machines_ourselves_or_past_the_hourly_limit(context, acknowledged,
                                                                          reason):
    result = plan(events.CREATED, {"origin": "customer", "ticket": {"id": 1042}}, context,
                  acknowledged)
    assert result.mails == [] and result.skipped == [reason]


def test_only_a_customers_own_request_could_call_for_an_acknowledgement():
    assert events.calls_for_mail(events.CREATED, {"origin": "customer"})
    assert not events.calls_for_mail(events.CREATED, {"origin": "agent"})
    assert not events.calls_for_mail(events.CREATED, {"origin": "split"})
    assert not events.calls_for_mail(events.MESSAGE, {"direction": "inbound"})
    assert not events.calls_for_mail(events.MESSAGE, {"direction": "internal"})
    assert events.calls_for_mail(events.MESSAGE, {"direction": "outbound"})


def test_a_resolution_carries_five_signed_rating_links():
    context = with_(ticket__status="resolved", ticket__language="en")
    result = plan(events.UPDATED, {"ticket_id": 1042, "changes": {
        "status": {"old": "open", "new": "resolved"}}}, context)
    [(key, mail)] = result.mails
    assert key == "e1:resolved"
    assert mail.subject == "Your request has been resolved: Нет интернета [#1042]"
    links = [line.split(": ", 1)[1] for line in mail.text.splitlines() if "/rate/" in line]
    assert [link.rsplit("=", 1)[1] for link in links] == ["1", "2", "3", "4", "5"]
    token = links[0].split("/rate/")[1].split("?")[0]
    assert rating_links.ticket_of(SETTINGS.secret_key, token) == 1042


def test_no_notice_when_the_ticket_was_reopened_before_the_event_was_handled():
    result = plan(events.UPDATED, {"ticket_id": 1042, "changes": {
        "status": {"old": "open", "new": "resolved"}}}, with_(ticket__status="open"))
    assert result.mails == []


def test_a_breach_alerts_each_manager_of_the_department():
    result = plan(events.BREACHED, {"ticket_id": 1042, "target": "first_response",
                                    "due_at": "2026-11-23T12:30:00+00:00", "level": 1})
    assert [key for key, _ in result.mails] == ["e1:sla_breached:5", "e1:sla_breached:6"]
    mail = result.mails[0][1]
    assert mail.to[0].address == "m1@isp.example"
    assert mail.subject == "SLA breached: ticket 1042 (first response) [#1042]"
    assert "2026-11-23T12:30:00+00:00" in mail.text


def test_a_breach_in_a_department_without_managers_is_reported_not_lost_silently():
    result = plan(events.BREACHED, {"ticket_id": 1042, "target": "resolution"},
                  with_(managers=[]))
    assert result.mails == [] and result.skipped == ["the department has no manager to alert"]


def test_an_assignment_is_mailed_to_the_agent_unless_they_took_it_themselves():
    assignee = {"id": 7, "name": "Ольга", "email": "olga@isp.example"}
    changes = {"assignee_id": {"old": None, "new": 7}}
    by_manager = plan(events.UPDATED, {"ticket_id": 1042, "changes": changes,
                                       "actor": {"agent_id": 5, "label": "Manager One"}},
                      with_(assignee=assignee))
    [(_, mail)] = by_manager.mails
    assert mail.to[0].address == "olga@isp.example"
    assert mail.text.startswith("Manager One assigned ticket 1042")
    by_herself = plan(events.UPDATED, {"ticket_id": 1042, "changes": changes,
                                       "actor": {"agent_id": 7, "label": "Ольга"}},
                      with_(assignee=assignee))
    assert by_herself.mails == []
    switched_off = plan(events.UPDATED, {"ticket_id": 1042, "changes": changes,
                                         "actor": {"agent_id": 5}}, with_(assignee=assignee),
                        notify_assignments=False)
    assert switched_off.mails == []
