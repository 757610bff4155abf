"""What every process of the help desk answers beside /metrics, on its metrics port:
`/livez` — the process answers (a liveness probe: restarting it would not help a database
outage); `/healthz` — what the part depends on and whether each answers now (PostgreSQL,
RabbitMQ, and Elasticsearch for a search service that uses it): 200 when all do, else 503
(a readiness probe)."""
import json
import socket
import time
from urllib.parse import urlsplit

from helpdesk import config as settings

CHECK_SECONDS = 3.0


def dependencies(name, config):
    """{dependency: check} of a part."""
    checks = {"database": lambda: _database(config[settings.DATABASE_URL]),
              "broker": lambda: _broker(config[settings.AMQP_URI])}
    if name == "search" and config.get(settings.SEARCH_BACKEND) == "elasticsearch":
        checks["elasticsearch"] = lambda: _tcp(config[settings.ELASTICSEARCH_URL], 9200)
    return checks


def report(name, config):
    results = {}
    for dependency, check in dependencies(name, config).items():
        started = time.monotonic()
        try:
            check()
            results[dependency] = {"status": "ok",
                                   "seconds": round(time.monotonic() - started, 3)}
        except Exception as error:  # the failure is the answer here
            results[dependency] = {"status": "unreachable", "error": str(error)[:300]}
    healthy = all(item["status"] == "ok" for item in results.values())
    return {"part": name, "status": "ok" if healthy else "failing",
            "depends_on": results}, healthy


def _database(url):
    import psycopg2
    from sqlalchemy.engine import make_url
    parts = make_url(url)
    connection = psycopg2.connect(host=parts.host, port=parts.port, user=parts.username,
                                  password=parts.password, dbname=parts.database,
                                  connect_timeout=int(CHECK_SECONDS))
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()


def _broker(uri):
    from kombu import Connection
    with Connection(uri, connect_timeout=CHECK_SECONDS) as connection:
        connection.ensure_connection(max_retries=0)


def _tcp(url, default_port):
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port or default_port),
                                  timeout=CHECK_SECONDS):
        pass


def wsgi_app(name, config, metrics_app):
    """/metrics, /healthz and /livez for the metrics port."""
    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/livez":
            return _json(start_response, 200, {"part": name, "status": "ok"})
        if path == "/healthz":
            body, healthy = report(name, config)
            return _json(start_response, 200 if healthy else 503, body)
        return metrics_app(environ, start_response)
    return app


def _json(start_response, status, body):
    data = json.dumps(body).encode()
    start_response(f"{status} {'OK' if status == 200 else 'Service Unavailable'}",
                   [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                    ("Cache-Control", "no-store")])
    return [data]
