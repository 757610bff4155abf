"""The database dependency provider: one SQLAlchemy engine per container, a session per worker."""
import logging
import os
import weakref

from eventlet import patcher
from nameko.extensions import DependencyProvider
from sqlalchemy import MetaData, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from helpdesk.config import DATABASE_URL

log = logging.getLogger(__name__)


def schema_metadata(schema):
    """The metadata of one service's schema, with constraint names Alembic can rely on."""
    return MetaData(schema=schema, naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })


def with_driver(url):
    """The URL with psycopg2 named as its driver. A bare postgresql:// URL (what admins
    write) means psycopg 3 to SQLAlchemy 2.1, which does not work under eventlet."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed


def make_engine(url, pool_size=10, name="helpdesk"):
    # The name shows in pg_stat_activity: ops (and a test stuck on a lock) see whose it is.
    # values_plus_batch: the ORM's UPDATEs of many rows (a batch's SLA clocks, say) go in
    # pages of statements (psycopg2's execute_batch), not one round trip a row. An INSERT run
    # with many rows as parameters goes as one statement of many VALUES, except an INSERT ...
    # ON CONFLICT without RETURNING, which goes a statement a row: ours carry RETURNING.
    engine = create_engine(with_driver(url), pool_size=pool_size, max_overflow=pool_size,
                           future=True, executemany_mode="values_plus_batch",
                           connect_args={"application_name": f"{name} (pid {os.getpid()})"[:63]})
    event.listen(engine, "checkout", _refuse_if_gone)
    event.listen(engine, "checkin", _back_to_transactions)
    return engine


# A pooled connection's socket says without a round trip whether PostgreSQL has let it go:
# an idle connection is sent nothing, so anything to read is the server's goodbye (a restart
# or pg_terminate_backend sends a FATAL message and closes it). SQLAlchemy's pre-ping asked
# with a SELECT 1 before every checkout: a round trip on each call, a fifth of what a
# one-statement read cost. Raising DisconnectionError makes the pool replace the connection
# and try again, so a PostgreSQL restart still costs a failed checkout, not a failed request.
# Over TLS too: what TLS sends of its own after the handshake (TLS 1.3's session tickets) is
# read with the first answer (tests/integration/test_database_tls.py).
_unpatched_select = patcher.original("select")  # eventlet's green select has no poll()


def _refuse_if_gone(dbapi_connection, record, proxy):
    if dbapi_connection.closed:
        raise exc.DisconnectionError("the connection was closed")
    readable = _unpatched_select.poll()
    readable.register(dbapi_connection.fileno(), _unpatched_select.POLLIN)
    if readable.poll(0):
        raise exc.DisconnectionError("PostgreSQL closed the connection")


def reads_only(method):
    """Mark an entrypoint whose work is reading: its session runs each statement in a
    transaction of its own (autocommit), sparing the BEGIN and ROLLBACK round trips. At READ
    COMMITTED, which every service uses, each statement takes its own snapshot inside a
    transaction too, so a read sees nothing different. Writes there would commit at once."""
    method.reads_only = True
    return method


def outside_transactions(connection):
    """Run a Connection's statements each in a transaction of its own, as reads_only does for
    a worker; called before its first statement. Its connection goes back to the pool
    transactional."""
    connection.connection.dbapi_connection.autocommit = True


def _without_transactions(session, transaction, connection):
    """When a reading worker's session takes its connection, before its first statement (and
    so before psycopg2 would send BEGIN)."""
    if session.info.get("reads_only"):
        outside_transactions(connection)


def _back_to_transactions(dbapi_connection, record):
    """A connection a reading worker had goes back to the pool transactional again."""
    if dbapi_connection is not None and not dbapi_connection.closed:
        dbapi_connection.autocommit = False


def per_transaction(session, name):
    """A dict kept with the session for its current outermost transaction only: what one
    transaction read once (a batch of mails shares it), forgotten when the next begins."""
    kept = session.info.get(name)
    if kept is None or kept[0] is not session.get_transaction():
        kept = session.info[name] = (session.get_transaction(), {})
    return kept[1]


def green_psycopg():
    """Make psycopg2 yield to eventlet while it waits for PostgreSQL, if eventlet is patched."""
    if patcher.is_monkey_patched("socket"):
        from psycopg2 import extensions
        extensions.set_wait_callback(wait_for_postgres)


# Actions to run the moment a statement has gone out on a connection (see when_sent).
_on_sent = {}


def when_sent(dbapi_connection, action):
    """Run `action` as soon as the next statement on this psycopg2 connection has been
    written to PostgreSQL, before its answer is awaited — without yielding in between. The
    notify senders use it to put COMMIT and an SMTP end of DATA on the wire back to back.
    Only the green wait callback runs it: the caller checks whether it ran."""
    _on_sent[dbapi_connection] = action


def forget_sent(dbapi_connection):
    _on_sent.pop(dbapi_connection, None)


# psycopg2's connection states while a connection is being set up (not exported by psycopg2).
CONNECTING_STATES = {0, 20, 21}  # SETUP, CONNECTING, DATESTYLE


def wait_for_postgres(connection, timeout=-1):
    """psycogreen's wait callback, plus one thing: libpq opens its socket behind eventlet's
    back, so while connecting we tell the hub the descriptor is new. Otherwise a greenlet
    still parked on a closed socket that had the same number makes eventlet refuse the wait
    ("Second simultaneous read on fileno N")."""
    from eventlet.hubs import get_hub, trampoline
    from psycopg2 import OperationalError, extensions
    while True:
        state = connection.poll()
        if state == extensions.POLL_OK:
            return
        if connection.status in CONNECTING_STATES:  # libpq may open a new socket per attempt
            get_hub().mark_as_reopened(connection.fileno())
        if state == extensions.POLL_READ:
            action = _on_sent.pop(connection, None)  # the statement is all on the wire
            if action is not None:
                action()
            trampoline(connection.fileno(), read=True)
        elif state == extensions.POLL_WRITE:
            trampoline(connection.fileno(), write=True)
        else:
            raise OperationalError(f"Bad result from poll: {state!r}")


class Database(DependencyProvider):
    """Gives each worker its own `Session`, closed (and so rolled back if not committed)
    when the worker ends. Domain code commits explicitly."""

    def __init__(self):
        self.sessions = weakref.WeakKeyDictionary()

    def setup(self):
        green_psycopg()
        config = self.container.config
        self.engine = make_engine(config[DATABASE_URL], int(config.get("max_workers", 10)),
                                  f"helpdesk {self.container.service_name}")
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self.sessionmaker, "after_begin", _without_transactions)

    def stop(self):
        self.engine.dispose()

    def kill(self):
        self.engine.dispose()

    def get_dependency(self, worker_ctx):
        session = self.sessionmaker()
        self.sessions[worker_ctx] = session
        entrypoint = getattr(worker_ctx.service, worker_ctx.entrypoint.method_name, None)
        session.info["reads_only"] = getattr(entrypoint, "reads_only", False)
        return session

    def worker_teardown(self, worker_ctx):
        session = self.sessions.pop(worker_ctx, None)
        if session is not None:
            close(session)


def close(session):
    """Close a worker's session. Its rollback fails when PostgreSQL dropped the connection
    (a restart): an error raised here, in a worker's teardown, would kill the container and
    the process with it, so the connection is discarded instead."""
    try:
        session.close()
    except Exception as error:
        log.warning("closing a session failed (%s); its connection is discarded",
                    str(error).splitlines()[0])
        try:
            session.invalidate()
        except Exception:
            log.exception("discarding the connection of a session failed")
