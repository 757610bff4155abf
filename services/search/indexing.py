"""Keeping the index up to date: the tickets an event names are read afresh from the tickets
service and stored; the versions make a late, older read harmless."""
from datetime import datetime, timezone

from services.search import metrics
from services.search.documents import ticket_document

LAG_WINDOW_SECONDS = 3600  # older changes are a rebuild's, not an event's: not indexing lag


def refresh(backend, fetch, ticket_ids, rebuilding=False):
    """Store the current documents of these tickets; returns the ticket ids applied."""
    ids = sorted({number for number in ticket_ids if isinstance(number, int)})
    if not ids:
        return []
    documents = [ticket_document(item) for item in fetch(ids)]
    applied = backend.store(documents, rebuilding=rebuilding)
    observe(documents, set(applied))
    return applied


def observe(documents, applied):
    now = datetime.now(timezone.utc)
    for document in documents:
        if document.ticket_id not in applied:
            continue
        metrics.DOCUMENTS.labels("ticket").inc()
        metrics.DOCUMENTS.labels("message").inc(len(document.messages))
        lag = (now - document.updated_at).total_seconds()
        if 0 <= lag < LAG_WINDOW_SECONDS:
            metrics.INDEXING_LAG.observe(lag)
