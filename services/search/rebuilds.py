"""Rebuilding the index from the ticket database (`helpdesk reindex`): page by page in ticket
order, the position saved after each page so a stopped rebuild resumes where it was; live
changes keep going to the index being searched, and into the new one too."""
from datetime import datetime, timezone

from sqlalchemy import select

from services.search.documents import ticket_document
from services.search.models import Rebuild


def running(session, backend_name):
    return session.scalar(select(Rebuild).where(Rebuild.backend == backend_name,
                                                Rebuild.finished_at.is_(None))
                          .order_by(Rebuild.id.desc()).limit(1))


def running_target(session, backend_name):
    row = running(session, backend_name)
    session.commit()
    return row.target if row else None


def start(session, backend, total, fresh=False):
    """The rebuild to carry on with: the unfinished one, unless `fresh`, or a new one."""
    row = running(session, backend.name)
    if row is not None and fresh:
        row.finished_at = datetime.now(timezone.utc)  # abandoned: start over
        row = None
    if row is None:
        row = Rebuild(backend=backend.name, target=backend.begin_rebuild(), total=total)
        session.add(row)
    row.total = total
    session.commit()
    backend.rebuilding_into(row.target)
    return row


def run(session, backend, fetch_after, total, batch=200, fresh=False, progress=None):
    """Rebuild; `fetch_after(after_id, limit)` pages through tickets.search_documents_after.
    `progress(done, total)` is told after every page. Returns {"target", "done"}."""
    row = start(session, backend, total, fresh)
    while True:
        page = fetch_after(row.after_ticket_id, batch)
        if not page:
            break
        documents = [ticket_document(item) for item in page]
        backend.store(documents, rebuilding=True)
        row.after_ticket_id = documents[-1].ticket_id
        row.done += len(documents)
        session.commit()
        if progress:
            progress(row.done, max(row.total, row.done))
    backend.finish_rebuild(row.target, row.started_at)
    backend.rebuilding_into(None)
    row.finished_at = datetime.now(timezone.utc)
    summary = {"target": row.target, "done": row.done}
    session.commit()
    return summary
