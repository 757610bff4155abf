"""The acting step on the real PostgreSQL, with the tickets hand-over replaced by a recorder:
a worker never dies on a mail, and trouble that is not the mail's own leaves it to retry."""
import pytest

from helpdesk.errors import InvalidInput
from services.ingest import pipeline, processing, raw_mails
from services.ingest.decisions import Context

RAW = ("From: Анна <anna@mail.example>\r\nTo: support@isp.example\r\n"
       "Subject: =?koi8-r?b?7sXUIMnO1MXSzsXUwQ==?=\r\nMessage-ID: <p1@mail.example>\r\n"
       "\r\nNo connection since morning\r\n").encode()
CONTEXT = Context(departments_by_address={"support@isp.example": 7})


def context_for(row, force):
    return CONTEXT


class Tickets:
    """Records hand-overs; answers like tickets.ingest_message, or raises what it is given."""

    def __init__(self, error=None):
        self.payloads, self.error = [], error

    def __call__(self, payload):
        self.payloads.append(payload)
        if self.error:
            raise self.error
        return {"ticket_id": 100, "message_id": 5, "created_ticket": True, "duplicate": False,
                "ignored": None}


def stored(db, raw=RAW):
    return raw_mails.store(db, raw, "smtp", envelope_recipients=["support@isp.example"])[0]


def test_a_mail_is_handed_over_once_and_finished_with_its_ticket(db):
    raw_mail_id, tickets = stored(db), Tickets()
    assert processing.process(db, raw_mail_id, context_for, tickets) == "processed"
    assert processing.process(db, raw_mail_id, context_for, tickets) is None  # a redelivery
    row = raw_mails.get(db, raw_mail_id)
    assert (row.status, row.ticket_id, row.message_id) == ("processed", 100, 5)
    assert [p["subject"] for p in tickets.payloads] == ["Нет интернета"]
    assert tickets.payloads[0]["department_id"] == 7


def test_a_filter_that_raises_quarantines_the_mail_with_the_error(db, monkeypatch):
    def broken_filter(mail, context):
        raise KeyError("x-priority")
    monkeypatch.setattr(pipeline, "FILTERS", (broken_filter,))
    raw_mail_id = stored(db)
    assert processing.process(db, raw_mail_id, context_for, Tickets()) == "quarantined"
    assert raw_mails.get(db, raw_mail_id).reason == "FILTER_ERROR: KeyError: 'x-priority'"


def test_a_parser_crash_quarantines_the_mail_with_the_error(db, monkeypatch):
    def crash(raw):
        raise ValueError("unexpected structure")
    monkeypatch.setattr(processing, "parse", crash)
    raw_mail_id = stored(db)
    assert processing.process(db, raw_mail_id, context_for, Tickets()) == "quarantined"
    assert raw_mails.get(db, raw_mail_id).reason == "PARSER_ERROR: ValueError: unexpected structure"


def test_a_mail_tickets_refuses_is_quarantined_with_the_refusal(db):
    raw_mail_id = stored(db)
    refused = Tickets(InvalidInput("UNKNOWN_DEPARTMENT", "department 7 does not exist", "x"))
    assert processing.process(db, raw_mail_id, context_for, refused) == "quarantined"
    assert raw_mails.get(db, raw_mail_id).reason == \
        "UNKNOWN_DEPARTMENT: department 7 does not exist"


def test_tickets_unreachable_leaves_the_mail_received_for_a_retry(db):
    raw_mail_id = stored(db)
    with pytest.raises(TimeoutError):
        processing.process(db, raw_mail_id, context_for, Tickets(TimeoutError()))
    assert raw_mails.get(db, raw_mail_id).status == "received"


def test_a_mail_whose_workers_keep_dying_is_given_up(db):
    raw_mail_id = stored(db)
    for _ in range(raw_mails.MAX_ATTEMPTS):
        raw_mails.claim(db, raw_mail_id)  # each claim a worker that died before finishing
    assert processing.process(db, raw_mail_id, context_for, Tickets()) == "quarantined"
    assert raw_mails.get(db, raw_mail_id).reason.startswith("GAVE_UP: 5 attempts")


