"""An IMAP session to a mailbox: connected with the mailbox's security, logged in, and logged
out (or at least closed) however the poll ends. Sockets are plain blocking ones: under the
ingest service's eventlet monkey-patching they are green."""
import errno
import os
from contextlib import contextmanager

from imapclient import IMAPClient

SECURITIES = ("tls", "starttls", "none")


@contextmanager
def connected(mailbox, ssl_context=None):
    """An IMAPClient logged in to `mailbox`. `ssl_context` (default: the system's trusted CAs,
    host name checked) is for a server with a private CA."""
    client = IMAPClient(mailbox.host, port=mailbox.port, ssl=mailbox.security == "tls",
                        ssl_context=ssl_context, timeout=mailbox.timeout)
    # The IMAPClient context logs out, and on a dead connection just closes the socket: a
    # failed login or a dropped connection leaks nothing.
    with client:
        if mailbox.security == "starttls":
            client.starttls(ssl_context)
        client.login(mailbox.username, mailbox.password)
        yield client


def error_text(error):
    """An imapclient error as a readable sentence (they often carry the server's bytes)."""
    if isinstance(error, OSError) and error.strerror == errno.errorcode.get(error.errno):
        # eventlet's green sockets give only the errno's name ("ECONNREFUSED").
        return f"{os.strerror(error.errno)} ({error.strerror})"
    text = str(error)
    if text.startswith(("b'", 'b"')) and text.endswith(text[1]):
        text = text[2:-1]
    return text or type(error).__name__
