"""Saved searches ("workspaces"): an agent's own, and those shared with their departments.
Only the owner (or an admin) changes or removes one."""
from datetime import datetime, timezone

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from helpdesk.errors import Conflict, NotFound
from helpdesk.payloads import parse
from helpdesk.search_payloads import SavedSearchIn
from services.search.models import SavedSearch


def serialise(row):
    return {"id": row.id, "agent_id": row.agent_id, "name": row.name, "query": row.query,
            "department_id": row.department_id, "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat()}


def visible(session, who):
    """The agent's own searches, then those shared with one of their departments."""
    rows = session.scalars(select(SavedSearch).where(or_(
        SavedSearch.agent_id == who["id"],
        SavedSearch.department_id.in_(who.get("department_ids") or [])))
        .order_by(SavedSearch.agent_id != who["id"], SavedSearch.name)).all()
    return [serialise(row) for row in rows]


def get(session, who, saved_id):
    row = session.get(SavedSearch, saved_id) if isinstance(saved_id, int) else None
    if row is None or not (row.agent_id == who["id"] or
                           row.department_id in (who.get("department_ids") or []) or
                           who.get("role") == "admin"):
        raise NotFound("SAVED_SEARCH_NOT_FOUND", f"saved search {saved_id} does not exist")
    return row


def save(session, who, data, saved_id=None):
    payload = parse(SavedSearchIn, data)
    if payload.department_id is not None and who.get("role") != "admin" and \
            payload.department_id not in (who.get("department_ids") or []):
        raise NotFound("DEPARTMENT_NOT_FOUND",
                       f"department {payload.department_id} does not exist", "department_id")
    row = _own(session, who, saved_id) if saved_id is not None else \
        SavedSearch(agent_id=who["id"])
    row.name, row.department_id = payload.name, payload.department_id
    row.query = payload.query.model_dump(mode="json", exclude_defaults=True)
    row.updated_at = datetime.now(timezone.utc)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("NAME_TAKEN", f"you already have a saved search named {payload.name!r}",
                       "name") from None
    return serialise(row)


def delete(session, who, saved_id):
    session.delete(_own(session, who, saved_id))
    session.commit()


def _own(session, who, saved_id):
    row = get(session, who, saved_id)
    if row.agent_id != who["id"] and who.get("role") != "admin":
        raise NotFound("SAVED_SEARCH_NOT_FOUND", f"saved search {saved_id} is not yours")
    return row
