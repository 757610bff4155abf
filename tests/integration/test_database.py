"""psycopg2 under eventlet, as every service process runs it."""
import socket

import eventlet
import psycopg2
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from helpdesk.database import Database, close, green_psycopg, make_engine, reads_only
from helpdesk.rpc import ClusterRpcProxy, rpc


def test_a_connection_can_reuse_the_descriptor_of_a_socket_closed_under_a_waiting_greenlet(
        database_url):
    """A greenlet parked on a socket that another closes keeps eventlet's listener on its
    descriptor; libpq, opening its socket without eventlet knowing, may get that number next.
    The connection must still work (it failed with "Second simultaneous read on fileno N")."""
    green_psycopg()
    parked, peer = socket.socketpair()

    def wait_on_parked():
        try:
            return parked.recv(1)
        except EOFError:  # how eventlet tells a reader its descriptor was recycled
            return "told the socket is gone"

    waiter = eventlet.spawn(wait_on_parked)
    eventlet.sleep(0)  # the waiter now waits on parked's descriptor
    freed = parked.fileno()
    parked.close()
    dsn = make_url(database_url).render_as_string(False)
    connection = psycopg2.connect(dsn)
    try:
        assert connection.fileno() == freed  # the case under test: the number came back
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
        assert waiter.wait() == "told the socket is gone"
    finally:
        connection.close()
        peer.close()


def test_an_action_can_go_out_right_after_a_statement_before_its_answer(database_url):
    """when_sent: the notify senders write an SMTP end of DATA right behind their COMMIT."""
    import time

    from helpdesk.database import when_sent
    green_psycopg()
    connection = psycopg2.connect(make_url(database_url).render_as_string(False))
    try:
        ran_at = []
        when_sent(connection, lambda: ran_at.append(time.monotonic()))
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(0.3)")
        answered_at = time.monotonic()
        assert len(ran_at) == 1 and answered_at - ran_at[0] > 0.25
        with connection.cursor() as cursor:  # once only
            cursor.execute("SELECT 1")
        assert len(ran_at) == 1
    finally:
        connection.close()


def test_a_worker_session_whose_connection_the_server_dropped_closes_quietly(database_url):
    """PostgreSQL restarting under a worker: closing its session (in the worker's teardown)
    must not raise, or nameko kills the whole service container."""
    engine = make_engine(database_url, 2)
    try:
        session = sessionmaker(engine)()
        pid = session.scalar(text("SELECT pg_backend_pid()"))  # a transaction is open
        with engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        close(session)
        with engine.connect() as fresh:  # the dropped connection was not returned to the pool
            assert fresh.scalar(text("SELECT 1")) == 1
    finally:
        engine.dispose()


def test_a_pooled_connection_the_server_dropped_while_idle_is_replaced_at_checkout(database_url):
    """A PostgreSQL restart ends every pooled connection: the next call must get a live one,
    not fail on the dead one (the pool asks the socket, without a round trip)."""
    dropped_connection_is_replaced(database_url)


def dropped_connection_is_replaced(database_url):
    engine, admin = make_engine(database_url, 1), make_engine(database_url, 1)
    try:
        with engine.connect() as first:
            dropped = first.scalar(text("SELECT pg_backend_pid()"))
        with admin.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})
            while other.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                               {"pid": dropped}):
                eventlet.sleep(0.01)
        with engine.connect() as after:
            assert after.scalar(text("SELECT pg_backend_pid()")) not in (dropped, None)
    finally:
        engine.dispose()
        admin.dispose()


class Ledger:
    """Whether a worker's statements ran in a transaction: in one, now() is when it began."""
    name = "ledger"
    db = Database()

    def _in_a_transaction(self):
        self.db.execute(text("SELECT pg_sleep(0.02)"))
        return self.db.scalar(text("SELECT pg_backend_pid()")), \
            self.db.scalar(text("SELECT now() <> statement_timestamp()"))

    @rpc
    @reads_only
    def read(self):
        return self._in_a_transaction()

    @rpc
    def write(self):
        return self._in_a_transaction()


def test_a_reading_entrypoint_runs_without_a_transaction_and_its_connection_goes_back_with_one(
        container_factory, config):
    container_factory(Ledger, {**config, "max_workers": 1}).start()
    with ClusterRpcProxy({"AMQP_URI": config["AMQP_URI"]}, timeout=10) as cluster:
        read_on, read_in_transaction = cluster.ledger.read()
        write_on, write_in_transaction = cluster.ledger.write()
    assert read_on == write_on  # the same pooled connection, handed on
    assert (read_in_transaction, write_in_transaction) == (False, True)
