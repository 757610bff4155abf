"""Routing a new ticket: the receiving address, the mailbox, the admins' rules, the default."""
from dataclasses import replace

import pytest

from services.ingest.decisions import Context, Route, RoutingRule
from services.ingest.filters.routing import route
from services.ingest.mail import Address, ParsedMail

DEPARTMENTS = {"delivered@isp.example": 1, "original@isp.example": 2, "envelope@isp.example": 3,
               "to@isp.example": 4, "cc@isp.example": 5}
SOURCES = ("Delivered-To", "X-Original-To", "envelope recipient", "To", "Cc")


def mail(subject="Нет интернета", sender="anna@mail.example", text="", headers=(), to=(),
         cc=()):
    return ParsedMail(headers=list(headers), subject=subject, text=text,
                      from_=Address("Анна", sender) if sender else None,
                      to=[Address("", a) for a in to], cc=[Address("", a) for a in cc])


def addressed_by(sources):
    """A mail (and context) whose every given source names a different department."""
    delivery = (("Delivered-To", "delivered@isp.example"),
                ("X-Original-To", "original@isp.example"))
    headers = [(name, address) for name, address in delivery if name in sources]
    envelope = ("envelope@isp.example",) if "envelope recipient" in sources else ()
    return (mail(headers=headers, to=["to@isp.example"] if "To" in sources else [],
                 cc=["cc@isp.example"] if "Cc" in sources else []),
            Context(departments_by_address=DEPARTMENTS, envelope_recipients=envelope))


@pytest.mark.parametrize("first", range(len(SOURCES)), ids=SOURCES)
def test_receiving_addresses_are_tried_in_order(first):
    routed, context = addressed_by(SOURCES[first:])
    decision = route(routed, context)
    assert decision.department_id == first + 1
    assert decision.why.startswith(SOURCES[first])


def test_an_unknown_receiving_address_lets_the_next_source_decide():
    routed = mail(headers=[("Delivered-To", "someone-else@gmail.example")],
                  to=["to@isp.example"])
    assert route(routed, Context(departments_by_address=DEPARTMENTS)) == \
        Route(4, "To to@isp.example")


def test_addresses_match_case_insensitively():
    routed = mail(to=["To@ISP.Example"])
    assert route(routed, Context(departments_by_address=DEPARTMENTS)).department_id == 4


def test_plus_addressing_reaches_the_department_of_the_plain_address():
    routed = mail(headers=[("Delivered-To", "Delivered+Tariffs@isp.example")])
    assert route(routed, Context(departments_by_address=DEPARTMENTS)) == \
        Route(1, "Delivered-To Delivered+Tariffs@isp.example")


def test_a_department_address_with_a_plus_of_its_own_matches_exactly():
    context = Context(departments_by_address={"support+vip@isp.example": 7,
                                              "support@isp.example": 1})
    assert route(mail(to=["support+vip@isp.example"]), context).department_id == 7


def test_the_mailbox_department_comes_after_the_addresses_and_before_the_rules():
    context = Context(departments_by_address=DEPARTMENTS, mailbox_department_id=8,
                      routing_rules=(RoutingRule(1, 9),), default_department_id=10)
    assert route(mail(to=["cc@isp.example"]), context).department_id == 5
    assert route(mail(to=["someone@gmail.example"]), context) == \
        Route(8, "the mailbox's department")


def test_the_first_rule_that_holds_wins():
    rules = (RoutingRule(1, 11, subject_contains="счёт"),
             RoutingRule(2, 12, sender_domain="corp.example"),
             RoutingRule(3, 13, sender_domain="corp.example"))
    context = Context(routing_rules=rules, default_department_id=10)
    assert route(mail("Нет связи", "ivan@corp.example"), context) == \
        Route(12, "routing rule 2 (sender domain 'corp.example')")


def test_every_condition_of_a_rule_must_hold():
    rule = RoutingRule(4, 14, sender_domain="corp.example", subject_contains="СЧЁТ",
                       body_contains="договор")
    context = Context(routing_rules=(rule,), default_department_id=10)
    matching = mail("Вопрос про счёт", "ivan@corp.example", "Номер договора 17")
    assert route(matching, context) == Route(14, "routing rule 4 (sender domain 'corp.example', "
                                                 "subject contains 'СЧЁТ', body contains "
                                                 "'договор')")
    assert route(replace(matching, subject="Нет связи"), context).department_id == 10
    assert route(replace(matching, text="Тариф"), context).department_id == 10
    assert route(mail("Вопрос про счёт", "ivan@mail.example", "договор"),
                 context).department_id == 10


@pytest.mark.parametrize("sender, holds", [
    ("ivan@corp.example", True), ("ivan@Mail.Corp.Example", True),
    ("ivan@evilcorp.example", False), ("ivan@corp.example.net", False), ("ivan", False),
])
def test_sender_domain_matches_the_domain_and_its_subdomains_only(sender, holds):
    context = Context(routing_rules=(RoutingRule(1, 11, sender_domain="corp.example"),))
    assert (route(mail(sender=sender), context) is not None) is holds


def test_a_rule_cannot_match_a_sender_domain_when_there_is_no_sender():
    context = Context(routing_rules=(RoutingRule(1, 11, sender_domain="corp.example"),))
    assert route(mail(sender=None), context) is None


def test_a_rule_without_conditions_catches_every_mail():
    context = Context(routing_rules=(RoutingRule(5, 15),), default_department_id=10)
    assert route(mail(), context) == Route(15, "routing rule 5 (no condition)")


def test_the_default_department_takes_what_nothing_else_decided():
    context = Context(routing_rules=(RoutingRule(1, 11, subject_contains="счёт"),),
                      default_department_id=10)
    assert route(mail(to=["someone@gmail.example"]), context) == \
        Route(10, "the default department")


def test_without_any_way_to_decide_routing_says_nothing():
    assert route(mail(to=["someone@gmail.example"]), Context()) is None
