"""ingest_message in a real nameko container on RabbitMQ and PostgreSQL."""
import eventlet
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import func, select

from helpdesk import contract
from services.tickets.models import Message, Ticket
from services.tickets.service import TicketsService
from tests import fixtures

INGEST = contract.system("ingest")


def mail(message_id, **extra):
    return {"message_id": message_id, "from_address": "anna@mail.example", "from_name": "Анна",
            "to": ["support@isp.example"], "subject": "Нет интернета",
            "body_text": "С утра нет подключения", **extra}


def start_replicas(container_factory, config, count):
    containers = [container_factory(TicketsService, config) for _ in range(count)]
    for container in containers:
        container.start()
    return containers


def count_messages(db, message_id):
    db.rollback()
    return db.scalar(select(func.count()).select_from(Message)
                     .where(Message.message_id == message_id))


def test_same_message_id_twice_leaves_one_message(container_factory, config, db):
    fixtures.department(db, "First line", ["support@isp.example"])
    start_replicas(container_factory, config, 1)
    with ClusterRpcProxy(config) as rpc:
        first = rpc.tickets.ingest_message(INGEST, mail("<a1@mail.example>"))
        second = rpc.tickets.ingest_message(INGEST, mail("<a1@mail.example>"))
    assert first["created_ticket"] and not first["duplicate"]
    assert second == {**first, "created_ticket": False, "duplicate": True}
    assert count_messages(db, "<a1@mail.example>") == 1
    assert db.scalar(select(func.count()).select_from(Ticket)) == 1


def test_concurrent_callers_on_two_replicas_leave_one_message(container_factory, config, db):
    fixtures.department(db, "First line", ["support@isp.example"])
    start_replicas(container_factory, config, 2)
    pool = eventlet.GreenPool()

    def deliver(_):
        with ClusterRpcProxy(config) as rpc:
            return rpc.tickets.ingest_message(INGEST, mail("<race@mail.example>"))

    results = list(pool.imap(deliver, range(8)))
    assert len({r["ticket_id"] for r in results}) == 1
    assert sum(not r["duplicate"] for r in results) == 1
    assert count_messages(db, "<race@mail.example>") == 1
    assert db.scalar(select(func.count()).select_from(Ticket)) == 1


def test_answer_lands_on_the_same_ticket_and_reopens_it(container_factory, config, db):
    fixtures.department(db, "First line", ["support@isp.example"])
    start_replicas(container_factory, config, 1)
    with ClusterRpcProxy(config) as rpc:
        first = rpc.tickets.ingest_message(INGEST, mail("<q1@mail.example>"))
        rpc.tickets.update_ticket(INGEST, first["ticket_id"], {"status": "resolved"})
        answer = rpc.tickets.ingest_message(INGEST, mail(
            "<q2@mail.example>", subject="Re: Нет интернета",
            in_reply_to="<q1@mail.example>"))
        ticket = rpc.tickets.get_ticket(INGEST, first["ticket_id"])
    assert answer["ticket_id"] == first["ticket_id"] and not answer["created_ticket"]
    assert ticket["status"] == "open"
    assert [m["message_id"] for m in ticket["messages"]] == ["<q1@mail.example>",
                                                             "<q2@mail.example>"]


def test_mail_to_an_address_no_department_receives_is_refused(container_factory, config, db):
    start_replicas(container_factory, config, 1)
    with ClusterRpcProxy(config) as rpc:
        try:
            rpc.tickets.ingest_message(INGEST, mail("<lost@mail.example>"))
        except Exception as error:  # the registered class comes back, not a RemoteError
            assert error.code == "NO_DEPARTMENT"
        else:
            raise AssertionError("a mail without a department was accepted")
    assert count_messages(db, "<lost@mail.example>") == 0


def test_events_are_published_after_commit(container_factory, config, db, rabbit_config):
    from nameko.events import event_handler

    received = []

    class Listener:
        name = "listener"

        @event_handler("tickets", contract.TICKET_CREATED)
        def created(self, payload):
            received.append(payload)

    listener = container_factory(Listener, config)
    listener.start()
    fixtures.department(db, "First line", ["support@isp.example"])
    start_replicas(container_factory, config, 1)
    with ClusterRpcProxy(config) as rpc:
        result = rpc.tickets.ingest_message(INGEST, mail("<ev@mail.example>"))
    for _ in range(100):
        if received:
            break
        eventlet.sleep(0.05)
    assert [p["ticket"]["id"] for p in received] == [result["ticket_id"]]
    assert received[0]["event_id"]


