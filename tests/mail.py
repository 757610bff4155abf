"""Helpers for mail tests: the SMTP listener in its own process, mails built and sent."""
import os
import random
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import text


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_port_block(size):
    """The first of `size` consecutive free ports, below the kernel's ephemeral range: a block
    starting at a free_port() is not free for long, as every outgoing connection on the machine
    (to PostgreSQL, RabbitMQ, a browser's) takes its local port from that range."""
    first_ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for first in range(random.randrange(20000, first_ephemeral - 1000, size), first_ephemeral, size):
        if all(_bindable(port) for port in range(first, first + size)):
            return first
    raise RuntimeError(f"no {size} free consecutive ports below {first_ephemeral}")


def _bindable(port):
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def process_env(config, **extra):
    """The environment of a help desk process in a test: the test's database and vhost."""
    env = {**os.environ, "DATABASE_URL": config["DATABASE_URL"], "AMQP_URI": config["AMQP_URI"]}
    env.update({key: str(value) for key, value in extra.items()})
    return env


@contextmanager
def smtp_listener(config, **extra):
    """`python -m helpdesk.runner smtp` on a free port; yields (host, port)."""
    port = free_port()
    env = process_env(config, SMTP_ADDRESS=f"127.0.0.1:{port}", **extra)
    # its log goes to a file: a pipe nobody reads fills up and stops the listener mid-mail
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([sys.executable, "-m", "helpdesk.runner", "smtp"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=log)
        try:
            wait_for_port(port, process, log)
            yield "127.0.0.1", port
        finally:
            process.terminate()
            process.wait(timeout=15)


def wait_for_port(port, process, log, seconds=20):
    """Wait until `process` listens on `port`; if it exits first, say what `log` (the file
    its output went to) ends with."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the process exited: {log.read().decode()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {seconds} s")


def customer_mail(to, subject="Нет интернета", body="С утра нет подключения.",
                  sender="Анна Иванова <anna@mail.example>", **headers):
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, to, subject
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail


def wire_bytes(mail):
    """A mail as it goes over SMTP: CRLF line ends (smtplib sends bytes unchanged, and a
    listener must not take bare LFs, the stuff of SMTP smuggling)."""
    return mail.as_bytes(policy=mail.policy.clone(linesep="\r\n"))


def send(address, mail, sender="anna@mail.example", recipients=None):
    """Send a mail (EmailMessage, or raw bytes with `recipients`) with a real SMTP client."""
    if isinstance(mail, EmailMessage):
        recipients, mail = recipients or [mail["To"]], wire_bytes(mail)
    with smtplib.SMTP(*address, timeout=30) as client:
        return client.sendmail(sender, recipients, mail)


def wait_until_processed(engine, count, seconds=30):
    """Wait until `count` raw mails have left `received`; returns the rows' statuses."""
    deadline = time.monotonic() + seconds
    while True:
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT id, status, reason, ticket_id FROM ingest.raw_mail ORDER BY id")).all()
        done = [row for row in rows if row.status != "received"]
        if len(done) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def send_many(address, mails, sender="anna@mail.example"):
    """Send mails one after another over one SMTP connection, as a mail server would: on a
    dropped connection or a 4xx answer, try again; a 5xx answer is an error."""
    pending = list(mails)
    while pending:
        try:
            with smtplib.SMTP(*address, timeout=60) as client:
                while pending:
                    client.sendmail(sender, [pending[0]["To"]], wire_bytes(pending[0]))
                    pending.pop(0)
        except smtplib.SMTPResponseException as error:
            if error.smtp_code >= 500:
                raise
            time.sleep(0.5)
        except (smtplib.SMTPServerDisconnected, OSError):
            time.sleep(0.5)
