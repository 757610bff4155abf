"""The pipeline: filters in order, decisions folded into one verdict, the trail of who decided."""
import copy
from dataclasses import replace

from helpdesk import contract
from services.ingest import pipeline
from services.ingest.decisions import Context, DeliveryReport, Match, Verdict
from services.ingest.filters.auto_replies import detect_auto_reply
from services.ingest.filters.bounces import detect_bounce
from services.ingest.filters.find_ticket import find_ticket
from services.ingest.filters.loops import detect_loop
from services.ingest.filters.routing import route
from services.ingest.filters.untrusted import strip_untrusted_headers
from services.ingest.mail import Address, Attachment, ParsedMail

CONTEXT = Context(envelope_sender="anna@mail.example",
                  envelope_recipients=("support@isp.example",),
                  departments_by_address={"support@isp.example": 1, "billing@isp.example": 2},
                  own_domains=frozenset({"isp.example"}), default_department_id=9)
OURS = contract.own_message_id(1234, "isp.example", "a1b2c3")


def mail(subject="Нет интернета", sender="anna@mail.example", headers=(), **fields):
    return ParsedMail(headers=list(headers), subject=subject, from_=Address("Анна", sender),
                      to=[Address("", "support@isp.example")], **fields)


def test_filters_run_in_the_documented_order():
    assert pipeline.FILTERS == (strip_untrusted_headers, detect_loop, detect_auto_reply,
                                detect_bounce, find_ticket, route)


def test_new_customer_mail_is_routed_by_the_address_it_was_sent_to():
    verdict = pipeline.run(mail(), CONTEXT)
    assert (verdict.ticket_id, verdict.department_id, verdict.auto_reply, verdict.bounce,
            verdict.dropped) == (None, 1, False, None, None)
    assert verdict.trail == [Match("route", "department 1: envelope recipient "
                                            "support@isp.example")]
    assert pipeline.may_open_ticket(verdict)


def test_reply_from_customer_continues_its_ticket_and_is_not_routed():
    verdict = pipeline.run(mail("Re: Нет интернета [#1234]"), CONTEXT)
    assert (verdict.ticket_id, verdict.department_id) == (1234, None)
    assert [m.filter for m in verdict.trail] == ["find_ticket"]


def test_a_loop_stops_the_pipeline_and_nothing_after_it_decides():
    looped = mail("Re: Нет интернета [#1234]", "support@isp.example",
                  [("Auto-Submitted", "auto-replied")])
    verdict = pipeline.run(looped, CONTEXT)
    assert verdict.dropped == "loop: sent from our own address support@isp.example"
    assert verdict.flags["loop"]
    assert (verdict.ticket_id, verdict.department_id, verdict.auto_reply) == (None, None, False)
    assert verdict.trail == [Match("detect_loop", "dropped: loop: sent from our own address "
                                                  "support@isp.example")]


def test_forged_internal_headers_are_gone_from_the_verdicts_mail_and_the_input_is_kept():
    forged = mail(headers=[("X-Helpdesk-Department", "2"), ("X-Mailer", "Outlook")])
    verdict = pipeline.run(forged, CONTEXT)
    assert verdict.mail.headers == [("X-Mailer", "Outlook")]
    assert forged.headers == [("X-Helpdesk-Department", "2"), ("X-Mailer", "Outlook")]
    assert verdict.trail[0] == Match("strip_untrusted_headers",
                                     "rewritten: removed X-Helpdesk-Department")


def test_filters_after_a_rewrite_see_the_rewritten_mail(monkeypatch):
    seen = []

    def spy(mail, context):
        seen.append([name for name, _ in mail.headers])

    monkeypatch.setattr(pipeline, "FILTERS", (strip_untrusted_headers, spy))
    pipeline.run(mail(headers=[("X-Helpdesk-Ticket", "1"), ("X-Mailer", "Outlook")]), CONTEXT)
    assert seen == [["X-Mailer"]]


def test_auto_reply_that_answers_a_ticket_goes_on_that_ticket_without_a_department():
    verdict = pipeline.run(mail("Automatic reply: Нет интернета", in_reply_to=OURS), CONTEXT)
    assert (verdict.auto_reply, verdict.ticket_id, verdict.department_id) == (True, 1234, None)
    assert [m.filter for m in verdict.trail] == ["detect_auto_reply", "find_ticket"]


def test_auto_reply_that_answers_no_ticket_is_never_routed_to_a_new_one():
    verdict = pipeline.run(mail("Out of Office"), CONTEXT)
    assert (verdict.auto_reply, verdict.ticket_id, verdict.department_id) == (True, None, None)
    assert not pipeline.may_open_ticket(verdict)
    assert "route" not in [m.filter for m in verdict.trail]


def test_bounce_names_the_bounced_mail_and_is_never_routed():
    returned = Attachment("returned.eml", "message/rfc822",
                          f"Message-ID: {OURS}\r\n\r\nbody\r\n".encode())
    bounce = mail("Undeliverable: Re: Нет интернета [#1234]", "postmaster@contoso.example",
                  attachments=[returned], text="550 5.1.1 User unknown")
    verdict = pipeline.run(bounce, replace(CONTEXT, envelope_sender=""))
    assert verdict.bounce == DeliveryReport(OURS, "failed", "5.1.1", (), bounce.text)
    assert (verdict.auto_reply, verdict.ticket_id, verdict.department_id) == (True, 1234, None)
    assert verdict.trail == [
        Match("detect_auto_reply", "auto-reply: empty envelope sender (<>): a notification, "
                                   "not a person"),
        Match("detect_bounce", f"bounce of {OURS}: a bounce from postmaster@contoso.example: "
                               "Undeliverable: Re: Нет интернета [#1234]"),
        Match("find_ticket", "ticket #1234: subject tag [#1234]")]
    assert verdict.flags == {"auto_reply": True, "bounce": True, "loop": False}


def test_mail_no_department_receives_has_no_home_for_the_acting_step():
    stray = ParsedMail(headers=[], subject="Привет", from_=Address("", "anna@mail.example"),
                       to=[Address("", "someone@gmail.example")])
    verdict = pipeline.run(stray, Context())
    assert verdict == Verdict(mail=stray)


def test_the_trail_records_every_filter_that_decided_in_order():
    forged = mail("Автоответ: Re: Нет интернета [#77]",
                  headers=[("X-Helpdesk-Ticket", "5"), ("Precedence", "bulk")])
    verdict = pipeline.run(forged, CONTEXT)
    assert [m.as_dict() for m in verdict.trail] == [
        {"filter": "strip_untrusted_headers", "decision": "rewritten: removed X-Helpdesk-Ticket"},
        {"filter": "detect_auto_reply", "decision": "auto-reply: Precedence: bulk"},
        {"filter": "find_ticket", "decision": "ticket #77: subject tag [#77]"}]


def test_running_the_pipeline_leaves_the_given_mail_and_context_unchanged():
    given = mail("Re: [#1]", headers=[("X-Helpdesk-Ticket", "9")], references=[OURS])
    before, context_before = copy.deepcopy(given), copy.deepcopy(CONTEXT)
    pipeline.run(given, CONTEXT)
    assert given == before and CONTEXT == context_before

