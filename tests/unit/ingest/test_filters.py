"""The small filters: untrusted headers, loops, finding the ticket; and that no filter changes
the mail it is given. (Auto-replies, bounces and routing have their own test_filters_* files.)"""
import copy

import pytest

from helpdesk import contract
from services.ingest import pipeline
from services.ingest.decisions import Context, Drop, Rewrite, Thread
from services.ingest.filters.find_ticket import find_ticket
from services.ingest.filters.loops import detect_loop
from services.ingest.filters.untrusted import strip_untrusted_headers
from services.ingest.mail import Address, Attachment, DeliveryReport, ParsedMail

CONTEXT = Context(departments_by_address={"support@isp.example": 1, "billing@isp.example": 2},
                  own_domains=frozenset({"isp.example"}))
OUR_MESSAGE_ID = contract.own_message_id(1234, "isp.example", "a1b2c3")


def mail(subject="Нет интернета", sender="anna@mail.example", headers=(), **fields):
    return ParsedMail(headers=list(headers), subject=subject,
                      from_=Address("Анна", sender) if sender else None, **fields)


# --- untrusted headers --------------------------------------------------------------------
def test_forged_helpdesk_headers_are_removed_from_a_customer_mail():
    forged = mail(headers=[("Received", "from mx"), ("X-Helpdesk-Ticket", "1"),
                           ("x-helpdesk-priority", "urgent"), ("X-Mailer", "Thunderbird")])
    decision = strip_untrusted_headers(forged, CONTEXT)
    assert isinstance(decision, Rewrite)
    assert decision.mail.headers == [("Received", "from mx"), ("X-Mailer", "Thunderbird")]
    assert decision.why == "removed X-Helpdesk-Ticket, x-helpdesk-priority"


def test_mail_without_internal_headers_is_not_rewritten():
    assert strip_untrusted_headers(mail(headers=[("X-Mailer", "Outlook")]), CONTEXT) is None


def test_untrusted_prefixes_are_compared_case_insensitively_and_are_configurable():
    context = Context(untrusted_header_prefixes=("X-Desk-", "x-internal-"))
    decision = strip_untrusted_headers(
        mail(headers=[("x-desk-agent", "7"), ("X-Internal-Note", "hi"), ("X-Helpdesk-A", "b")]),
        context)
    assert decision.mail.headers == [("X-Helpdesk-A", "b")]


def test_stripping_makes_a_new_mail_and_keeps_everything_else():
    original = mail(headers=[("X-Helpdesk-Ticket", "1")], text="Тело", message_id="<m@x>")
    decision = strip_untrusted_headers(original, CONTEXT)
    assert decision.mail is not original
    assert original.headers == [("X-Helpdesk-Ticket", "1")]
    assert (decision.mail.text, decision.mail.message_id) == ("Тело", "<m@x>")


# --- loops -------------------------------------------------------------------------------
def test_mail_carrying_our_x_loop_marker_is_dropped_as_a_loop():
    decision = detect_loop(mail(headers=[("X-Loop", "HelpDesk")]), CONTEXT)
    assert decision == Drop("loop: X-Loop: HelpDesk")


def test_our_marker_is_found_among_several_x_loop_items():
    looped = mail(headers=[("X-Loop", "list@example.org"), ("X-Loop", "helpdesk, relay")])
    assert isinstance(detect_loop(looped, CONTEXT), Drop)


def test_another_help_desks_x_loop_is_not_taken_for_ours():
    other = mail(headers=[("X-Loop", "helpdesk@other.example")])
    assert detect_loop(other, CONTEXT) is None


def test_our_own_message_id_coming_back_is_dropped_as_a_loop():
    decision = detect_loop(mail(message_id=OUR_MESSAGE_ID), CONTEXT)
    assert decision == Drop(f"loop: the Message-ID {OUR_MESSAGE_ID} is one of ours")


def test_a_subscriber_on_our_own_domain_is_not_a_loop():
    # Thunderbird writes Message-IDs at the sender's domain: an ISP's own subscribers do too.
    subscriber = mail(sender="ivan@isp.example",
                      message_id="<5f1c9a2e-77aa-4c1b-9d0e-1f2a3b4c5d6e@isp.example>")
    assert detect_loop(subscriber, CONTEXT) is None


def test_our_message_id_format_at_a_foreign_domain_is_not_a_loop():
    assert detect_loop(mail(message_id="<hd.1234.a1b2@other.example>"), CONTEXT) is None


