"""A real Dovecot IMAP server for tests: its own config, users, maildirs, logs and sockets in a
temp dir, on free loopback ports, so it never touches (or collides with) a system Dovecot.

    ensure_dovecot()                  # installs dovecot-imapd when missing (root, Debian)
    with Dovecot.started() as server:
        account = server.account("support", "secret")
        account.append(raw_bytes)
        account.messages()            # {uid: {flags}}

It serves plain IMAP (with STARTTLS) and IMAPS, both with a throwaway self-signed certificate for
127.0.0.1 (`server.cafile` trusts it). Plaintext login is allowed: it is loopback only.
"""
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from imapclient import IMAPClient

from tests.mail import free_port

DOVECOT = "/usr/sbin/dovecot"
INSTALL_COMMAND = "apt-get install -y dovecot-imapd"
# Mail processes may not run as root; this user exists wherever the Debian package is installed.
MAIL_USER = "dovecot"


class DovecotUnavailable(RuntimeError):
    """Dovecot is not installed and could not be installed here."""


def ensure_dovecot(say=print):
    """Install Debian's dovecot-imapd when /usr/sbin/dovecot is missing (needs root and apt)."""
    if Path(DOVECOT).exists():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise DovecotUnavailable(f"Dovecot is needed for the IMAP tests and is not installed; "
                                 f"install it as root with: {INSTALL_COMMAND}")
    say("helpdesk: Dovecot is missing; installing dovecot-imapd from Debian packages")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], INSTALL_COMMAND.split() + ["-q"]):
        done = subprocess.run(command, env=environment, capture_output=True, text=True)
        if done.returncode != 0 and command[1] == "install":
            raise DovecotUnavailable(f"could not install Dovecot ({done.stderr.strip()[-500:]}); "
                                     f"install it as root with: {INSTALL_COMMAND}")
    if not Path(DOVECOT).exists():
        raise DovecotUnavailable(f"{DOVECOT} is still missing; run: {INSTALL_COMMAND}")


class Dovecot:
    """One running Dovecot; use `Dovecot.started()` so it is always stopped."""
    host = "127.0.0.1"

    def __init__(self, root):
        self.root = Path(root)
        self.port, self.tls_port = free_port(), free_port()
        self.cafile = str(self.root / "cert.pem")
        self.config = self.root / "dovecot.conf"
        self.users = self.root / "users"
        self.process = None

    @classmethod
    @contextmanager
    def started(cls, timeout=20):
        ensure_dovecot()
        root = tempfile.mkdtemp(prefix="helpdesk-dovecot-")
        server = cls(root)
        try:
            server._prepare()
            server._start(timeout)
            yield server
        finally:
            server._stop()
            shutil.rmtree(root, ignore_errors=True)

    def account(self, user, password):
        """A new mail account on this server, usable at once."""
        # One passwd-file per user: Dovecot re-reads a changed file at most once a second,
        # but opens a file it has not seen yet on the first login.
        (self.users / user).write_text(f"{user}:{{PLAIN}}{password}::::::\n")
        return Account(self, user, password)

    def kick(self, user, timeout=10):
        """Drop the user's IMAP connections, as a server restart or a network cut would.
        Returns once their processes are gone: a kick only signals them, and until one
        exits it may still carry out a command already on its way (under load it does)."""
        pids = [int(line.split()[2]) for line in self._doveadm("who", "-1", user)[1:]]
        self._doveadm("kick", user)
        deadline = time.monotonic() + timeout
        while any(_running(pid) for pid in pids):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the IMAP processes {pids} of {user} outlived a kick")
            time.sleep(0.01)

    def _doveadm(self, *arguments):
        done = subprocess.run(["doveadm", "-c", str(self.config), *arguments], check=True,
                              capture_output=True, text=True, timeout=10)
        return done.stdout.splitlines()

    def log(self):
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _prepare(self):
        mail_user = pwd.getpwnam(MAIL_USER)
        # The mail processes run as MAIL_USER and must reach the maildirs under the temp dir.
        self.root.chmod(0o755)
        (self.root / "mail").mkdir()
        os.chown(self.root / "mail", mail_user.pw_uid, mail_user.pw_gid)
        self.users.mkdir()
        _self_signed_certificate(self.root)
        self.config.write_text(CONFIG.format(root=self.root, port=self.port, tls_port=self.tls_port,
                                             uid=mail_user.pw_uid, gid=mail_user.pw_gid,
                                             instance=self.root.name))

    def _start(self, timeout):
        # -F keeps the master in the foreground: it is our child, and stopping it stops all.
        # Its own errors go to a file: a pipe nobody reads could block it.
        with (self.root / "stderr.log").open("wb") as errors:
            self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.config)],
                                            stdout=subprocess.DEVNULL, stderr=errors,
                                            preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while not _answers(self.host, self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self._stop()
                raise RuntimeError(f"Dovecot did not start: "
                                   f"{(self.root / 'stderr.log').read_text()}\n{self.log()}")
            time.sleep(0.05)

    def _stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Account:
    """One user's mail on the test server, seen through IMAP as a mail client would."""

    def __init__(self, server, user, password):
        self.server, self.user, self.password = server, user, password
        self.host, self.port, self.tls_port = server.host, server.port, server.tls_port
        self.cafile = server.cafile

    def connect(self, folder="INBOX"):
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(self.user, self.password)
        if folder != "INBOX" and not client.folder_exists(folder):
            client.create_folder(folder)
        client.select_folder(folder)
        return client

    def append(self, raw, folder="INBOX", flags=()):
        """Put a message into a folder as a delivery would; returns its UID."""
        with self.connect(folder) as client:
            reply = client.append(folder, raw, flags=flags)
        # Dovecot has UIDPLUS: "[APPENDUID <uidvalidity> <uid>] Append completed."
        return int(reply.split(b"]")[0].split()[-1])

    def messages(self, folder="INBOX"):
        """{uid: set of flags} of every message in the folder (expunged ones are gone)."""
        with self.connect(folder) as client:
            uids = client.search(["ALL"])
            found = client.fetch(uids, ["FLAGS"]) if uids else {}
        return {uid: set(data[b"FLAGS"]) for uid, data in found.items()}

    def body(self, uid, folder="INBOX"):
        """A message as the server hands it out (BODY.PEEK[]: its flags stay as they are)."""
        with self.connect(folder) as client:
            return client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]

    def kick(self):
        self.server.kick(self.user)


def _running(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError):  # gone before, or while, it was read
        return False
    return state != "Z"   # a zombie has closed its sockets already


def _answers(host, port):
    try:
        with socket.create_connection((host, port), timeout=1) as connection:
            ready = connection.recv(64).startswith(b"* OK")
            connection.sendall(b"a LOGOUT\r\n")
            return ready
    except OSError:
        return False


def _die_with_parent():
    # If the test run is killed outright, Dovecot goes too (Linux: PR_SET_PDEATHSIG).
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)


def _self_signed_certificate(root):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem")],
                   check=True, capture_output=True, timeout=60)


CONFIG = """\
# A test Dovecot: everything it writes stays under {root}.
instance_name = {instance}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
mail_location = maildir:{root}/mail/%u
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = {uid}
last_valid_uid = {uid}
default_login_user = dovenull
default_internal_user = dovecot
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users/%u
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
# No auth penalty: else after a test of a wrong password the next login from 127.0.0.1
# waits seconds (a closed listener disables it; login_trusted_networks does not).
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
"""
