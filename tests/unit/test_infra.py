"""helpdesk.infra: the decisions it makes from URLs and command output, how it runs commands,
and, against this machine's real servers, that it stays quiet when everything is up."""
import binascii
import os
import shutil
import socket
import subprocess
import time

import pytest

from helpdesk import config, infra
from helpdesk.infra import Endpoint, InfrastructureUnavailable


# --- DATABASE_URL ---------------------------------------------------------------------------

def test_database_url_parts():
    target = infra.parse_database_url("postgresql://helpdesk:helpdesk@127.0.0.1:5432/helpdesk")
    assert (target.host, target.port, target.user, target.password, target.dbname) == \
        ("127.0.0.1", 5432, "helpdesk", "helpdesk", "helpdesk")
    assert target.connect_kwargs() == {"host": "127.0.0.1", "port": 5432, "user": "helpdesk",
                                       "password": "helpdesk", "dbname": "helpdesk"}


def test_database_url_defaults_to_the_projects_url():
    assert infra.parse_database_url("") == infra.parse_database_url(infra.DEFAULT_DATABASE_URL)
    assert infra.parse_database_url(None).dbname == "helpdesk"


def test_database_url_with_driver_and_without_port_or_database():
    target = infra.parse_database_url("postgresql+psycopg2://alice@db.example.com")
    assert (target.host, target.port, target.user, target.password, target.dbname) == \
        ("db.example.com", 5432, "alice", "", "alice")
    assert "password" not in target.connect_kwargs()


def test_database_url_percent_encoding_is_undone():
    target = infra.parse_database_url("postgresql://us%40er:p%3Aw%2Fd%40@localhost:6543/my%20db")
    assert (target.user, target.password, target.dbname, target.port) == \
        ("us@er", "p:w/d@", "my db", 6543)


def test_database_url_socket_directory_in_query_and_libpq_options():
    target = infra.parse_database_url(
        "postgresql://helpdesk@/helpdesk?host=/var/run/postgresql&sslmode=disable")
    assert target.host == "/var/run/postgresql"
    assert target.connect_kwargs()["sslmode"] == "disable"
    assert "host" not in target.options


def test_database_url_without_host_means_the_default_socket():
    target = infra.parse_database_url("postgresql:///helpdesk")
    assert target.host == ""
    assert "host" not in target.connect_kwargs()


def test_database_url_must_be_postgresql():
    with pytest.raises(InfrastructureUnavailable, match="postgresql://"):
        infra.parse_database_url("mysql://root:secret@localhost/x")


# --- Local or not -------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["", None, "127.0.0.1", "127.0.1.1", "localhost", "LOCALHOST",
                                  "::1", "[::1]", "/var/run/postgresql"])
def test_local_hosts(host):
    assert infra.is_local_host(host)


@pytest.mark.parametrize("host", ["10.0.0.5", "db.example.com", "192.168.1.10", "::2",
                                  "localhost.example.com"])
def test_remote_hosts(host):
    assert not infra.is_local_host(host)


def test_ipv6_loopback_url_is_local():
    assert infra.is_local_host(infra.parse_database_url("postgresql://u:p@[::1]:5432/d").host)


# --- AMQP and management URLs --------------------------------------------------------------

def test_amqp_uri_endpoint():
    assert infra.parse_amqp_uri("pyamqp://guest:guest@127.0.0.1:5672/") == \
        Endpoint("127.0.0.1", 5672)
    assert infra.parse_amqp_uri("amqp://rabbit.example.com") == Endpoint("rabbit.example.com",
                                                                         5672)
    assert infra.parse_amqp_uri("amqps://rabbit.example.com/") == Endpoint("rabbit.example.com",
                                                                           5671)
    assert infra.parse_amqp_uri(None) == Endpoint("127.0.0.1", 5672)


def test_management_url_keeps_credentials_out_of_the_url():
    target = infra.parse_management_url("http://guest:gu%40st@127.0.0.1:15672/")
    assert target.base_url == "http://127.0.0.1:15672"
    assert target.auth == ("guest", "gu@st")
    assert target.endpoint == Endpoint("127.0.0.1", 15672)


def test_management_url_without_credentials_or_port():
    target = infra.parse_management_url("https://rabbit.example.com/mgmt")
    assert (target.base_url, target.auth, target.endpoint) == \
        ("https://rabbit.example.com/mgmt", None, Endpoint("rabbit.example.com", 443))


# --- Messages -----------------------------------------------------------------------------

def test_redact_hides_only_the_password():
    assert infra.redact("postgresql://helpdesk:s3cret@db:5432/helpdesk") == \
        "postgresql://helpdesk:***@db:5432/helpdesk"
    assert infra.redact("pyamqp://guest:guest@127.0.0.1:5672/") == \
        "pyamqp://guest:***@127.0.0.1:5672/"
    assert infra.redact("postgresql://helpdesk@db/helpdesk") == \
        "postgresql://helpdesk@db/helpdesk"


def test_tail_keeps_the_last_non_empty_lines_on_one_line():
    assert infra.tail("a\n\n  b  \nc\nd\n", lines=3) == "b | c | d"
    assert infra.tail("") == ""


# --- pg_lsclusters --------------------------------------------------------------------------

