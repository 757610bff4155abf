"""The SMTP sink (tests/smtp_sink.py) run as the help desk's relay in a test: start, stop,
and the mails it received, parsed back."""
import os
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
    def __init__(self, directory, secure=(), answer_seconds=0.0):
        """`secure`: (cert, key, user, password) to require STARTTLS and a login;
        `answer_seconds`: how long each mail's 250 takes, the mail already kept."""
        self.directory, self.secure = directory, [str(item) for item in secure]
        self.answer_seconds = answer_seconds
        self.port = free_port()
        self.process = None

    def start(self):
        self.log = tempfile.TemporaryFile()  # not a pipe: nobody would read it
        self.process = subprocess.Popen([sys.executable, "-m", "tests.smtp_sink",
                                         str(self.port), str(self.directory), *self.secure],
                                        stdout=subprocess.DEVNULL, stderr=self.log,
                                        env={**os.environ, "SMTP_SINK_ANSWER_SECONDS":
                                             str(self.answer_seconds)})
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

    def count(self):
        """How many mails arrived: counted, not read."""
        return sum(1 for _ in self.directory.glob("*.eml"))

    def wait_until(self, count, seconds=30):
        """Until at least `count` mails arrived (AssertionError when they do not); counted,
        not read, so that a test acts on the moment."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.count() >= count:
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.count()} mail(s) arrived, {count} expected")

    def wait_for(self, count, seconds=30):
        """The mails once at least `count` arrived (AssertionError when they do not)."""
        self.wait_until(count, seconds)
        return self.mails()
