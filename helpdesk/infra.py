"""Makes sure the PostgreSQL and RabbitMQ the help desk needs are running, for `helpdesk up`
and `helpdesk test`.

When both already answer, this costs a connection to each and prints nothing. Otherwise, for
servers on this machine, it does what a developer would do by hand on Debian: install the
package, create/start the cluster or node, create the role and database, enable RabbitMQ's
management plugin. It never installs or starts anything for a server on another host. It does
not rely on systemd (containers and CI machines usually have none): clusters are started with
pg_ctlcluster, the broker with `rabbitmq-server -detached`.

Every external command has a time limit; every failure becomes InfrastructureUnavailable, whose
message says what is missing and what was tried.
"""
import getpass
import glob
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

import psycopg2
import requests
from kombu import Connection

from helpdesk.config import AMQP_URI, DATABASE_URL, RABBIT_MANAGEMENT_URL

DEFAULT_DATABASE_URL = "postgresql://helpdesk:helpdesk@127.0.0.1:5432/helpdesk"
DEFAULT_AMQP_URI = "pyamqp://guest:guest@127.0.0.1:5672/"
DEFAULT_MANAGEMENT_URL = "http://guest:guest@127.0.0.1:15672"

POSTGRES_START_SECONDS = 30
RABBITMQ_START_SECONDS = 60
LOGIN_GRACE_SECONDS = 10  # a server whose port just opened may still refuse logins briefly

# Forcing a UTF-8 locale on the commands that create a cluster: a fresh machine often has no
# locale at all, and initdb would then make an SQL_ASCII cluster that cannot store tickets in
# most languages (or fail outright on a LANG whose locale was never generated).
UTF8_ENV = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive", **UTF8_ENV}

# runuser, rabbitmq-server, rabbitmqctl live in sbin, which a non-login shell's or sudo's PATH
# may lack; looking there too avoids reinstalling what is installed.
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin",
                               "/sbin"])


class InfrastructureUnavailable(Exception):
    """PostgreSQL or RabbitMQ cannot be reached and could not be made to run; the message says
    what is missing and what was tried, ready to show to a person as it is."""


# --- Reading the URLs ---------------------------------------------------------------------

@dataclass(frozen=True)
class PostgresTarget:
    host: str  # "" means libpq's default Unix socket; a path means a socket directory
    port: int
    user: str
    password: str
    dbname: str
    options: dict = field(default_factory=dict)  # the URL's query: extra libpq parameters

    def connect_kwargs(self):
        kwargs = dict(self.options, port=self.port, user=self.user, dbname=self.dbname)
        if self.host:
            kwargs["host"] = self.host
        if self.password:
            kwargs["password"] = self.password
        return kwargs


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int


@dataclass(frozen=True)
class ManagementTarget:
    base_url: str  # without credentials, which requests sends as basic auth instead
    auth: tuple  # (user, password), or None
    endpoint: Endpoint


def parse_database_url(url):
    """Read a SQLAlchemy-style URL (postgresql[+driver]://user:password@host:port/dbname?k=v).
    Missing parts get libpq's defaults: port 5432, the OS user, a database named after it."""
    parts = urlsplit(url or DEFAULT_DATABASE_URL)
    if parts.scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise InfrastructureUnavailable(
            f"DATABASE_URL must be a postgresql:// URL, not {redact(url)}.")
    options = dict(parse_qsl(parts.query))
    # SQLAlchemy spells a Unix socket as ?host=/var/run/postgresql; it wins over the netloc.
    host = options.pop("host", None) or parts.hostname or ""
    user = unquote(parts.username) if parts.username else _os_user()
    return PostgresTarget(
        host=host,
        port=int(options.pop("port", None) or parts.port or 5432),
        user=user,
        password=unquote(parts.password or ""),
        dbname=unquote(parts.path.lstrip("/")) or user,
        options=options,
    )


def parse_amqp_uri(uri):
    parts = urlsplit(uri or DEFAULT_AMQP_URI)
    default_port = 5671 if parts.scheme.endswith("s") else 5672  # amqps
    return Endpoint(parts.hostname or "localhost", parts.port or default_port)


def parse_management_url(url):
    parts = urlsplit(url or DEFAULT_MANAGEMENT_URL)
    auth = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
    netloc = parts.netloc.rpartition("@")[2]
    base_url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    default_port = 443 if parts.scheme == "https" else 80
    return ManagementTarget(base_url, auth, Endpoint(parts.hostname or "localhost",
                                                     parts.port or default_port))