def test_a_mail_no_department_receives_is_quarantined(db):
    raw_mail_id = stored(db)
    assert processing.process(db, raw_mail_id, lambda row, force: Context(), Tickets()) \
        == "quarantined"
    assert raw_mails.get(db, raw_mail_id).reason.startswith("NO_DEPARTMENT")


class TicketsTogether:
    """Records batches handed over together; answers each mail as tickets.ingest_messages
    does, refusing the mails whose subject names a refusal."""

    def __init__(self):
        self.batches = []

    def __call__(self, payloads):
        self.batches.append(payloads)
        return [InvalidInput("REFUSED", "tickets said no") if "refuse" in p["subject"] else
                {"ticket_id": 100 + n, "message_id": n, "created_ticket": True,
                 "duplicate": False, "ignored": None} for n, p in enumerate(payloads)]


def mail_with(subject, message_id):
    return RAW.replace(b"Message-ID: <p1@mail.example>", f"Message-ID: {message_id}".encode()) \
        .replace(b"=?koi8-r?b?7sXUIMnO1MXSzsXUwQ==?=", subject.encode())


def test_a_group_is_claimed_judged_handed_over_and_finished_together(db):
    ids = [stored(db, mail_with("first", "<g1@mail.example>")),
           stored(db, b"\x00not a mail at all"),
           stored(db, mail_with("please refuse", "<g2@mail.example>")),
           stored(db, mail_with("second", "<g3@mail.example>"))]
    done = stored(db, mail_with("done before", "<g4@mail.example>"))
    raw_mails.finish(db, done, "processed", ticket_id=1, message_id=1)
    tickets = TicketsTogether()
    statuses = processing.process_many(db, [*ids, done], context_for, tickets)
    assert statuses == ["processed", "quarantined", "quarantined", "processed", None]
    assert [[p["subject"] for p in batch] for batch in tickets.batches] == \
        [["first", "please refuse", "second"]]  # one hand-over for the group
    rows = [raw_mails.get(db, raw_mail_id) for raw_mail_id in ids]
    assert [(row.status, row.ticket_id) for row in rows] == [
        ("processed", 100), ("quarantined", None), ("quarantined", None), ("processed", 102)]
    assert rows[2].reason == "REFUSED: tickets said no"
    assert processing.process_many(db, ids, context_for, tickets) == [None] * 4  # redelivered
    assert len(tickets.batches) == 1


def test_tickets_unreachable_leaves_a_whole_group_for_a_retry(db):
    ids = [stored(db, mail_with("one", "<u1@mail.example>")),
           stored(db, mail_with("two", "<u2@mail.example>"))]

    def unreachable(payloads):
        raise TimeoutError()
    with pytest.raises(TimeoutError):
        processing.process_many(db, ids, context_for, unreachable)
    assert [raw_mails.get(db, raw_mail_id).status for raw_mail_id in ids] == ["received"] * 2


def test_each_mail_of_a_group_is_logged_under_its_own_correlation_id(db):
    import logging

    from helpdesk import logs

    class Correlations(logging.Handler):
        def __init__(self):
            super().__init__()
            self.seen = []

        def emit(self, record):
            self.seen.append((record.getMessage(), logs.current()))

    ids = [stored(db, mail_with("first", "<l1@mail.example>")),
           stored(db, b"\x00not a mail at all")]
    handler, logger = Correlations(), logging.getLogger(processing.__name__)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logs.use("mail-of-the-group")
    try:
        processing.process_many(db, ids, context_for, TicketsTogether())
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logs.use(None)
    assert {correlation for message, correlation in handler.seen
            if f"raw mail {ids[0]}" in message} == {f"mail-{ids[0]}"}
    assert {correlation for message, correlation in handler.seen
            if f"raw mail {ids[1]}" in message} == {f"mail-{ids[1]}"}