def test_a_batch_answers_each_mail_and_a_refused_one_takes_no_other_down(container_factory,
                                                                         config, db):
    fixtures.department(db, "First line", ["support@isp.example"])
    start_replicas(container_factory, config, 1)
    batch = [mail("<b1@mail.example>"), mail("<b2@mail.example>", to=["nobody@else.example"]),
             mail("<b3@mail.example>", in_reply_to="<b1@mail.example>"),
             mail("<b1@mail.example>")]
    with ClusterRpcProxy(config) as rpc:
        outcomes = rpc.tickets.ingest_messages(INGEST, batch)
    first, refused, answer, again = outcomes
    assert first["result"]["created_ticket"]
    assert refused == {"error": {"error": "NO_DEPARTMENT", "field": "to", "message":
                                 "no department receives mail at any recipient address"}}
    assert answer["result"]["ticket_id"] == first["result"]["ticket_id"]
    assert not answer["result"]["created_ticket"]
    assert again["result"] == {**first["result"], "created_ticket": False, "duplicate": True}
    assert count_messages(db, "<b1@mail.example>") == 1
    assert count_messages(db, "<b2@mail.example>") == 0
    assert count_messages(db, "<b3@mail.example>") == 1
    assert db.scalar(select(func.count()).select_from(Ticket)) == 1


def test_a_whole_batch_knows_what_is_stored_and_who_wrote_before(container_factory, config, db):
    """A batch nobody refuses reads its locks, stored messages and senders once; what an
    earlier mail of the same batch stored counts as stored for the later ones."""
    fixtures.department(db, "First line", ["support@isp.example"])
    start_replicas(container_factory, config, 1)
    with ClusterRpcProxy(config) as rpc:
        before = rpc.tickets.ingest_message(INGEST, mail("<w0@mail.example>"))
        outcomes = rpc.tickets.ingest_messages(INGEST, [
            mail("<w1@mail.example>", from_address="New.Person@mail.example"),
            mail("<w0@mail.example>"),
            mail("<w2@mail.example>", in_reply_to="<w1@mail.example>",
                 from_address="new.person@MAIL.example"),
            mail("<w1@mail.example>", from_address="New.Person@mail.example"),
            mail("<w3@mail.example>", from_address="ANNA@mail.example")])
    new, stored, answer, again, known = [outcome["result"] for outcome in outcomes]
    assert new["created_ticket"] and not new["duplicate"]
    assert stored == {**before, "created_ticket": False, "duplicate": True}
    assert answer["ticket_id"] == new["ticket_id"] and not answer["created_ticket"]
    assert again == {**new, "created_ticket": False, "duplicate": True}
    assert known["created_ticket"]
    # numbers reserved for the new tickets: no gap among those agents see
    assert [before["ticket_id"] + 1, before["ticket_id"] + 2] == \
        [new["ticket_id"], known["ticket_id"]]
    db.rollback()
    tickets = {ticket.id: ticket for ticket in db.scalars(select(Ticket))}
    assert tickets[new["ticket_id"]].customer_id != tickets[before["ticket_id"]].customer_id
    assert tickets[known["ticket_id"]].customer_id == tickets[before["ticket_id"]].customer_id
    assert db.scalar(select(func.count()).select_from(Message)) == 4


def test_concurrent_batches_of_the_same_mails_on_two_replicas_store_each_once(
        container_factory, config, db):
    fixtures.department(db, "First line", ["support@isp.example"])
    start_replicas(container_factory, config, 2)
    batch = [mail(f"<c{number}@mail.example>") for number in range(10)]

    def hand_over(turn):
        with ClusterRpcProxy(config) as rpc:  # each caller in its own order
            return rpc.tickets.ingest_messages(INGEST, batch[turn % 10:] + batch[:turn % 10])

    results = [outcome["result"] for outcomes in eventlet.GreenPool().imap(hand_over, range(6))
               for outcome in outcomes]
    assert sum(result["created_ticket"] for result in results) == 10
    assert db.scalar(select(func.count()).select_from(Message)) == 10
    assert db.scalar(select(func.count()).select_from(Ticket)) == 10


def test_a_batch_makes_customers_of_new_senders_but_not_of_robots_it_ignores(
        container_factory, config, db):
    from services.tickets.models import Customer

    fixtures.department(db, "First line", ["support@isp.example"])
    start_replicas(container_factory, config, 1)
    with ClusterRpcProxy(config) as rpc:
        outcomes = rpc.tickets.ingest_messages(INGEST, [
            mail("<r1@mail.example>", from_address="Vera@mail.example", from_name="Вера"),
            mail("<r2@mail.example>", from_address="vera@MAIL.example", from_name=""),
            mail("<r3@mail.example>", from_address="robot@mail.example", auto_reply=True)])
    first, second, robot = [outcome["result"] for outcome in outcomes]
    assert first["created_ticket"] and second["created_ticket"]
    assert robot["ignored"]
    db.rollback()
    assert [(c.email, c.name) for c in db.scalars(select(Customer))] == \
        [("Vera@mail.example", "Вера")]
