"""A real SMTP server for tests of outbound mail:
`python -m tests.smtp_sink PORT DIRECTORY [CERT KEY USER PASSWORD]` — with the last four, it
requires STARTTLS (with that certificate) and a login before it takes any mail.
aiosmtpd in its own process; every accepted mail is written to DIRECTORY as one file (the raw
bytes exactly as received). Recipients whose local part starts with "reject" are refused
with 550, those starting with "later" with 451, as a real relay would."""
import asyncio
import ssl
import sys
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

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
        return "250 2.0.0 Queued"


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
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port, **secure)
    controller.start()
    print("listening", flush=True)
    try:
        asyncio.new_event_loop().run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]), *sys.argv[2:])