def is_local_host(host):
    """True when the host is this machine, so that installing and starting a server here is
    the right fix: empty (libpq's default socket), a socket directory, localhost, loopback."""
    if not host or host.startswith("/") or host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def redact(url):
    """The URL with its password replaced, fit for messages and logs."""
    parts = urlsplit(url or "")
    if not parts.password:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    netloc = f"{userinfo.partition(':')[0]}:***@{hostport}"
    return urlunsplit(parts._replace(netloc=netloc))


def _os_user():
    return getpass.getuser()


# --- Running commands ---------------------------------------------------------------------

def run_command(command, timeout, *, input=None, env=None, cwd=None, check=True):
    """Run a command to completion within `timeout` seconds; return (returncode, stdout).

    Output goes to temporary files, not pipes: daemon starters (pg_ctlcluster,
    rabbitmq-server -detached) leave children behind that would hold a pipe open and make us
    wait for the whole timeout. Each command gets its own session so that a timeout kills the
    command together with everything it started."""
    shown = " ".join(command)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            process = subprocess.Popen(
                command, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                stdout=out, stderr=err, env={**os.environ, "PATH": SEARCH_PATH, **(env or {})},
                cwd=cwd, start_new_session=True)
        except OSError as error:
            raise InfrastructureUnavailable(f"could not run `{shown}`: {error}.") from None
        try:
            process.communicate(input.encode() if input is not None else None, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise InfrastructureUnavailable(
                f"`{shown}` did not finish within {timeout} s{_tail_of(err, out)}") from None
        if check and process.returncode != 0:
            raise InfrastructureUnavailable(
                f"`{shown}` failed with exit status {process.returncode}{_tail_of(err, out)}")
        out.seek(0)
        return process.returncode, out.read().decode(errors="replace")


def _tail_of(*files):
    """The last lines of the first non-empty file, on one line, for an error message."""
    for f in files:
        f.seek(0)
        text = f.read().decode(errors="replace")
        if text.strip():
            return ": " + tail(text)
    return "."


def tail(text, lines=6):
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)


def _file_tail(path, lines=6):
    try:
        with open(path, errors="replace") as f:
            return tail(f.read()[-20000:], lines)
    except OSError:
        return ""


def _wait_until(condition, seconds, interval=0.5):
    deadline = time.monotonic() + seconds
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _installed(*commands):
    return all(shutil.which(command, path=SEARCH_PATH) for command in commands)


def port_open(endpoint, timeout=1.0):
    try:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout):
            return True
    except OSError:
        return False


def _require_root(action):
    """Checked just before the step that needs it, so that a mere wrong password in a URL is
    reported as such to someone who is not root, not as a need for root."""
    if os.geteuid() != 0:
        raise InfrastructureUnavailable(
            f"{action} needs root, and this runs as {_os_user()}; run it once as root "
            "(or with sudo), or start the server yourself.")


_apt_updated = []  # `apt-get update` once per process, even when both servers are installed


def apt_install(package, say):
    if not _installed("apt-get"):
        raise InfrastructureUnavailable(
            f"{package} is not installed and this is not a Debian-like system (no apt-get); "
            "install and start it yourself.")
    _require_root(f"Installing {package}")
    if not _apt_updated:
        say("helpdesk: updating the Debian package lists (apt-get update)")
        run_command(["apt-get", "update", "-q"], timeout=300, env=APT_ENV)
        _apt_updated.append(True)
    say(f"helpdesk: installing {package} from Debian packages (apt-get install -y {package})")
    # Waiting for the dpkg lock, rather than failing, covers an unattended upgrade at boot.
    run_command(["apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=120", package],
         timeout=900, env=APT_ENV)


def ensure_program(path, package, say=print):
    """Install the Debian package that provides `path` when it is missing (the browser the
    web tests drive, say)."""
    if not os.path.exists(path):
        apt_install(package, say)


# --- PostgreSQL ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Cluster:
    version: str
    name: str
    port: int
    status: str
    owner: str

    @property
    def running(self):
        return self.status.startswith("online")

    def __str__(self):
        return f"{self.version}/{self.name} on port {self.port} ({self.status})"


def parse_clusters(listing):
    """Read `pg_lsclusters --no-header`: version, name, port, status, owner, data dir, log."""
    clusters = []
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[2].isdigit():
            clusters.append(Cluster(fields[0], fields[1], int(fields[2]), fields[3], fields[4]))
    return clusters


