import pytest

from tests.relay import Relay


@pytest.fixture
def relay(tmp_path):
    """A real SMTP server (aiosmtpd, its own process) standing in for the outbound relay."""
    relay = Relay(tmp_path / "relay").start()
    yield relay
    relay.stop()
