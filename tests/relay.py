"""The SMTP sink (tests/smtp_sink.py) run as the help desk's relay in a test: start, stop,
and the mails it received, parsed back."""
import subprocess
import sys
import tempfile
import time
from email import message_from_bytes, policy
from email.header import decode_header, make_header

from tests.mail import free_port, wait_for_port


def rfc2047(mail, name):
    """A header decoded as RFC 2047 says (whitespace between adjacent encoded-words dropped;
    policy.default keeps it inside display names, which clients do not)."""
    return str(make_header(decode_header(dict(mail.raw_items())[name])))


def text_of(mail):
    """The plain-text body, with the wire's CRLFs as newlines."""
    return mail.get_body(("plain",)).get_content().replace("\r\n", "\n")


class Relay:
    def __init__(self, directory, secure=()):
        """`secure`: (cert, key, user, password) to require STARTTLS and a login."""
        self.directory, self.secure = directory, [str(item) for item in secure]
        self.port = free_port()
        self.process = None

    def start(self):
        self.log = tempfile.TemporaryFile()  # not a pipe: nobody would read it
        self.process = subprocess.Popen([sys.executable, "-m", "tests.smtp_sink",
                                         str(self.port), str(self.directory), *self.secure],
                                        stdout=subprocess.DEVNULL, stderr=self.log)
        wait_for_port(self.port, self.process, self.log)
        return self

    def stop(self, gracefully=False):
        """Kill the relay (a crash), or `gracefully` shut it down as a mail server does:
        the transactions under way answered, new ones refused with 421."""
        if self.process is not None:
            if gracefully:
                self.process.terminate()
                try:
                    self.process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.process.kill()
            else:
                self.process.kill()
            self.process.wait()
            self.process = None
            self.log.close()

    def settings(self):
        return {"SMTP_RELAY_HOST": "127.0.0.1", "SMTP_RELAY_PORT": self.port,
                "SMTP_RELAY_SECURITY": "none"}

    def raw_mails(self):
        return [path.read_bytes() for path in sorted(self.directory.glob("*.eml"),
                                                         key=lambda p: p.stat().st_mtime_ns)]

    def mails(self):
        return [message_from_bytes(raw, policy=policy.default) for raw in self.raw_mails()]

    def wait_for(self, count, seconds=30):
        """The mails once at least `count` arrived (AssertionError when they do not)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            mails = self.mails()
            if len(mails) >= count:
                return mails
            time.sleep(0.1)
        raise AssertionError(f"{len(self.mails())} mail(s) arrived, {count} expected")