def postgres_problem(target):
    """None if we can log in as the URL says, else why not."""
    try:
        psycopg2.connect(connect_timeout=3, **target.connect_kwargs()).close()
        return None
    except psycopg2.Error as error:
        return tail(str(error), lines=2).rstrip(".") or type(error).__name__


def ensure_postgres(database_url, say=print):
    """Return quietly if DATABASE_URL works; for a local server, install/create/start the
    cluster and create the role and database first; otherwise raise InfrastructureUnavailable."""
    target = parse_database_url(database_url)
    problem = postgres_problem(target)
    if problem is None:
        return
    shown = redact(database_url or DEFAULT_DATABASE_URL)
    if not is_local_host(target.host):
        raise InfrastructureUnavailable(
            f"Cannot connect to PostgreSQL at {shown}: {problem}. That host is not this machine, "
            "so nothing was installed or started; start that server, or point DATABASE_URL at "
            "one that runs.")
    try:
        _provide_local_postgres(target, say)
    except InfrastructureUnavailable as error:
        raise InfrastructureUnavailable(
            f"Cannot connect to PostgreSQL at {shown} ({problem}), and setting it up on this "
            f"machine failed: {error}") from None
    problem = postgres_problem(target)
    if problem is not None:
        raise InfrastructureUnavailable(
            f"PostgreSQL on this machine runs and has the role {target.user!r} and database "
            f"{target.dbname!r}, but connecting to {shown} still fails: {problem}. If the role "
            "existed before with another password, or pg_hba.conf does not allow password "
            "logins from this address, fix that (or DATABASE_URL) by hand.")


def _provide_local_postgres(target, say):
    if not _postgres_installed():
        apt_install("postgresql", say)
    cluster = _cluster_on_port(target.port, say)
    if not cluster.running:
        _start_cluster(cluster, target, say)
    if not _wait_until(lambda: _postgres_listening(target), POSTGRES_START_SECONDS):
        raise InfrastructureUnavailable(
            f"cluster {cluster} did not accept connections within {POSTGRES_START_SECONDS} s; "
            f"its log says: {_file_tail(_cluster_log(cluster))}")
    _create_role_and_database(cluster, target, say)


def _start_cluster(cluster, target, say):
    _require_root(f"Starting PostgreSQL cluster {cluster.version}/{cluster.name}")
    say(f"helpdesk: starting PostgreSQL cluster {cluster.version}/{cluster.name}")
    try:
        # --skip-systemctl-redirect: the same command works with and without systemd.
        run_command(["pg_ctlcluster", "--skip-systemctl-redirect", cluster.version, cluster.name,
              "start"], timeout=POSTGRES_START_SECONDS + 30)
    except InfrastructureUnavailable:
        # `helpdesk up` and `helpdesk test` started together race to start it; the loser's
        # "Cluster is already running" is no failure.
        if not _postgres_listening(target):
            raise


def _postgres_installed():
    return _installed("pg_lsclusters", "pg_ctlcluster", "psql") and bool(_installed_versions())


def _installed_versions():
    """Server versions with binaries, newest last (postgresql-common without a server is
    what installing only a client leaves behind)."""
    versions = [path.split("/")[4] for path in glob.glob("/usr/lib/postgresql/*/bin/postgres")]
    return sorted(versions, key=lambda v: [int(x) for x in v.split(".") if x.isdigit()])


def _cluster_on_port(port, say):
    """The cluster configured for the URL's port, created if there is no cluster at all. An
    existing cluster on another port is someone's setup: we say so rather than move it."""
    _, listing = run_command(["pg_lsclusters", "--no-header"], timeout=30)
    clusters = parse_clusters(listing)
    for cluster in clusters:
        if cluster.port == port:
            return cluster
    if clusters:
        raise InfrastructureUnavailable(
            f"no PostgreSQL cluster on this machine uses port {port}; there is "
            f"{', '.join(map(str, clusters))}. Put that port in DATABASE_URL, or change the "
            f"cluster's (pg_conftool VERSION NAME set port {port}, then restart it).")
    versions = _installed_versions()
    if not versions:
        raise InfrastructureUnavailable("no PostgreSQL server binaries in /usr/lib/postgresql.")
    version = versions[-1]
    _require_root("Creating a PostgreSQL cluster")
    say(f"helpdesk: creating PostgreSQL cluster {version}/main on port {port}")
    run_command(["pg_createcluster", "--port", str(port), version, "main"], timeout=120, env=UTF8_ENV)
    return Cluster(version, "main", port, "down", "postgres")