def test_mail_from_one_of_our_department_addresses_is_dropped_as_a_loop():
    decision = detect_loop(mail(sender="Billing@ISP.example"), CONTEXT)
    assert decision == Drop("loop: sent from our own address billing@isp.example")


def test_ordinary_customer_mail_is_not_a_loop():
    customer = mail(headers=[("X-Mailer", "Outlook")], message_id="<abc@mail.example>",
                    to=[Address("", "support@isp.example")])
    assert detect_loop(customer, CONTEXT) is None


def test_mail_without_a_sender_or_message_id_is_not_a_loop():
    assert detect_loop(mail(sender=None), CONTEXT) is None


# --- finding the ticket ------------------------------------------------------------------
def test_subject_tag_names_the_ticket():
    assert find_ticket(mail(subject="Re: Нет интернета [#1234]"), CONTEXT) == \
        Thread(1234, "subject tag [#1234]")


def test_the_configured_tag_prefix_is_used_and_other_prefixes_are_ignored():
    context = Context(tag_prefix="ISP-")
    assert find_ticket(mail(subject="Re: [ISP-77] Нет связи"), context).ticket_id == 77
    assert find_ticket(mail(subject="Re: [#77] from another help desk"), context) is None


def test_answer_to_our_mail_without_the_tag_finds_the_ticket_by_in_reply_to():
    answer = mail(subject="Re: без темы", in_reply_to=OUR_MESSAGE_ID)
    assert find_ticket(answer, CONTEXT) == Thread(1234, f"In-Reply-To names our mail "
                                                        f"{OUR_MESSAGE_ID}")


def test_references_are_searched_from_the_most_recent():
    older = contract.own_message_id(11, "isp.example", "aa")
    newer = contract.own_message_id(22, "isp.example", "bb")
    answer = mail(subject="Re:", in_reply_to="<customer@mail.example>",
                  references=[older, "<x@mail.example>", newer, "<customer@mail.example>"])
    assert find_ticket(answer, CONTEXT).ticket_id == 22


def test_in_reply_to_comes_before_references():
    answer = mail(in_reply_to=contract.own_message_id(5, "isp.example", "aa"),
                  references=[contract.own_message_id(6, "isp.example", "bb")])
    assert find_ticket(answer, CONTEXT).ticket_id == 5


def test_subject_tag_wins_over_references():
    answer = mail(subject="Re: [#9] Нет связи", in_reply_to=OUR_MESSAGE_ID)
    assert find_ticket(answer, CONTEXT).ticket_id == 9


def test_answers_to_mail_we_did_not_write_are_left_to_the_tickets_service():
    answer = mail(subject="Re: Нет связи", in_reply_to="<customer-own@mail.example>",
                  references=["<hd.1234.a1b2@other.example>"])
    assert find_ticket(answer, CONTEXT) is None


def test_new_mail_continues_no_ticket():
    assert find_ticket(mail(subject="Нет интернета с утра"), CONTEXT) is None


# --- no filter changes its input ---------------------------------------------------------
def _everything_at_once():
    returned = b"Message-ID: <hd.1.a@isp.example>\r\nSubject: x\r\n\r\nbody\r\n"
    return ParsedMail(
        headers=[("X-Helpdesk-Ticket", "1"), ("X-Loop", "other"), ("Auto-Submitted", "no"),
                 ("Delivered-To", "support+tv@isp.example")],
        subject="Undeliverable: Re: Нет связи [#42]", from_=Address("", "postmaster@mail.example"),
        to=[Address("", "support@isp.example")], cc=[Address("", "billing@isp.example")],
        message_id="<m1@mail.example>", in_reply_to=OUR_MESSAGE_ID, references=[OUR_MESSAGE_ID],
        text="550 5.1.1 user unknown",
        attachments=[Attachment("returned.eml", "message/rfc822", returned)],
        report=DeliveryReport(None, "failed", "5.1.1", ("a@mail.example",)))


@pytest.mark.parametrize("mail_filter", pipeline.FILTERS, ids=lambda f: f.__name__)
def test_no_filter_changes_the_mail_it_is_given(mail_filter):
    given = _everything_at_once()
    before = copy.deepcopy(given)
    context = Context(envelope_sender="", envelope_recipients=("support@isp.example",),
                      departments_by_address={"support@isp.example": 1},
                      own_domains=frozenset({"isp.example"}), default_department_id=1)
    mail_filter(given, context)
    assert given == before