def test_parse_clusters():
    listing = (
        "15  main    5432 online postgres /var/lib/postgresql/15/main "
        "/var/log/postgresql/postgresql-15-main.log\n"
        "16  spare   5433 down   pgadmin  /srv/pg/16/spare /var/log/postgresql/x.log\n"
        "14  replica 5434 online,recovery postgres /var/lib/postgresql/14/replica <unknown>\n"
        "\n"
        "Ver Cluster Port Status Owner Data directory Log file\n"
    )
    clusters = infra.parse_clusters(listing)
    assert [(c.version, c.name, c.port, c.owner) for c in clusters] == [
        ("15", "main", 5432, "postgres"), ("16", "spare", 5433, "pgadmin"),
        ("14", "replica", 5434, "postgres")]
    assert [c.running for c in clusters] == [True, False, True]
    assert str(clusters[1]) == "16/spare on port 5433 (down)"


def test_parse_clusters_of_nothing():
    assert infra.parse_clusters("") == []


# --- psql variables -------------------------------------------------------------------------

def test_psql_set_escapes_quotes_backslashes_and_newlines():
    assert infra.psql_set("pw", "plain") == "\\set pw 'plain'"
    assert infra.psql_set("pw", "it's") == "\\set pw 'it''s'"
    assert infra.psql_set("pw", "a\\b") == "\\set pw 'a\\\\b'"
    assert infra.psql_set("pw", "two\nlines") == "\\set pw 'two\\nlines'"


def _local_cluster_as_superuser():
    if os.geteuid() != 0 or not shutil.which("runuser") or not shutil.which("psql"):
        return False
    return subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-X", "-d", "postgres",
                           "-c", "select 1"], capture_output=True, cwd="/",
                          timeout=20).returncode == 0


@pytest.mark.skipif(not _local_cluster_as_superuser(),
                    reason="needs root and a local PostgreSQL to run psql as postgres")
def test_psql_set_round_trips_through_real_psql():
    value = "p'w\\x \"q\" é :x $1 \\gexec"
    script = infra.psql_set("v", value) + "\nSELECT encode(convert_to(:'v', 'UTF8'), 'hex');\n"
    _, output = infra.run_command(["runuser", "-u", "postgres", "--", "psql", "-X", "-A", "-t",
                            "-v", "ON_ERROR_STOP=1", "-d", "postgres"],
                           timeout=20, input=script, cwd="/")
    assert binascii.unhexlify(output.strip()).decode() == value


# --- Running commands -----------------------------------------------------------------------

def test_run_returns_the_output():
    assert infra.run_command(["sh", "-c", "echo hello"], timeout=10) == (0, "hello\n")


def test_run_passes_input():
    assert infra.run_command(["cat"], timeout=10, input="abc")[1] == "abc"


def test_run_failure_names_the_command_and_its_stderr():
    with pytest.raises(InfrastructureUnavailable) as error:
        infra.run_command(["sh", "-c", "echo noise; echo it broke >&2; exit 3"], timeout=10)
    assert "`sh -c echo noise; echo it broke >&2; exit 3`" in str(error.value)
    assert "exit status 3" in str(error.value)
    assert str(error.value).endswith("it broke")


def test_run_without_check_returns_the_status():
    assert infra.run_command(["sh", "-c", "exit 4"], timeout=10, check=False)[0] == 4


def test_run_gives_up_after_the_timeout():
    started = time.monotonic()
    with pytest.raises(InfrastructureUnavailable, match="did not finish within 1 s"):
        infra.run_command(["sleep", "30"], timeout=1)
    assert time.monotonic() - started < 10


def test_run_does_not_wait_for_a_daemon_the_command_leaves_behind():
    # What pg_ctlcluster start and rabbitmq-server -detached do: exit, leaving a child that
    # still has the command's stdout and stderr.
    started = time.monotonic()
    assert infra.run_command(["sh", "-c", "sleep 20 & echo started"], timeout=15)[1] == "started\n"
    assert time.monotonic() - started < 5


def test_run_of_a_missing_command():
    with pytest.raises(InfrastructureUnavailable, match="could not run `no-such-command-x`"):
        infra.run_command(["no-such-command-x"], timeout=5)


def test_port_open():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert infra.port_open(Endpoint("127.0.0.1", port))
    assert not infra.port_open(Endpoint("127.0.0.1", port))


def test_wait_until_gives_up():
    started = time.monotonic()
    assert not infra._wait_until(lambda: False, 0.3, interval=0.05)
    assert time.monotonic() - started < 2
    assert infra._wait_until(lambda: True, 0)


# --- Remote servers are not ours to install ------------------------------------------------

def test_remote_postgres_is_reported_not_installed():
    with pytest.raises(InfrastructureUnavailable) as error:
        infra.ensure_postgres("postgresql://helpdesk:s3cret@db.example.invalid:5432/helpdesk",
                              say=pytest.fail)
    message = str(error.value)
    assert "postgresql://helpdesk:***@db.example.invalid:5432/helpdesk" in message
    assert "s3cret" not in message
    assert "nothing was installed" in message


def test_remote_rabbitmq_is_reported_not_installed():
    with pytest.raises(InfrastructureUnavailable) as error:
        infra.ensure_rabbitmq("pyamqp://guest:s3cret@rabbit.example.invalid:5672/",
                              "http://guest:s3cret@rabbit.example.invalid:15672",
                              say=pytest.fail)
    message = str(error.value)
    assert "rabbit.example.invalid" in message and "s3cret" not in message
    assert "nothing was installed" in message


# --- This machine ---------------------------------------------------------------------------

def test_ensure_all_is_quiet_and_quick_when_everything_runs():
    said = []
    started = time.monotonic()
    infra.ensure_all(config.load(), say=said.append)
    assert said == []
    assert time.monotonic() - started < 5