def _cluster_log(cluster):
    return f"/var/log/postgresql/postgresql-{cluster.version}-{cluster.name}.log"


def _postgres_listening(target):
    if target.host and not target.host.startswith("/"):
        return port_open(Endpoint(target.host, target.port))
    socket_dir = target.host or "/var/run/postgresql"
    return os.path.exists(f"{socket_dir}/.s.PGSQL.{target.port}")


def psql_set(name, value):
    """A psql `\\set` line giving the variable exactly `value`. Values go in through the script
    on stdin rather than `-v` so that the password does not show in the process list."""
    quoted = value.replace("\\", "\\\\").replace("'", "''").replace("\n", "\\n")
    quoted = quoted.replace("\r", "\\r")
    return f"\\set {name} '{quoted}'"


# :'name' makes psql quote the value as a literal, format(%I/%L) quotes it into SQL. CREATE
# DATABASE cannot run in a function or DO block, hence SELECT ... \gexec.
ROLE_AND_DATABASE_SQL = r"""
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', :'role', NULLIF(:'password', ''))
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
"""


def _create_role_and_database(cluster, target, say):
    """As the cluster's owner over its Unix socket, which works with Debian's default peer
    authentication as well as with trust."""
    _require_root(f"Creating the PostgreSQL role {target.user!r} and database {target.dbname!r}")
    script = "\n".join([psql_set("role", target.user), psql_set("password", target.password),
                        psql_set("db", target.dbname), ROLE_AND_DATABASE_SQL])
    # cwd="/": psql as the postgres user complains when it cannot enter our directory.
    _, output = run_command(["runuser", "-u", cluster.owner, "--", "psql", "--cluster",
                      f"{cluster.version}/{cluster.name}", "-X", "-v", "ON_ERROR_STOP=1",
                      "-d", "postgres"], timeout=60, input=script, cwd="/")
    if "CREATE ROLE" in output:
        say(f"helpdesk: created PostgreSQL role {target.user!r}")
    if "CREATE DATABASE" in output:
        say(f"helpdesk: created PostgreSQL database {target.dbname!r}")


# --- RabbitMQ -----------------------------------------------------------------------------

def amqp_problem(amqp_uri):
    """None if we can log in to the broker as the URI says, else why not."""
    try:
        with Connection(amqp_uri, connect_timeout=3) as connection:
            # interval_start=0: the default first retry comes after 2 s, time wasted when the
            # broker is simply not running.
            connection.ensure_connection(max_retries=1, interval_start=0)
        return None
    except Exception as error:  # kombu and amqp raise many unrelated types: refused, auth...
        return tail(str(error), lines=2).rstrip(".") or type(error).__name__


def management_problem(target):
    """None if the management API answers GET /api/overview, else why not."""
    session = requests.Session()
    # A local broker must not be asked through an HTTP proxy from the environment.
    session.trust_env = not is_local_host(target.endpoint.host)
    try:
        response = session.get(f"{target.base_url}/api/overview", auth=target.auth, timeout=3)
    except requests.RequestException as error:
        return f"nothing answers at {target.base_url} ({type(error).__name__})"
    finally:
        session.close()
    if response.status_code != 200:
        return f"GET {target.base_url}/api/overview answered HTTP {response.status_code}"
    return None


def ensure_rabbitmq(amqp_uri, management_url, say=print):
    """Return quietly if the broker takes logins and its management API answers; for a local
    broker, install/start it and enable the management plugin first; otherwise raise
    InfrastructureUnavailable."""
    amqp_uri = amqp_uri or DEFAULT_AMQP_URI
    management = parse_management_url(management_url)
    problems = [p for p in (amqp_problem(amqp_uri), management_problem(management)) if p]
    if not problems:
        return
    broker = parse_amqp_uri(amqp_uri)
    shown = f"{redact(amqp_uri)} (management API {management.base_url})"
    if not (is_local_host(broker.host) and is_local_host(management.endpoint.host)):
        raise InfrastructureUnavailable(
            f"Cannot use RabbitMQ at {shown}: {'; '.join(problems)}. That host is not this "
            "machine, so nothing was installed or started; start that broker, or point "
            "AMQP_URI and RABBIT_MANAGEMENT_URL at one that runs.")
    try:
        _provide_local_rabbitmq(amqp_uri, broker, management, say)
    except InfrastructureUnavailable as error:
        raise InfrastructureUnavailable(
            f"Cannot use RabbitMQ at {shown} ({'; '.join(problems)}), and setting it up on this "
            f"machine failed: {error}") from None


