"""`helpdesk parse-mail` and `helpdesk quarantine …`: mail ingest for admins at a shell.

The quarantine commands work on the database directly, so they also work while the services
are stopped; a reprocessed mail is queued and picked up when a parse worker runs.
"""
import json
import sys
from pathlib import Path


def add_commands(commands):
    parse = commands.add_parser("parse-mail", help="print what the parser makes of a raw mail "
                                "(JSON; touches no database)")
    parse.add_argument("file", help="a raw mail (.eml); - reads standard input")
    quarantine = commands.add_parser("quarantine", help="list, show and reprocess mail that "
                                     "could not be processed")
    actions = quarantine.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="quarantined mail, newest first")
    show = actions.add_parser("show", help="one raw mail: its reason and what it parses to")
    show.add_argument("raw_mail_id", type=int)
    show.add_argument("--raw", action="store_true", help="print the raw bytes instead")
    again = actions.add_parser("reprocess", help="queue a quarantined mail again")
    again.add_argument("raw_mail_id", type=int)
    return {"parse-mail": cmd_parse_mail, "quarantine": cmd_quarantine}


def cmd_parse_mail(args):
    from services.ingest.parse_preview import preview

    if args.file == "-":
        raw = sys.stdin.buffer.read()
    else:
        path = Path(args.file)
        if not path.is_file():
            raise ValueError(f"{args.file}: no such file")
        raw = path.read_bytes()
    print(json.dumps(preview(raw), ensure_ascii=False, indent=2))


def cmd_quarantine(args):
    from sqlalchemy.orm import Session

    from helpdesk import config as settings
    from helpdesk.cli import prepare
    from helpdesk.database import make_engine

    config = prepare(say=lambda line: print(line, file=sys.stderr))  # database up, migrated
    engine = make_engine(config[settings.DATABASE_URL], pool_size=1)
    try:
        with Session(engine) as session:
            return ACTIONS[args.action](session, config, args)
    finally:
        engine.dispose()


def _list(session, config, args):
    from services.ingest import raw_mails

    rows, total = raw_mails.listing(session, "quarantined", limit=200)
    print(f"{total} quarantined mail(s)")
    for row in rows:
        print(f"  {row.id:>8}  {row.received_at:%Y-%m-%d %H:%M}  {row.size:>9} B  {row.reason}")


def _show(session, config, args):
    from services.ingest import raw_mails
    from services.ingest.parse_preview import preview

    row = raw_mails.get(session, args.raw_mail_id, with_content=True)
    if args.raw:
        sys.stdout.buffer.write(row.content)
        return
    shown = {**raw_mails.as_dict(row), "parsed": preview(row.content)}
    print(json.dumps(shown, ensure_ascii=False, indent=2))


def _reprocess(session, config, args):
    from helpdesk import config as settings
    from services.ingest import queue, raw_mails

    row = raw_mails.requeue(session, args.raw_mail_id)
    publisher = queue.RawMailPublisher(config[settings.AMQP_URI])
    queued = publisher.publish(row.id)
    publisher.close()
    print(f"raw mail {row.id} {'queued' if queued else 'marked'} for processing"
          + ("" if queued else " (the broker is unreachable; the sweeper will queue it)"))


ACTIONS = {"list": _list, "show": _show, "reprocess": _reprocess}
