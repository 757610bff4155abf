"""Runs one part of the help desk in this process: `python -m helpdesk.runner NAME`, where
NAME is a nameko service (tickets, ingest, notify, escalation, search), `gateway`, or `smtp` (the SMTP listener)."""
import importlib
import logging.config
import os
import signal
import sys
import time

from helpdesk import config as settings
from helpdesk import logs

log = logging.getLogger("helpdesk.runner")
RESTART_SECONDS, MAX_RESTART_SECONDS = 1.0, 30.0
RESTART_DELAY = "HELPDESK_RESTART_DELAY"  # carried across a restart, for the back-off

SERVICES = {"tickets": "services.tickets.service:TicketsService",
            "ingest": "services.ingest.service:IngestService",
            "notify": "services.notify.service:NotifyService",
            "escalation": "services.escalation.service:EscalationService",
            "search": "services.search.service:SearchService"}
PROCESSES = (*SERVICES, "smtp", "gateway")


def service_class(name):
    module, _, attribute = SERVICES[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


def run_service(name, config):
    """Run the service until a signal stops it. A lost broker connection kills a nameko 2.14
    container (an ack or a reply on a socket the broker reset) and leaves stale connections in
    process-wide pools; so the process then replaces itself with a fresh one (same pid, so
    whatever supervises it sees no change), after a pause that doubles while the broker is away."""
    import eventlet
    from eventlet.event import Event
    from nameko.runners import ServiceRunner

    stopping = Event()
    runner = ServiceRunner(config)
    runner.add_service(service_class(name))
    for signum in (signal.SIGTERM, signal.SIGINT):  # Ctrl-C reaches the whole process group
        signal.signal(signum, lambda *_: eventlet.spawn_n(_stop, stopping, runner))
    serve_metrics(config, name)
    started = time.monotonic()
    try:
        runner.start()
        # the container itself, not runner.wait(): that one first stops the dead container
        # gracefully, which can hang on workers stuck with the lost connection
        next(iter(runner.containers)).wait()
    except broker_connection_errors() as error:
        delay = float(os.environ.get(RESTART_DELAY, RESTART_SECONDS))
        if time.monotonic() - started > 2 * MAX_RESTART_SECONDS:  # it had been running well
            delay = RESTART_SECONDS
        log.warning("%s: lost the broker (%r); starting again in %.0f s", name, error, delay)
        with eventlet.Timeout(delay, False):
            stopping.wait()
        if not stopping.ready():
            restart(name, min(delay * 2, MAX_RESTART_SECONDS))


def restart(name, next_delay):
    os.environ[RESTART_DELAY] = str(next_delay)
    sys.stdout.flush()  # not logging.shutdown(): a handler lock may be held by a killed worker
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "helpdesk.runner", name])


def broker_connection_errors():
    import amqp.exceptions
    import kombu.exceptions

    return (OSError, amqp.exceptions.ConnectionError, kombu.exceptions.OperationalError)


def _stop(stopping, runner):
    if not stopping.ready():
        stopping.send(True)
        runner.stop()


def run_gateway(config):
    import eventlet
    from eventlet import wsgi

    from gateway import create_app

    host, _, port = config["GATEWAY_ADDRESS"].rpartition(":")
    app = create_app(config)
    wsgi.server(eventlet.listen((host or "127.0.0.1", int(port))), app,
                log=logging.getLogger("gateway.access"), log_output=False,
                # every open /api/v1/events stream holds a connection for as long as it lasts
                max_size=int(config.get(settings.GATEWAY_MAX_CONNECTIONS) or 10000))


def run_smtp(config):
    """asyncio, not eventlet: aiosmtpd wants a real event loop."""
    import asyncio

    from helpdesk.database import make_engine
    from services.ingest import queue, smtp

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    host, _, port = config[settings.SMTP_ADDRESS].rpartition(":")
    engine = make_engine(config[settings.DATABASE_URL], pool_size=2, name="helpdesk smtp")
    receiver = smtp.RawMailReceiver(engine, queue.RawMailPublisher(config[settings.AMQP_URI]))
    serve_metrics(config, "smtp", green=False)  # no eventlet in this process
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        asyncio.run(smtp.serve(host or "127.0.0.1", int(port), receiver,
                               int(config[settings.MAX_MAIL_BYTES])))
    except KeyboardInterrupt:
        pass
    finally:
        receiver.close()
        engine.dispose()


def serve_metrics(config, name, green=True):
    """Prometheus /metrics, and /healthz and /livez (helpdesk.health), on METRICS_PORT (0:
    none) at METRICS_ADDRESS. Under eventlet it is a green WSGI server: prometheus's own is a
    socketserver whose selector module was imported before eventlet patched it
    (logging.config imports socketserver), so its blocking poll froze the whole process —
    every service started by `helpdesk up` hung."""
    from prometheus_client import make_wsgi_app

    from helpdesk import health

    port = int(config.get(settings.METRICS_PORT) or 0)
    if not port:
        return
    address = config.get(settings.METRICS_ADDRESS) or "127.0.0.1"
    app = health.wsgi_app(name, config, make_wsgi_app())
    if green:
        import eventlet
        from eventlet import wsgi
        eventlet.spawn(wsgi.server, eventlet.listen((address, port)), app,
                       log=logging.getLogger("metrics.access"), log_output=False)
    else:
        import threading
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
        from socketserver import ThreadingMixIn

        class Server(ThreadingMixIn, WSGIServer):
            daemon_threads = True

        class QuietHandler(WSGIRequestHandler):
            def log_message(self, *args):  # scrapes every 15 s are not news
                pass

        server = make_server(address, port, app, Server, handler_class=QuietHandler)
        threading.Thread(target=server.serve_forever, daemon=True, name="metrics").start()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in PROCESSES:
        sys.exit(f"usage: python -m helpdesk.runner {{{','.join(PROCESSES)}}}")
    if argv[0] != "smtp":
        import eventlet
        eventlet.monkey_patch()  # before anything opens a socket
    config = settings.load()
    logging.config.dictConfig(config["LOGGING"])
    logs.configure(argv[0], config.get(settings.LOG_FORMAT))
    if argv[0] == "gateway":
        run_gateway(config)
    elif argv[0] == "smtp":
        run_smtp(config)
    else:
        run_service(argv[0], config)


if __name__ == "__main__":
    main()
