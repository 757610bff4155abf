"""The mail context notify writes an agent's reply from: who the ticket is assigned to, the
department's managers, the reply with its author, and the thread's Message-IDs before it."""
from helpdesk import contract
from services.tickets import access, conversation, inbound, lifecycle, outbound
from tests import fixtures

INGEST = contract.system("ingest")
NOTIFY = contract.system("notify")


def test_a_replys_mail_context_names_the_assignee_the_author_and_the_thread(db):
    billing = fixtures.department(db, "Биллинг", ["billing@isp.example"])
    olga, _ = fixtures.agent_with_token(db, "Ольга", "olga@isp.example",
                                        department_ids=[billing["id"]])
    fixtures.agent_with_token(db, "Мария", "maria@isp.example", role="manager",
                              department_ids=[billing["id"]])
    fixtures.agent_with_token(db, "Пётр", "petr@isp.example", role="manager")  # elsewhere
    request = inbound.ingest(db, access.resolve(db, INGEST), {
        "message_id": "<ask-1@mail.example>", "from_address": "anna@mail.example",
        "from_name": "Анна", "to": ["billing@isp.example"], "subject": "Счёт за ноябрь",
        "body_text": "Пришёл двойной счёт"})
    ticket_id = request["ticket_id"]
    lifecycle.update(db, fixtures.SYSTEM, ticket_id, {"assignee_id": olga["id"]})
    as_olga = access.resolve(db, {"agent_id": olga["id"]})
    reply = conversation.reply(db, as_olga, ticket_id, {"body": "Вернём разницу."})

    context = outbound.mail_context(db, access.resolve(db, NOTIFY), ticket_id, reply["id"])
    assert context["assignee"] == {"id": olga["id"], "name": "Ольга",
                                   "email": "olga@isp.example"}
    assert [manager["name"] for manager in context["managers"]] == ["Мария"]
    assert context["message"]["author"] == {"kind": "agent", "id": olga["id"],
                                            "name": "Ольга", "active": True}
    assert context["message"]["body_text"] == "Вернём разницу."
    assert context["references"] == ["<ask-1@mail.example>"]
    assert context["first_message"]["message_id"] == "<ask-1@mail.example>"
    assert context["customer"]["email"] == "anna@mail.example"
