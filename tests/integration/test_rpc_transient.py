"""RPC requests and replies travel as transient messages (helpdesk.rpc): the gateway's and the
CLI's standalone proxy, calls between services, and every service's answers. A service that
has never started is still named at once (the broker's confirm tells), not after a timeout."""
import time

import pytest
from kombu import Connection, Exchange, Queue
from nameko.constants import NON_PERSISTENT
from nameko.exceptions import UnknownService

from helpdesk.rpc import ClusterRpcProxy, rpc
from helpdesk.service_calls import ServiceCalls


class Echo:
    name = "echo"

    @rpc
    def echo(self, value):
        return value


class Asker:
    name = "asker"
    echo_service = ServiceCalls("echo")

    @rpc
    def ask(self, value):
        return self.echo_service.echo(value)


@pytest.fixture
def wire(config):
    """Every message through nameko's RPC exchange, requests and replies, as it went."""
    with Connection(config["AMQP_URI"]) as connection:
        copies = Queue("rpc-copies", Exchange("nameko-rpc", type="topic", durable=True),
                       routing_key="#", exclusive=True)
        seen = []
        with connection.Consumer(copies, callbacks=[lambda body, message: (
                seen.append((message.delivery_info["routing_key"], message.properties)),
                message.ack())]):

            def drained():
                try:
                    while True:
                        connection.drain_events(timeout=0.5)
                except TimeoutError:
                    return seen
            yield drained


def test_requests_and_replies_are_transient(container_factory, config, wire):
    for service in (Echo, Asker):
        container_factory(service, config).start()
    with ClusterRpcProxy({"AMQP_URI": config["AMQP_URI"]}, timeout=10) as cluster:
        assert cluster.echo.echo("в порядке") == "в порядке"
        assert cluster.asker.ask("через сервис") == "через сервис"
    seen = wire()
    requests = [key for key, _ in seen if key.endswith((".echo", ".ask"))]
    assert sorted(requests) == ["asker.ask", "echo.echo", "echo.echo"]
    assert len(seen) == 6  # three requests, three replies
    assert {properties["delivery_mode"] for _, properties in seen} == {NON_PERSISTENT}


def test_a_service_that_never_started_is_named_at_once(config):
    started = time.monotonic()
    with ClusterRpcProxy({"AMQP_URI": config["AMQP_URI"]}, timeout=10) as cluster:
        with pytest.raises(UnknownService):
            cluster.nowhere.anything()
    assert time.monotonic() - started < 5
