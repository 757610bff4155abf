"""A real Dovecot for the IMAP poller's tests: one server per run (it starts in well under a
second, but there is no need to), a fresh account per test so no test sees another's mail."""
import itertools

import pytest

from tests.dovecot import Dovecot, DovecotUnavailable

_accounts = itertools.count(1)


@pytest.fixture(scope="session")
def dovecot_server():
    try:
        with Dovecot.started() as server:
            yield server
    except DovecotUnavailable as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture
def dovecot(dovecot_server):
    """An empty mail account: .host .port .tls_port .cafile .user .password, .append(raw,
    folder="INBOX") -> uid, .messages(folder="INBOX") -> {uid: flags}, .body(uid), .kick()."""
    return dovecot_server.account(f"support{next(_accounts)}", "secret-password")
