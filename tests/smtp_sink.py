"""A real SMTP server for tests of outbound mail:
`python -m tests.smtp_sink PORT DIRECTORY [CERT KEY USER PASSWORD]` — with the last four, it
requires STARTTLS (with that certificate) and a login before it takes any mail.
aiosmtpd in its own process; every accepted mail is written to DIRECTORY as one file (the raw
bytes exactly as received). Recipients whose local part starts with "reject" are refused
with 550, those starting with "later" with 451, as a real relay would.
SMTP_SINK_ANSWER_SECONDS makes it answer the end of DATA that much later, the mail already
kept, as a busy relay does (a sender killed meanwhile never hears that its mail went).
SIGTERM stops it as a mail server shuts down: no new connections or transactions (421), the
transactions under way finished and answered, then every connection closed. (SIGKILL is a
crash: a mail whose end of DATA was on its way may or may not have been kept.)"""
import asyncio
import os
import signal
import ssl
import sys
import threading
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, directory, answer_seconds=0.0):
        self.directory = Path(directory)
        self.answer_seconds = answer_seconds
        self.directory.mkdir(parents=True, exist_ok=True)
        self.stopping = False
        self.transactions = set()  # the sessions between MAIL and the answer to DATA

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.stopping:
            return "421 4.3.2 Shutting down; try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        self.transactions.add(session)
        return "250 OK"

    async def handle_RSET(self, server, session, envelope):
        self.transactions.discard(session)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.partition("@")[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 No such user here"
        if local.startswith("later"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        name = uuid.uuid4().hex
        temporary = self.directory / f".{name}.tmp"
        temporary.write_bytes(envelope.original_content or envelope.content)
        temporary.rename(self.directory / f"{name}.eml")  # whole files only, for the reader
        if self.answer_seconds:
            await asyncio.sleep(self.answer_seconds)
        self.transactions.discard(session)
        return "250 2.0.0 Queued"

    def wait_for_transactions(self, seconds):
        deadline = time.monotonic() + seconds
        while self.transactions and time.monotonic() < deadline:
            time.sleep(0.02)


def login_checker(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        accepted = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
                    and auth_data.password == password.encode())
        return AuthResult(success=accepted)
    return check


def main(port, directory, cert=None, key=None, user=None, password=None):
    secure = {}
    if cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        secure = {"tls_context": context, "require_starttls": True, "auth_required": True,
                  "authenticator": login_checker(user, password)}
    sink = Sink(directory, float(os.environ.get("SMTP_SINK_ANSWER_SECONDS") or 0))
    controller = Controller(sink, hostname="127.0.0.1", port=port, **secure)
    controller.start()
    terminated = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: terminated.set())
    print("listening", flush=True)
    try:
        while not terminated.wait(0.2):
            pass
        sink.stopping = True
        controller.loop.call_soon_threadsafe(controller.server.close)
        sink.wait_for_transactions(10)
    finally:
        controller.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]), *sys.argv[2:])