def _provide_local_rabbitmq(amqp_uri, broker, management, say):
    if not _installed("rabbitmq-server", "rabbitmqctl", "rabbitmq-plugins"):
        apt_install("rabbitmq-server", say)
    if not port_open(broker):
        if _rabbit_node_running():
            _wait_for_booted_node(broker)
        else:
            _start_rabbit(say)
            _wait_for_port(broker, "the AMQP port")
    _wait_for_login(lambda: amqp_problem(amqp_uri), f"logging in to {redact(amqp_uri)}")
    if management_problem(management) is None:
        return
    if not port_open(management.endpoint):
        _require_root("Enabling RabbitMQ's management plugin")
        say("helpdesk: enabling RabbitMQ's management plugin (rabbitmq-plugins enable "
            "rabbitmq_management)")
        run_command(["rabbitmq-plugins", "enable", "rabbitmq_management"], timeout=120, cwd="/")
        _wait_for_port(management.endpoint, "the management API")
    _wait_for_login(lambda: management_problem(management), "the management API")


def _rabbit_node_running():
    returncode, _ = run_command(["rabbitmqctl", "-q", "ping"], timeout=60, cwd="/", check=False)
    return returncode == 0


def _wait_for_booted_node(broker):
    """A node that runs without its AMQP port is booting (e.g. started by the package), or
    listens elsewhere; await_startup tells the two apart without waiting out a timeout."""
    run_command(["rabbitmqctl", "await_startup", "--timeout", str(RABBITMQ_START_SECONDS)],
         timeout=RABBITMQ_START_SECONDS + 30, cwd="/")
    if not port_open(broker):
        raise InfrastructureUnavailable(
            f"the RabbitMQ node runs but does not listen on {broker.host}:{broker.port}; "
            "compare AMQP_URI with `rabbitmq-diagnostics listeners`.")


def _start_rabbit(say):
    _require_root("Starting RabbitMQ")
    say("helpdesk: starting RabbitMQ (rabbitmq-server -detached) with its management plugin")
    # Enabled before the start (--offline writes the plugins file), so that the node comes up
    # with the API instead of restarting it; tests make a throwaway vhost per test through it.
    run_command(["rabbitmq-plugins", "enable", "--offline", "rabbitmq_management"], timeout=120,
         cwd="/")
    run_command(["rabbitmq-server", "-detached"], timeout=60, cwd="/")


def _wait_for_port(endpoint, what):
    if _wait_until(lambda: port_open(endpoint), RABBITMQ_START_SECONDS):
        return
    raise InfrastructureUnavailable(
        f"{what} ({endpoint.host}:{endpoint.port}) did not open within "
        f"{RABBITMQ_START_SECONDS} s. {_rabbit_diagnosis()}")


def _wait_for_login(problem_now, what):
    deadline = time.monotonic() + LOGIN_GRACE_SECONDS
    while (problem := problem_now()) is not None:
        if time.monotonic() >= deadline:
            raise InfrastructureUnavailable(
                f"the broker runs, but {what} still fails after {LOGIN_GRACE_SECONDS} s: "
                f"{problem}. Check the user, password and vhost in AMQP_URI and "
                "RABBIT_MANAGEMENT_URL (rabbitmqctl list_users, rabbitmqctl list_vhosts).")
        time.sleep(0.5)


def _rabbit_diagnosis():
    """What most often keeps a fresh node down, and where its own explanation is."""
    hints = []
    host = socket.gethostname().split(".")[0]
    try:
        socket.gethostbyname(host)
    except OSError:
        hints.append(f"This machine's hostname {host!r} does not resolve, and the Erlang node "
                     "needs it: add it to /etc/hosts, or put NODENAME=rabbit@localhost in "
                     "/etc/rabbitmq/rabbitmq-env.conf.")
    logs = sorted(glob.glob("/var/log/rabbitmq/*.log"), key=os.path.getmtime)
    if logs:
        hints.append(f"The end of {logs[-1]}: {_file_tail(logs[-1], lines=4)}")
    return " ".join(hints)


# --- Both ---------------------------------------------------------------------------------

def ensure_all(settings, say=print):
    """Everything `helpdesk up` and `helpdesk test` need, from helpdesk.config.load()."""
    ensure_postgres(settings.get(DATABASE_URL), say)
    ensure_rabbitmq(settings.get(AMQP_URI), settings.get(RABBIT_MANAGEMENT_URL), say)
