"""Where mail goes: an SMTP relay, or — when none is configured, the embedded default — a
local Maildir. A transport sends one outbox row and raises TemporaryFailure, PermanentFailure
or InDoubt. An SMTP relay hands `commit_then` the write of the end of DATA (which returns
whether it went out), so the outbox's commit and that write go out together (see
sending.py)."""
import hashlib
import os
import re
import smtplib
import socket
import ssl
from pathlib import Path

from helpdesk import config as settings


class TemporaryFailure(Exception):
    def __init__(self, code, detail):
        super().__init__(code, detail)
        self.code, self.detail = code, detail


class PermanentFailure(TemporaryFailure):
    pass


class InDoubt(Exception):
    """The end of DATA went out but no answer came back."""


def failure(code, text):
    detail = f"{code} {_text(text)}".strip()
    return PermanentFailure(code, detail) if 500 <= code < 600 else TemporaryFailure(code, detail)


def _text(text):
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


class SmtpRelay:
    delivers_again_in_place = False  # a relay sends what it was given twice: one mail at a time

    """One SMTP connection, reused from mail to mail (RSET between), opened again on trouble.

    The end of DATA is sent apart from the rest of the mail, together with the outbox's
    commit: dying before it makes the relay drop the half-sent mail (it is sent again later);
    dying after it leaves a row the outbox counts as sent. So a killed sender neither loses a
    mail nor sends it twice."""

    def __init__(self, host, port=25, security="none", username="", password="",
                 timeout=30.0, local_hostname=None, ca_file=None):
        self.host, self.port, self.security = host, int(port), security or "none"
        self.ca_file = ca_file or None  # a private CA's certificate; None: the system's
        self.username, self.password = username or "", password or ""
        self.timeout, self.local_hostname = float(timeout), local_hostname
        self.smtp = None

    def describe(self):
        return f"SMTP relay {self.host}:{self.port} ({self.security})"

    def send(self, row, commit_then):
        try:
            smtp = self._session()
        except (OSError, smtplib.SMTPException) as error:
            # refused, TLS or login trouble: the relay's or our configuration's fault, never
            # the mail's — retried, not failed
            self.close()
            raise TemporaryFailure(getattr(error, "smtp_code", None),
                                   f"{self.describe()}: {error!r}") from None
        try:
            refused = self._envelope(smtp, row)
            self._data(smtp, row.content)
        except smtplib.SMTPResponseException as error:
            self.close()
            raise failure(error.smtp_code, error.smtp_error) from None
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise TemporaryFailure(None, f"{self.describe()}: {error!r}") from None
        ending = {}

        def end_data():
            if not ending:
                try:
                    smtp.send(b".\r\n")
                    ending["written"] = True
                except (OSError, smtplib.SMTPException) as error:
                    ending["error"] = error
            return "written" in ending

        try:
            commit_then(end_data)
        except BaseException:
            self.close()  # the relay drops a mail whose DATA never ended
            raise
        if "error" in ending:
            self.close()
            raise TemporaryFailure(None, f"{self.describe()}: the end of DATA could not be "
                                   f"sent: {ending['error']!r}")
        return self._answer_to_end_of_data(smtp), refused

    def close(self):
        if self.smtp is not None:
            try:
                self.smtp.close()
            except OSError:
                pass
        self.smtp = None

    def _session(self):
        if self.smtp is not None:
            try:
                code, _ = self.smtp.rset()
                if code == 250:
                    return self.smtp
            except (OSError, smtplib.SMTPException):
                pass
            self.close()
        self.smtp = self._connect()
        return self.smtp

    def _connect(self):
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.security == "tls":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                    local_hostname=self.local_hostname, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout,
                                local_hostname=self.local_hostname)
        # the end of DATA is a write of its own right after the content: without NODELAY,
        # Nagle holds it for the relay's delayed ACK (40 ms a mail, measured)
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        smtp.ehlo()
        if self.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if self.username:
            smtp.login(self.username, self.password)
        return smtp

    @staticmethod
    def _envelope(smtp, row):
        code, text = smtp.mail(row.envelope_from)
        if code != 250:
            raise failure(code, text)
        refused = {}
        for recipient in row.recipients:
            code, text = smtp.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, _text(text))
        if len(refused) == len(row.recipients):
            worst = max(code for code, _ in refused.values())
            smtp.rset()
            raise failure(worst, "; ".join(f"{r}: {c} {t}" for r, (c, t) in refused.items()))
        return refused

    @staticmethod
    def _data(smtp, content):
        code, text = smtp.docmd("DATA")
        if code != 354:
            raise failure(code, text)
        body = re.sub(rb"(?m)^\.", b"..", content)  # dot-stuffing, as smtplib.data does
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        smtp.send(body)

    def _answer_to_end_of_data(self, smtp):
        try:
            code, text = smtp.getreply()
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise InDoubt(f"{self.describe()} did not answer the end of DATA: {error!r}") \
                from None
        if code != 250:
            raise failure(code, text)
        return f"{code} {_text(text)}"


class MaildirDrop:
    """Delivers into a local Maildir (new/), for a help desk with no relay configured.
    The file is named after the outbox row, so delivering it again after a crash replaces
    the same file instead of adding a second copy (the stdlib's Maildir.add picks a fresh
    name every time, which is why it is not used)."""

    # Delivering a mail again replaces it: the senders may deliver several mails and record
    # them in one transaction, since a crash before its commit only delivers them again.
    delivers_again_in_place = True

    def __init__(self, path):
        self.path = Path(path)
        for folder in ("tmp", "new", "cur"):
            (self.path / folder).mkdir(parents=True, exist_ok=True)

    def describe(self):
        return f"Maildir {self.path}"

    def send(self, row, commit_then):
        digest = hashlib.sha256(row.message_id.encode()).hexdigest()[:16]
        name = f"helpdesk-{row.id}.{digest}"
        temporary = self.path / "tmp" / name
        try:
            with open(temporary, "wb") as file:
                file.write(row.content)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path / "new" / name)
        except OSError as error:
            raise TemporaryFailure(None, f"{self.describe()}: {error}") from None
        return f"delivered to {self.path / 'new' / name}", {}

    def close(self):
        pass


def relay_host(config):
    return (config.get(settings.SMTP_RELAY_HOST) or "").strip()


def maildir_path(config):
    """The outbound Maildir; a relative path is taken from the project's root, so every
    process (and the `helpdesk up` banner) means the same directory."""
    path = Path(config.get(settings.OUTBOUND_MAILDIR) or "var/outbound-mail")
    return path if path.is_absolute() else settings.DEFAULT_CONFIG_FILE.parent / path


def from_config(config):
    host = relay_host(config)
    if not host:
        return MaildirDrop(maildir_path(config))
    return SmtpRelay(host, config.get(settings.SMTP_RELAY_PORT) or 25,
                     config.get(settings.SMTP_RELAY_SECURITY) or "none",
                     config.get(settings.SMTP_RELAY_USER) or "",
                     config.get(settings.SMTP_RELAY_PASSWORD) or "",
                     ca_file=config.get(settings.SMTP_RELAY_CA_FILE) or None)
