"""`helpdesk reindex`: rebuild the search index from the ticket database — after losing
Elasticsearch, or when switching backend. Search keeps answering from the index it has while
the new one is built; a stopped rebuild resumes where it was. Asks the tickets service for
the tickets, so the help desk must be running (`helpdesk up`)."""
import sys


def add_commands(commands):
    reindex = commands.add_parser("reindex", help="rebuild the search index from the ticket "
                                  "database (resumable; the help desk must be running)")
    reindex.add_argument("--batch", type=int, default=200, help="tickets per page (1-500)")
    reindex.add_argument("--fresh", action="store_true",
                         help="start over instead of resuming an unfinished rebuild")
    return {"reindex": cmd_reindex}


def cmd_reindex(args):
    from sqlalchemy.orm import Session
    from tqdm import tqdm

    from helpdesk import config as settings
    from helpdesk.cli import prepare
    from helpdesk.database import make_engine
    from helpdesk.rpc import ClusterRpcProxy
    from services.search import rebuilds
    from services.search.backends import backend_from_config

    if not 1 <= args.batch <= 500:
        raise ValueError("--batch: 1 to 500 tickets per page")
    config = prepare(say=lambda line: print(line, file=sys.stderr))
    engine = make_engine(config[settings.DATABASE_URL], pool_size=2)
    backend = backend_from_config(config, engine)
    system = {"system": "reindex"}
    try:
        with ClusterRpcProxy(config, timeout=float(config.get(settings.RPC_TIMEOUT) or 10)
                             * 6) as rpc, Session(engine) as session:
            total = _ask(lambda: rpc.tickets.ticket_total(system))
            with tqdm(total=total, unit="ticket", file=sys.stderr) as bar:
                def progress(done, of):
                    bar.total = of
                    bar.update(done - bar.n)
                row = rebuilds.run(session, backend,
                                   lambda after, limit: rpc.tickets.search_documents_after(
                                       system, after, limit),
                                   total, batch=args.batch, fresh=args.fresh, progress=progress)
        print(f"helpdesk: search index rebuilt ({backend.name}, {row['done']} tickets)")
    finally:
        backend.close()
        engine.dispose()


def _ask(call):
    from nameko.exceptions import UnknownService
    try:
        return call()
    except UnknownService:
        raise ValueError("the tickets service is not running: start the help desk "
                         "(helpdesk up) and run reindex again") from None
