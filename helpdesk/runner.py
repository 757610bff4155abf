"""Runs one service (or the gateway) in this process: `python -m helpdesk.runner tickets`."""
import eventlet

eventlet.monkey_patch()  # noqa: E402 -- before anything opens a socket

import importlib
import logging.config
import signal
import sys

from helpdesk import config as settings

SERVICES = {"tickets": "services.tickets.service:TicketsService"}


def service_class(name):
    module, _, attribute = SERVICES[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


def run_service(name, config):
    from nameko.runners import ServiceRunner

    runner = ServiceRunner(config)
    runner.add_service(service_class(name))
    for signum in (signal.SIGTERM, signal.SIGINT):  # Ctrl-C reaches the whole process group
        signal.signal(signum, lambda *_: eventlet.spawn_n(runner.stop))
    runner.start()
    runner.wait()


def run_gateway(config):
    from eventlet import wsgi

    from gateway import create_app

    host, _, port = config["GATEWAY_ADDRESS"].rpartition(":")
    app = create_app(config)
    wsgi.server(eventlet.listen((host or "127.0.0.1", int(port))), app,
                log=logging.getLogger("gateway.access"), log_output=False)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    config = settings.load()
    logging.config.dictConfig(config["LOGGING"])
    if argv[:1] == ["gateway"]:
        run_gateway(config)
    else:
        run_service(argv[0], config)


if __name__ == "__main__":
    main()
