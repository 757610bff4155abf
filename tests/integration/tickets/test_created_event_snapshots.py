"""ticket_created carries what escalation and notify would otherwise ask back at once: the
ticket's first SLA facts and its acknowledgement's mail context; an agent's reply's
message_added carries the reply's mail context. Each must be exactly what tickets answers by
RPC, for mails handed over one by one and in a batch, for the first reply and later ones."""
import base64
import json

from sqlalchemy import select

from helpdesk import contract, outbox
from services.tickets import access, conversation, escalations, inbound, outbound
from services.tickets.models import OutboxEvent
from tests import fixtures

INGEST = contract.system("ingest")


def mail(number, **extra):
    return {"message_id": f"<snap-{number}@mail.example>", "from_address": "anna@mail.example",
            "from_name": "Анна", "to": ["billing@isp.example"], "subject": "Счёт за ноябрь",
            "body_text": "Пришёл двойной счёт", **extra}


def announced(db, event_type):
    return [row.payload for row in db.scalars(select(OutboxEvent)
                                              .where(OutboxEvent.event_type == event_type))]


def created_events(db):
    return {payload["ticket"]["id"]: payload for payload in announced(db, contract.TICKET_CREATED)}


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


def test_a_replys_event_carries_its_mail_context_unless_it_has_files(db):
    billing = fixtures.department(db, "Биллинг", ["billing@isp.example"], signature="-- Биллинг")
    olga, _ = fixtures.agent_with_token(db, "Ольга", "olga@isp.example",
                                        department_ids=[billing["id"]])
    fixtures.agent_with_token(db, "Мария", "maria@isp.example", role="manager",
                              department_ids=[billing["id"]])
    ticket_id = inbound.ingest(db, access.resolve(db, INGEST), mail(8))["ticket_id"]
    as_olga = access.resolve(db, {"agent_id": olga["id"]})
    first = conversation.reply(db, as_olga, ticket_id, {"body": "Проверим."})
    inbound.ingest(db, access.resolve(db, INGEST), mail(
        9, subject=f"Re: [#{ticket_id}] Счёт за ноябрь", in_reply_to=first["message_id"]))
    second = conversation.reply(db, as_olga, ticket_id, {"body": "Вернём разницу.",
                                                         "status": "pending"})
    with_file = conversation.reply(db, as_olga, ticket_id, {"body": "Акт сверки.", "attachments": [
        {"filename": "акт.txt", "content_type": "text/plain",
         "content_base64": base64.b64encode("сверка".encode()).decode()}]})

    replies = sorted((payload for payload in announced(db, contract.MESSAGE_ADDED)
                      if payload["direction"] == contract.Direction.OUTBOUND),
                     key=lambda payload: payload["message_id"])
    assert [payload["message_id"] for payload in replies] == [first["id"], second["id"],
                                                               with_file["id"]]
    notify = access.resolve(db, contract.system("notify"))
    for payload, reply in zip(replies[:2], (first, second)):
        # the ticket as it was at that reply: the RPC answer of now for the latest one
        asked = as_stored(outbound.mail_context(db, notify, ticket_id, reply["id"]))
        carried = payload["mail_context"]
        assert carried["message"] == as_stored(reply) == asked["message"]
        assert carried["references"] == asked["references"]
        assert carried["first_message"] == asked["first_message"]
        assert [m["name"] for m in carried["managers"]] == ["Мария"]
    assert replies[1]["mail_context"]["ticket"]["status"] == "pending"
    assert len(replies[1]["mail_context"]["references"]) == 3
    assert "mail_context" not in replies[2]
