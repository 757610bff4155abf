"""The README's first command, `bin/helpdesk up`, as a user runs it (pointed at the test's
database, vhost and free ports): it says where to open the help desk, every process answers,
and a mail to a department becomes a ticket whose acknowledgement lands in the Maildir it
names."""
import os
import re
import signal
import subprocess
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import requests

from helpdesk.runner import SERVICES
from tests import fixtures
from tests.mail import customer_mail, free_port, free_port_block, process_env, send

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.timeout(180)
def test_helpdesk_up_brings_up_every_part_and_mail_flows_through_it(config, db, tmp_path):
    fixtures.department(db, "First line", ["support@isp.example"])
    gateway, smtp = free_port(), free_port()
    metrics = free_port_block(len(SERVICES) + 1)
    env = process_env(config, GATEWAY_ADDRESS=f"127.0.0.1:{gateway}",
                      SMTP_ADDRESS=f"127.0.0.1:{smtp}", METRICS_FIRST_PORT=metrics,
                      OUTBOUND_MAILDIR=tmp_path / "outbound", SMTP_RELAY_HOST="")
    log = tmp_path / "up.log"
    # a session of its own: should it not stop, the whole group is killed, not left behind
    # working on the test database under the next tests
    process = subprocess.Popen([str(ROOT / "bin" / "helpdesk"), "up"], env=env, cwd=ROOT,
                               stdout=log.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        banner = wait_for_banner(log, process)
        assert f"The help desk is up at http://127.0.0.1:{gateway}" in banner
        assert f"Maildir {tmp_path / 'outbound'}/new" in banner
        prometheus = next(line for line in banner.splitlines() if line.startswith("Prometheus:"))
        ports = [int(port) for port in re.findall(r"127\.0\.0\.1:(\d+)/metrics", prometheus)]
        assert len(ports) == len(SERVICES) + 1  # every nameko service, and the SMTP listener
        for port in ports:
            assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).ok
        assert requests.get(f"http://127.0.0.1:{gateway}/healthz", timeout=5).json()[
            "status"] == "ok"

        send(("127.0.0.1", smtp), customer_mail("support@isp.example"))
        acknowledgement = wait_for_file(tmp_path / "outbound" / "new")
        mail = message_from_bytes(acknowledgement.read_bytes(), policy=policy.default)
        assert mail["To"].addresses[0].addr_spec == "anna@mail.example"
        assert re.search(r"\[#\d+\]$", mail["Subject"])
    finally:
        process.send_signal(signal.SIGINT)
        try:
            stopped = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stopped = None
    print(log.read_text()[-3000:])
    assert stopped is not None, "Ctrl-C did not stop the help desk within 60 s"


def wait_for_banner(log, process, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = log.read_text()
        if "Press Ctrl-C to stop it." in text:
            return text
        assert process.poll() is None, text[-3000:]
        time.sleep(0.5)
    raise AssertionError(f"no banner after {seconds} s:\n{log.read_text()[-3000:]}")


def wait_for_file(directory, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        files = list(directory.glob("*")) if directory.exists() else []
        if files:
            return files[0]
        time.sleep(0.2)
    raise AssertionError(f"nothing delivered to {directory} in {seconds} s")
