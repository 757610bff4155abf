"""What the ops team sees of the running help desk (every part in its own process, as
`helpdesk up` starts them): after 100 mails, each part's /metrics shows the exact counts and
latency histograms with observations; each part's /healthz names what it depends on; and one
mail is traced by its correlation id through the JSON logs of every part it went through."""
import json

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from helpdesk.cli import wait_healthy
from helpdesk.runner import SERVICES
from tests import fixtures, processes
from tests.mail import customer_mail, free_port, free_port_block, process_env, send
from tests.waiting import wait_until

MAILS = 100
PARTS = (*SERVICES, "smtp")


def scrape(port):
    """{(name, labels as a sorted tuple): value} of every sample on a /metrics page."""
    page = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(page) for sample in family.samples}


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


@pytest.mark.timeout(240)
def test_a_hundred_mails_as_ops_see_them(config, db, engine, tmp_path):
    fixtures.department(db, "First line", ["support@isp.example"])
    first = free_port_block(len(PARTS))
    ports = {part: first + index for index, part in enumerate(PARTS)}
    gateway, smtp = free_port(), free_port()
    outbound = tmp_path / "outbound"
    running = []
    try:
        for part in (*PARTS, "gateway"):
            env = process_env(config, METRICS_PORT=ports.get(part, 0), LOG_FORMAT="json",
                              GATEWAY_ADDRESS=f"127.0.0.1:{gateway}",
                              SMTP_ADDRESS=f"127.0.0.1:{smtp}", OUTBOUND_MAILDIR=outbound,
                              SMTP_RELAY_HOST="")
            running.append(processes.start(part, env, log=tmp_path / f"{part}.log"))
        wait_healthy(f"http://127.0.0.1:{gateway}", running, seconds=60)
        processes.wait_until_serving(config, list(SERVICES))

        for part, port in ports.items():  # what each part depends on, and that it answers
            assert requests.get(f"http://127.0.0.1:{port}/livez", timeout=5).ok
            health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            assert health.status_code == 200, health.text
            checks = health.json()["depends_on"]
            assert set(checks) == {"database", "broker"}, part
            assert all(check["status"] == "ok" for check in checks.values()), health.text

        for number in range(MAILS):  # a sender each: acknowledgements are limited per sender
            send(("127.0.0.1", smtp), customer_mail(
                "support@isp.example", subject=f"Обращение {number}",
                sender=f"Клиент {number} <customer{number}@mail.example>",
                Message_ID=f"<ops-{number}@mail.example>"),
                sender=f"customer{number}@mail.example")
        assert wait_until(lambda: len(list((outbound / "new").glob("*"))) == MAILS
                          if (outbound / "new").exists() else False, seconds=120), \
            "not every acknowledgement went out"

        metrics = {part: scrape(port) for part, port in ports.items()}
        assert value(metrics["smtp"], "helpdesk_mails_received_total", source="smtp") == MAILS
        ingest = metrics["ingest"]
        assert value(ingest, "helpdesk_mails_processed_total", outcome="ticket") == MAILS
        assert value(ingest, "helpdesk_mail_parse_seconds_count") == MAILS
        assert value(ingest, "helpdesk_mail_end_to_end_seconds_count") == MAILS
        assert value(ingest, "helpdesk_mail_end_to_end_seconds_sum") > 0
        assert calls(ingest, "ingest", "handle_raw_mail") == MAILS
        # the mails go over in batches: every mail in one, one tickets call per batch
        assert value(ingest, "helpdesk_batch_items_sum", service="ingest",
                     batch="hand_over") == MAILS
        assert calls(metrics["tickets"], "tickets", "ingest_messages") == value(
            ingest, "helpdesk_batch_items_count", service="ingest", batch="hand_over") >= 1
        notify = metrics["notify"]
        assert value(notify, "helpdesk_notify_mails_queued_total", kind="auto_ack") == MAILS
        assert value(notify, "helpdesk_notify_mails_sent_total", kind="auto_ack") == MAILS
        # each ticket_created taken once, alone or with others in one tickets_created
        assert value(notify, "helpdesk_batch_items_sum", service="notify", batch="take") == MAILS
        search = metrics["search"]
        assert value(search, "helpdesk_batch_items_sum", service="search",
                     batch="refresh") == MAILS
        assert value(search, "helpdesk_search_documents_indexed_total", kind="ticket") == MAILS
        assert value(search, "helpdesk_search_indexing_lag_seconds_count") == MAILS
        assert value(metrics["escalation"], "helpdesk_batch_items_sum", service="escalation",
                     batch="follow") == MAILS
        for part in SERVICES:  # every service's entrypoints are timed
            timed = [key for key, count in metrics[part].items()
                     if key[0] == "helpdesk_entrypoint_duration_seconds_count" and count > 0]
            assert timed, f"{part} has no entrypoint latency observations"
        assert wait_until(lambda: value(scrape(ports["tickets"]), "helpdesk_tickets_active",
                                        department="First line", status="new") == MAILS,
                          seconds=30)  # the gauge is refreshed every 15 s

        assert value(scrape(gateway), "helpdesk_http_requests_total", method="GET",
                     endpoint="health.healthz", status="200") >= 1
    finally:
        processes.stop_all(running, seconds=30)

    with engine.connect() as connection:
        raw_mail_id = connection.execute(text(
            "SELECT raw_mail_id FROM tickets.messages WHERE message_id = :id"),
            {"id": "<ops-42@mail.example>"}).scalar()
    correlation = f"mail-{raw_mail_id}"
    traced = {}
    for part in (*PARTS, "gateway"):
        for line in (tmp_path / f"{part}.log").read_text().splitlines():
            if not line.startswith("{"):
                continue  # what a library printed without the logging module
            entry = json.loads(line)
            assert entry["part"] == part and entry["level"] and entry["time"]
            if entry["correlation_id"] == correlation:
                traced.setdefault(part, []).append(entry["message"])
    print(json.dumps(traced, ensure_ascii=False, indent=1))
    assert {"smtp", "ingest", "tickets", "notify", "search"} <= set(traced), traced
    assert any(f"raw mail {raw_mail_id} stored" in line for line in traced["smtp"])
    assert any("opened ticket" in line for line in traced["ingest"])
    assert any("auto_ack mail queued" in line for line in traced["notify"])
    assert any("indexed" in line for line in traced["search"])


def calls(samples, service, entrypoint):
    return value(samples, "helpdesk_entrypoint_duration_seconds_count", service=service,
                 entrypoint=entrypoint)
