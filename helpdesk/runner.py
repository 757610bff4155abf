"""Runs one part of the help desk in this process: `python -m helpdesk.runner NAME`, where
NAME is a nameko service (tickets, ingest), `gateway`, or `smtp` (the SMTP listener)."""
import importlib
import logging.config
import signal
import sys

from helpdesk import config as settings

SERVICES = {"tickets": "services.tickets.service:TicketsService",
            "ingest": "services.ingest.service:IngestService"}
PROCESSES = (*SERVICES, "smtp", "gateway")


def service_class(name):
    module, _, attribute = SERVICES[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


def run_service(name, config):
    import eventlet
    from nameko.runners import ServiceRunner

    runner = ServiceRunner(config)
    runner.add_service(service_class(name))
    for signum in (signal.SIGTERM, signal.SIGINT):  # Ctrl-C reaches the whole process group
        signal.signal(signum, lambda *_: eventlet.spawn_n(runner.stop))
    runner.start()
    runner.wait()


def run_gateway(config):
    import eventlet
    from eventlet import wsgi

    from gateway import create_app

    host, _, port = config["GATEWAY_ADDRESS"].rpartition(":")
    app = create_app(config)
    wsgi.server(eventlet.listen((host or "127.0.0.1", int(port))), app,
                log=logging.getLogger("gateway.access"), log_output=False)


def run_smtp(config):
    """asyncio, not eventlet: aiosmtpd wants a real event loop."""
    import asyncio

    from helpdesk.database import make_engine
    from services.ingest import queue, smtp

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    host, _, port = config[settings.SMTP_ADDRESS].rpartition(":")
    engine = make_engine(config[settings.DATABASE_URL], pool_size=8)
    receiver = smtp.RawMailReceiver(engine, queue.RawMailPublisher(config[settings.AMQP_URI]))
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        asyncio.run(smtp.serve(host or "127.0.0.1", int(port), receiver,
                               int(config[settings.MAX_MAIL_BYTES])))
    except KeyboardInterrupt:
        pass
    finally:
        receiver.close()
        engine.dispose()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in PROCESSES:
        sys.exit(f"usage: python -m helpdesk.runner {{{','.join(PROCESSES)}}}")
    if argv[0] != "smtp":
        import eventlet
        eventlet.monkey_patch()  # before anything opens a socket
    config = settings.load()
    logging.config.dictConfig(config["LOGGING"])
    if argv[0] == "gateway":
        run_gateway(config)
    elif argv[0] == "smtp":
        run_smtp(config)
    else:
        run_service(argv[0], config)


if __name__ == "__main__":
    main()
