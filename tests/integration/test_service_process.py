"""A service process outlives its broker: started while RabbitMQ cannot be reached, it comes up
once it can; cut off in the middle of work (which kills a nameko container), it starts again
and serves. The test puts a TCP relay it can cut between the process and the real RabbitMQ."""
import subprocess
import sys
import time
from contextlib import suppress

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from tests.mail import free_port, process_env

OUTAGE_SECONDS = 15  # longer than a reply's publish retries: the nameko container dies


class BrokerLink:
    """A relay process between the service and RabbitMQ; cutting it kills the process, which
    resets every connection through it."""

    def __init__(self):
        self.port = free_port()
        self.process = None

    def open(self):
        self.process = subprocess.Popen([sys.executable, "-m", "tests.broker_link",
                                         str(self.port)], stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "listening"

    def cut(self):
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def answers(config, seconds):
    """Whether the tickets service answers `health` within the time given."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with suppress(Exception), ClusterRpcProxy(config, timeout=3) as cluster:
            return cluster.tickets.health() == {"database": "ok"}
        time.sleep(0.5)
    return False


@pytest.fixture
def link():
    link = BrokerLink()
    yield link
    link.cut()


@pytest.mark.timeout(180)
def test_a_service_comes_up_late_and_survives_losing_the_broker_mid_work(config, link,
                                                                         tmp_path):
    vhost = config["AMQP_URI"].rsplit("/", 1)[1]
    relayed = f"pyamqp://guest:guest@127.0.0.1:{link.port}/{vhost}"
    process = subprocess.Popen([sys.executable, "-m", "helpdesk.runner", "tickets"],
                               env=process_env({**config, "AMQP_URI": relayed}),
                               stdout=(tmp_path / "tickets.log").open("w"),
                               stderr=subprocess.STDOUT)  # a file: a full pipe would stall it
    try:
        time.sleep(3)  # it tries the broker and fails
        link.open()
        assert answers(config, 60), "the service never came up once the broker could be reached"

        with ClusterRpcProxy(config, timeout=30) as cluster:
            calls = [cluster.tickets.health.call_async() for _ in range(2000)]
            calls[100].result()
            link.cut()  # with calls in flight: their replies wait for a broker that is away
            time.sleep(OUTAGE_SECONDS)
            link.open()
        assert answers(config, 90), "the service did not serve again after the broker came back"
        assert process.poll() is None
    finally:
        process.terminate()
        process.wait(timeout=30)
        output = (tmp_path / "tickets.log").read_text(errors="replace")
        print(log_summary(output))
    assert process.returncode in (0, -15), log_summary(output)


def log_summary(output):
    """The process's log without traceback bodies, for reading when the test fails."""
    return "\n".join(line for line in output.splitlines()
                     if line and not line[0].isspace() and "greenlet" not in line)[-6000:]


@pytest.mark.timeout(90)
def test_a_service_with_its_metrics_port_serves_rpc_and_metrics(config, tmp_path):
    """As `helpdesk up` starts it: with METRICS_PORT set (once froze the whole process)."""
    import requests
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "helpdesk.runner", "tickets"],
                               env=process_env(config, METRICS_PORT=port),
                               stdout=(tmp_path / "tickets.log").open("w"),
                               stderr=subprocess.STDOUT)
    try:
        assert answers(config, 30), "the service did not answer RPC"
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert metrics.status_code == 200
        assert 'helpdesk_entrypoint_duration_seconds_count{entrypoint="health",service="tickets"}' \
            in metrics.text
    finally:
        process.terminate()
        process.wait(timeout=30)
