"""Pooled connections to a PostgreSQL reached over TLS, as a database on another machine often
is: a throwaway cluster of the installed PostgreSQL, with a certificate of its own."""
import glob
import os
import shutil
import subprocess
import tempfile

import eventlet
import pytest
from sqlalchemy import event, text

from helpdesk.database import green_psycopg, make_engine
from tests.integration.test_database import dropped_connection_is_replaced
from tests.mail import free_port


def _as_postgres(command):
    """initdb and pg_ctl refuse root: as root the cluster is the postgres user's."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@pytest.fixture(scope="module")
def tls_postgres():
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
    home = tempfile.mkdtemp(prefix="helpdesk-tls-pg-")
    os.chmod(home, 0o755)
    subprocess.run(["openssl", "req", "-new", "-x509", "-days", "1", "-nodes",
                    "-subj", "/CN=localhost", "-keyout", f"{home}/server.key",
                    "-out", f"{home}/server.crt"], check=True, capture_output=True)
    os.chmod(f"{home}/server.key", 0o600)
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
        for name in ("server.key", "server.crt"):
            shutil.chown(f"{home}/{name}", "postgres")
    port = free_port()
    subprocess.run(_as_postgres([f"{binaries}/initdb", "-D", f"{home}/data", "-A", "trust",
                                 "-U", "postgres"]), check=True, capture_output=True)
    options = (f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c ssl=on "
               f"-c ssl_cert_file={home}/server.crt -c ssl_key_file={home}/server.key")
    subprocess.run(_as_postgres([f"{binaries}/pg_ctl", "-D", f"{home}/data", "-l",
                                 f"{home}/log", "-o", options, "-w", "start"]),
                   check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=require"
    finally:
        subprocess.run(_as_postgres([f"{binaries}/pg_ctl", "-D", f"{home}/data", "-m",
                                     "immediate", "stop"]), capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def test_pooled_tls_connections_are_kept_across_calls(tls_postgres):
    """What TLS sends of its own (TLS 1.3's session tickets after the handshake) must not pass
    for the server's goodbye at checkout, or every call would open a new connection."""
    green_psycopg()
    engine = make_engine(tls_postgres, 2)
    opened = []
    event.listen(engine, "connect", lambda *args: opened.append(1))
    try:
        with engine.connect() as first:
            assert first.scalar(text("SELECT ssl FROM pg_stat_ssl "
                                     "WHERE pid = pg_backend_pid()")) is True

        def call(_):
            with engine.connect() as connection:
                return connection.scalar(text("SELECT pg_backend_pid()"))

        # two at a time: the pool's two connections, never one of overflow (closed on return)
        backends = set(eventlet.GreenPool(2).imap(call, range(200)))
        assert len(opened) <= 2 and len(backends) <= 2
    finally:
        engine.dispose()


def test_a_tls_connection_the_server_dropped_is_replaced_at_checkout(tls_postgres):
    dropped_connection_is_replaced(tls_postgres)
