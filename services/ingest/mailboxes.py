"""IMAP mailboxes to poll: from the config file (kept in step at start) and from admins."""
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from helpdesk.errors import Conflict, InvalidInput, NotFound
from helpdesk.payloads import MailboxIn, MailboxPatch, parse
from services.ingest import imap
from services.ingest.models import Mailbox


def as_dict(row):
    """A mailbox as the API shows it: never with its password."""
    return {"id": row.id, "name": row.name, "host": row.host, "port": row.port,
            "security": row.security, "username": row.username, "folder": row.folder,
            "department_id": row.department_id, "after_import": row.after_import,
            "enabled": row.enabled, "from_config": row.from_config,
            "last_polled_at": row.last_polled_at.isoformat() if row.last_polled_at else None,
            "last_error": row.last_error}


def list_all(session):
    return [as_dict(row) for row in session.scalars(select(Mailbox).order_by(Mailbox.id))]


def get(session, mailbox_id):
    row = session.get(Mailbox, mailbox_id) if isinstance(mailbox_id, int) else None
    if row is None:
        raise NotFound("MAILBOX_NOT_FOUND", f"mailbox {mailbox_id} does not exist")
    return row


def create(session, data, from_config=False):
    payload = parse(MailboxIn, data)
    row = Mailbox(**payload.model_dump(), from_config=from_config)
    session.add(row)
    _commit(session, payload.name)
    return as_dict(row)


def update(session, mailbox_id, data):
    row = get(session, mailbox_id)
    for field, value in parse(MailboxPatch, data).model_dump(exclude_unset=True).items():
        setattr(row, field, value)
    _commit(session, row.name)
    return as_dict(row)


def delete(session, mailbox_id):
    session.delete(get(session, mailbox_id))
    session.commit()


def sync_from_config(session, configured, department_ids_by_name):
    """Create or update the mailboxes named in the config file (matched by name)."""
    for index, entry in enumerate(configured or ()):
        data = dict(entry)
        department = data.pop("department", None)
        if department is not None:
            if str(department).lower() not in department_ids_by_name:
                raise InvalidInput("UNKNOWN_DEPARTMENT", f"MAILBOXES[{index}] names department "
                                   f"{department!r}, which does not exist", "department")
            data["department_id"] = department_ids_by_name[str(department).lower()]
        payload = parse(MailboxIn, data)
        row = session.scalar(select(Mailbox).where(Mailbox.name == payload.name))
        if row is None:
            row = Mailbox(from_config=True)
            session.add(row)
        for field, value in payload.model_dump().items():
            setattr(row, field, value)
    try:
        session.commit()
    except IntegrityError:
        # Another replica wrote the same new mailbox a moment ago: it is there now.
        session.rollback()


def due(session, every_seconds):
    """Enabled mailboxes not polled for `every_seconds`."""
    rows = session.scalars(select(Mailbox).where(Mailbox.enabled).order_by(Mailbox.id))
    return [row for row in rows if row.last_polled_at is None
            or (_now(session) - row.last_polled_at).total_seconds() >= every_seconds]


def settings(row):
    return imap.Mailbox(id=row.id, name=row.name, host=row.host, port=row.port,
                        security=row.security, username=row.username, password=row.password,
                        folder=row.folder, department_id=row.department_id,
                        after_import=row.after_import)


def _now(session):
    return session.scalar(select(func.now()))


def _commit(session, name):
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("MAILBOX_EXISTS", f"a mailbox named {name!r} already exists",
                       "name") from None


def department_of(session, mailbox_id):
    """The department a mailbox delivers to (None: route by address and rules)."""
    if mailbox_id is None:
        return None
    row = session.get(Mailbox, mailbox_id)
    return row.department_id if row else None


def polled(session, mailbox_id, error=None):
    """Note a finished poll (and what went wrong, for the admin page)."""
    row = session.get(Mailbox, mailbox_id)
    if row is not None:
        row.last_polled_at, row.last_error = func.now(), error
        session.commit()
