"""`helpdesk up` names a taken address before it starts anything."""
import socket

import pytest

from helpdesk import cli


def test_up_names_every_address_already_in_use():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        config = {"GATEWAY_ADDRESS": "127.0.0.1:0", "SMTP_ADDRESS": f"127.0.0.1:{taken}"}
        with pytest.raises(ValueError) as problem:
            cli._check_ports_free(config, {"tickets": 0, "ingest": taken})
    message = str(problem.value)
    assert f"127.0.0.1:{taken} for the SMTP listener (SMTP_ADDRESS)" in message
    assert f"127.0.0.1:{taken} for the metrics of ingest (METRICS_FIRST_PORT + 1)" in message
    assert "gateway" not in message and "tickets" not in message


def test_up_starts_when_its_addresses_are_free():
    cli._check_ports_free({"GATEWAY_ADDRESS": "127.0.0.1:0", "SMTP_ADDRESS": "127.0.0.1:0"}, {})
