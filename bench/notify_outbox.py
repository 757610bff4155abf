"""Outbound mail throughput: N mails put in the outbox, timed until the relay (a real SMTP
server, tests/smtp_sink.py, in its own process) or the Maildir has them all. Starts its own
notify process on a throwaway database; needs PostgreSQL and RabbitMQ running.

    .venv/bin/python bench/notify_outbox.py --mails 2000 --senders 1 4 --transport smtp maildir
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import cpu_by_part, cpu_spent_since, throwaway_database  # noqa: E402
from helpdesk import config as settings  # noqa: E402
from helpdesk.database import make_engine  # noqa: E402
from services.notify import outbox  # noqa: E402
from services.notify.compose import Outgoing, Party  # noqa: E402
from tests.relay import Relay  # noqa: E402


def fill(engine, mails):
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE notify.outbox CASCADE"))
    with Session(engine) as session:
        for n in range(mails):
            outbox.enqueue(session, f"bench:{n}", Outgoing(
                kind="reply", sender=Party("support@isp.example", "Техподдержка"),
                to=[Party(f"customer{n}@mail.example", "Анна Иванова")],
                subject=f"Re: Нет интернета [#{1000 + n}]",
                text="Перезагрузите роутер и проверьте кабель. " * 20,
                message_id=f"<hd.{1000 + n}.bench{n}@isp.example>", ticket_id=1000 + n))
        session.commit()


def sent(engine):
    with engine.connect() as connection:
        return connection.scalar(text("SELECT count(*) FROM notify.outbox WHERE status='sent'"))


def run(config, url, mails, senders, transport, workdir):
    engine = make_engine(url, pool_size=2)
    fill(engine, mails)
    relay = Relay(workdir / f"relay-{senders}").start() if transport == "smtp" else None
    env = {**os.environ, "DATABASE_URL": url, "AMQP_URI": config[settings.AMQP_URI],
           "NOTIFY_SENDERS": str(senders), "LOG_LEVEL": "WARNING",
           **({key: str(value) for key, value in relay.settings().items()} if relay else
              {"SMTP_RELAY_HOST": "", "OUTBOUND_MAILDIR": str(workdir / f"maildir-{senders}")})}
    process = subprocess.Popen([sys.executable, "-m", "helpdesk.runner", "notify"], env=env)
    try:
        while sent(engine) == 0:
            time.sleep(0.01)
        started, first = time.time(), sent(engine)
        cpu_before = cpu_by_part({"notify": process}, "bench")
        while sent(engine) < mails:
            time.sleep(0.05)
        elapsed = time.time() - started
        spent = cpu_spent_since(cpu_before, {"notify": process}, "bench")
        rate = (mails - first) / elapsed
        per_mail = ", ".join(f"{name} {seconds * 1000 / (mails - first):.2f}"
                             for name, seconds in spent.items())
        print(f"{mails} mails, {senders} sender(s), {transport}: {rate:.0f} mails/s "
              f"({elapsed:.1f} s); CPU ms per mail: {per_mail}", flush=True)
    finally:
        process.terminate()
        process.wait(timeout=30)
        if relay:
            relay.stop()
        engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--senders", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--transport", nargs="+", default=["smtp", "maildir"],
                        choices=["smtp", "maildir"])
    args = parser.parse_args()
    config = settings.load()
    url, drop = throwaway_database(config[settings.DATABASE_URL])
    try:
        with tempfile.TemporaryDirectory() as workdir:
            for transport in args.transport:
                for senders in args.senders:
                    run(config, url, args.mails, senders, transport, Path(workdir))
    finally:
        drop()


if __name__ == "__main__":
    main()
