"""The `helpdesk` command: up, test, migrate, create-admin, demo, parse-mail, quarantine,
reindex."""
import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time

import requests

from helpdesk import config as settings
from helpdesk import mail_commands, search_commands
from helpdesk.runner import PROCESSES


def main(argv=None):
    parser = argparse.ArgumentParser(prog="helpdesk", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="install and start what is missing, then run everything")
    test = commands.add_parser("test", help="run the whole test suite (starts what it needs)")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    commands.add_parser("migrate", help="create or upgrade the database schemas")
    admin = commands.add_parser("create-admin", help="create an administrator and an API token")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", default="Administrator")
    admin.add_argument("--password", help="generated and printed when not given")
    demo = commands.add_parser("demo", help="load a demo ISP support centre")
    demo.add_argument("--tickets", type=int, default=300)
    commands_of_mail = mail_commands.add_commands(commands)
    commands_of_search = search_commands.add_commands(commands)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["test"]:  # everything after `test` belongs to pytest, options included
        args = argparse.Namespace(command="test", pytest_args=argv[1:])
    else:
        args = parser.parse_args(argv)
    try:
        return {**COMMANDS, **commands_of_mail, **commands_of_search}[args.command](args) or 0
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a CLI message, not a traceback
        from sqlalchemy.exc import OperationalError

        from helpdesk.errors import HelpdeskError
        from helpdesk.infra import InfrastructureUnavailable
        if isinstance(error, (InfrastructureUnavailable, HelpdeskError, ValueError, KeyError)):
            print(f"helpdesk: {error}", file=sys.stderr)
            return 2
        if isinstance(error, OperationalError):
            print(f"helpdesk: the database cannot be used: {error.orig}".strip(), file=sys.stderr)
            return 2
        raise


def prepare(say=print):
    from helpdesk import event_queues, infra
    from helpdesk.migrations import upgrade_all

    config = settings.load()
    infra.ensure_all(config, say=say)
    upgrade_all(config["DATABASE_URL"])
    event_queues.declare_all(config)
    return config


def cmd_migrate(args):
    prepare()
    print("helpdesk: database schemas are up to date")


def cmd_test(args):
    from helpdesk import infra

    infra.ensure_all(settings.load())
    pytest_args = [a for a in args.pytest_args if a != "--"]
    return subprocess.call([sys.executable, "-m", "pytest", *pytest_args])


def cmd_create_admin(args):
    from helpdesk import accounts

    config = prepare()
    password = args.password or secrets.token_urlsafe(12)
    token = accounts.create_admin(config, args.email, args.name, password)
    print(f"admin {args.email} created\n  password: {password}\n  API token: {token}")


def cmd_demo(args):
    from helpdesk import demo

    config = prepare()
    summary = demo.load(config, tickets=args.tickets)
    print(f"helpdesk: demo loaded: {summary}")


def cmd_up(args):
    from helpdesk import accounts

    config = prepare()
    login = accounts.first_admin(config)
    # a plain `kill` must stop the children too, as Ctrl-C does; and Ctrl-C must work even
    # when started from a shell that had SIGINT ignored (a background job: `… &`)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    metrics_ports = _metrics_ports(config)
    _check_ports_free(config, metrics_ports)
    children = [start_process([name], METRICS_PORT=metrics_ports.get(name, 0))
                for name in PROCESSES]
    url = f"http://{config['GATEWAY_ADDRESS']}"
    try:
        wait_healthy(url, children)
        print(f"\nThe help desk is up at {url}  (API: {url}/api/v1, "
              f"OpenAPI: {url}/api/v1/openapi.json, metrics: {url}/metrics)")
        if metrics_ports:
            print("Prometheus: " + ", ".join(f"{name} on http://127.0.0.1:{port}/metrics"
                                             for name, port in metrics_ports.items()))
        print(f"Mail: SMTP on {config[settings.SMTP_ADDRESS]}; mail to a department's address "
              "becomes a ticket.")
        print(f"Outbound mail: {_outbound(config)}")
        print(login)
        print("Press Ctrl-C to stop it.")
        while all(child.poll() is None for child in children):
            time.sleep(1)
        print("helpdesk: a process stopped unexpectedly; stopping the rest", file=sys.stderr)
        return 1
    finally:
        stop(children)


def _outbound(config):
    from services.notify import transports
    if transports.relay_host(config):
        return transports.from_config(config).describe()
    return (f"no SMTP relay configured (SMTP_RELAY_HOST), so mail is delivered to the Maildir "
            f"{transports.maildir_path(config)}/new")


def _metrics_ports(config):
    """Each process but the gateway (which has /metrics) on a port of its own."""
    first = int(config.get(settings.METRICS_FIRST_PORT) or 0)
    names = [name for name in PROCESSES if name != "gateway"]
    return {name: first + index for index, name in enumerate(names)} if first else {}


def _check_ports_free(config, metrics_ports):
    """Say which address is taken before starting anything, rather than have a child die with
    a traceback halfway through starting."""
    wanted = {"the gateway (GATEWAY_ADDRESS)": config[settings.GATEWAY_ADDRESS],
              "the SMTP listener (SMTP_ADDRESS)": config[settings.SMTP_ADDRESS],
              **{f"the metrics of {name} (METRICS_FIRST_PORT + {index})": f"127.0.0.1:{port}"
                 for index, (name, port) in enumerate(metrics_ports.items())}}
    taken = [f"{address} for {what}" for what, address in wanted.items() if not _free(address)]
    if taken:
        raise ValueError("these addresses are in use by another program: " + "; ".join(taken))


def _free(address):
    host, _, port = address.rpartition(":")
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            probe.bind((host or "0.0.0.0", int(port)))
        except OSError:
            return False
        return True


def start_process(argv, **env):
    return subprocess.Popen([sys.executable, "-m", "helpdesk.runner", *argv],
                            env={**os.environ, **{key: str(value) for key, value in env.items()}})


def wait_healthy(url, children, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            raise ValueError("a service exited while starting; see the messages above")
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise ValueError(f"the help desk did not become healthy at {url}/healthz in {seconds} s")


def stop(children):
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


COMMANDS = {"up": cmd_up, "test": cmd_test, "migrate": cmd_migrate,
            "create-admin": cmd_create_admin, "demo": cmd_demo}

if __name__ == "__main__":
    sys.exit(main())
