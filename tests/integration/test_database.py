"""psycopg2 under eventlet, as every service process runs it."""
import socket

import eventlet
import psycopg2
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from helpdesk.database import close, green_psycopg, make_engine


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
