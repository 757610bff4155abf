"""A part's /healthz names each dependency and says 503 when one does not answer; /livez
answers as long as the process does (a liveness probe must not restart a part because the
database is away)."""
import json

from helpdesk import health
from tests.mail import free_port


def call(app, path):
    answer = {}

    def start_response(status, headers):
        answer["status"], answer["headers"] = status, dict(headers)
    body = b"".join(app({"PATH_INFO": path, "REQUEST_METHOD": "GET"}, start_response))
    return answer["status"], body


def test_healthz_names_what_is_unreachable_and_livez_still_answers():
    closed = free_port()
    config = {"DATABASE_URL": f"postgresql://helpdesk:x@127.0.0.1:{closed}/helpdesk",
              "AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:{closed}//",
              "SEARCH_BACKEND": "elasticsearch", "ELASTICSEARCH_URL": f"http://127.0.0.1:{closed}"}
    def metrics(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"helpdesk_up 1\n"]
    app = health.wsgi_app("search", config, metrics)
    status, body = call(app, "/healthz")
    report = json.loads(body)
    assert status.startswith("503") and report["status"] == "failing"
    assert set(report["depends_on"]) == {"database", "broker", "elasticsearch"}
    assert all(check["status"] == "unreachable" and check["error"]
               for check in report["depends_on"].values())
    assert call(app, "/livez")[0].startswith("200")
    assert call(app, "/metrics")[1] == b"helpdesk_up 1\n"  # the rest is Prometheus's


def test_healthz_is_ok_when_the_database_and_broker_answer(database_url, rabbit_config):
    config = {"DATABASE_URL": database_url, "AMQP_URI": rabbit_config["AMQP_URI"],
              "SEARCH_BACKEND": "postgresql"}
    status, body = call(health.wsgi_app("tickets", config, None), "/healthz")
    report = json.loads(body)
    assert status.startswith("200"), report
    assert {name: check["status"] for name, check in report["depends_on"].items()} == \
        {"database": "ok", "broker": "ok"}
