"""ticket_created carries what escalation and notify would otherwise ask back at once: the
ticket's first SLA facts and its acknowledgement's mail context. Both must be exactly what
tickets answers by RPC for that ticket, for mails handed over one by one and in a batch."""
import json

from sqlalchemy import select

from helpdesk import contract, outbox
from services.tickets import access, escalations, inbound, outbound
from services.tickets.models import OutboxEvent
from tests import fixtures

INGEST = contract.system("ingest")


def mail(number, **extra):
    return {"message_id": f"<snap-{number}@mail.example>", "from_address": "anna@mail.example",
            "from_name": "Анна", "to": ["billing@isp.example"], "subject": "Счёт за ноябрь",
            "body_text": "Пришёл двойной счёт", **extra}


def created_events(db):
    rows = db.scalars(select(OutboxEvent).where(OutboxEvent.event_type ==
                                                contract.TICKET_CREATED)).all()
    return {row.payload["ticket"]["id"]: row.payload for row in rows}


def as_stored(value):
    return json.loads(json.dumps(value))


def test_the_snapshots_are_what_tickets_answers_by_rpc(db):
    fixtures.department(db, "Первая линия", ["support@isp.example"])
    billing = fixtures.department(db, "Биллинг", ["billing@isp.example", "money@isp.example"],
                                  signature="-- Биллинг")
    fixtures.agent_with_token(db, "Мария", "maria@isp.example", role="manager",
                              department_ids=[billing["id"]])
    actor = access.resolve(db, INGEST)
    single = inbound.ingest(db, actor, mail(1))
    batch = inbound.ingest_many(db, actor, [mail(2), mail(3, from_address="boris@mail.example")])
    tickets = [single["ticket_id"]] + [outcome["result"]["ticket_id"] for outcome in batch]
    events = created_events(db)
    assert sorted(events) == sorted(tickets)
    for ticket_id in tickets:
        carried = events[ticket_id]
        assert carried["sla_facts"] == as_stored(escalations.facts(db, actor, ticket_id))
        assert carried["mail_context"] == as_stored(outbound.mail_context(db, actor, ticket_id))
        assert [m["name"] for m in carried["mail_context"]["managers"]] == ["Мария"]



def test_a_batch_with_a_refused_mail_announces_each_stored_ticket_once(db):
    """The batch is first tried whole; the refused mail sends it round again, a savepoint
    per mail: the first round's events must be forgotten with it."""
    fixtures.department(db, "Первая линия", ["support@isp.example"])
    actor = access.resolve(db, INGEST)
    outcomes = inbound.ingest_many(db, actor, [
        mail(5, to=["support@isp.example"]), mail(6, to=["nobody@else.example"]),
        mail(7, to=["support@isp.example"], from_address="boris@mail.example")])
    assert [sorted(outcome) for outcome in outcomes] == [["result"], ["error"], ["result"]]
    stored = sorted(outcome["result"]["ticket_id"] for outcome in outcomes
                    if "result" in outcome)
    announced = [payload["ticket"]["id"]
                 for _, event_type, payload in db.info.pop(outbox._COMMITTED, [])
                 if event_type == contract.TICKET_CREATED]
    assert sorted(announced) == stored and sorted(created_events(db)) == stored
