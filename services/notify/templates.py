"""Notification templates as admins see and change them: the shipped text unless an admin
saved a version for the language, for every department (0) or for one."""
from datetime import datetime, timezone

from sqlalchemy import select

from helpdesk.database import per_transaction
from helpdesk.errors import InvalidInput, NotFound
from services.notify import texts
from services.notify.models import NotificationTemplate

EVERY_DEPARTMENT = 0


def choose(session, kind, language, department_id):
    """(subject, body) for a mail: the department's version, the help desk's version, the
    shipped text in the language, the shipped English text — the first that exists. Read
    once per transaction: a batch of events mostly wants the same few."""
    language = language if language in texts.LANGUAGES else "en"
    chosen = per_transaction(session, "templates")
    key = (kind, language, department_id)
    if key not in chosen:
        chosen[key] = _choose(session, kind, language, department_id)
    return chosen[key]


def _choose(session, kind, language, department_id):
    rows = session.scalars(select(NotificationTemplate).where(
        NotificationTemplate.kind == kind, NotificationTemplate.language == language,
        NotificationTemplate.department_id.in_([department_id or EVERY_DEPARTMENT,
                                                EVERY_DEPARTMENT]))).all()
    by_department = {row.department_id: row for row in rows}
    row = by_department.get(department_id) or by_department.get(EVERY_DEPARTMENT)
    if row is not None:
        return row.subject, row.body
    return texts.SHIPPED[kind].get(language) or texts.SHIPPED[kind]["en"]


def list_all(session):
    """Every kind × language, shipped or changed, and each department's own versions."""
    saved = session.scalars(select(NotificationTemplate)
                            .order_by(NotificationTemplate.kind, NotificationTemplate.language,
                                      NotificationTemplate.department_id)).all()
    changed = {(row.kind, row.language, row.department_id): row for row in saved}
    result = []
    for kind in texts.KINDS:
        for language in texts.LANGUAGES:
            row = changed.pop((kind, language, EVERY_DEPARTMENT), None)
            subject, body = texts.SHIPPED[kind][language]
            result.append(_as_dict(kind, language, None, row.subject if row else subject,
                                   row.body if row else body, shipped=row is None))
    result += [_as_dict(row.kind, row.language, row.department_id, row.subject, row.body,
                        shipped=False) for row in changed.values()]
    return result


def save(session, data):
    kind, language, department_id, subject, body = _valid(data)
    texts.check(kind, subject, body)
    row = session.get(NotificationTemplate, (kind, language, department_id)) \
        or NotificationTemplate(kind=kind, language=language, department_id=department_id)
    row.subject, row.body, row.updated_at = subject, body, datetime.now(timezone.utc)
    session.add(row)
    session.commit()
    return _as_dict(kind, language, department_id or None, subject, body, shipped=False)


def reset(session, kind, language, department_id=None):
    """Back to the shipped text (or the help desk's version, for a department)."""
    row = session.get(NotificationTemplate, (kind, language, department_id or EVERY_DEPARTMENT))
    if row is None:
        raise NotFound("TEMPLATE_NOT_CHANGED", f"no changed {kind} template in {language} "
                       "to reset")
    session.delete(row)
    session.commit()


def _valid(data):
    if not isinstance(data, dict):
        raise InvalidInput("INVALID_INPUT", "a template is an object")
    kind, language = data.get("kind"), data.get("language")
    if kind not in texts.KINDS:
        raise InvalidInput("UNKNOWN_KIND", f"kind must be one of {', '.join(texts.KINDS)}",
                           "kind")
    if language not in texts.LANGUAGES:
        raise InvalidInput("UNKNOWN_LANGUAGE",
                           f"language must be one of {', '.join(texts.LANGUAGES)}", "language")
    department_id = data.get("department_id") or EVERY_DEPARTMENT
    if isinstance(department_id, bool) or not isinstance(department_id, int) \
            or department_id < 0:
        raise InvalidInput("INVALID_INPUT", "department_id must be a department's id",
                           "department_id")
    for field in ("subject", "body"):
        value = data.get(field)
        if not isinstance(value, str) or not value.strip() or len(value) > 100_000:
            raise InvalidInput("INVALID_INPUT", f"{field} must be non-empty text", field)
    extra = set(data) - {"kind", "language", "department_id", "subject", "body"}
    if extra:
        raise InvalidInput("INVALID_INPUT", f"unknown fields: {', '.join(sorted(extra))}")
    return kind, language, department_id, data["subject"], data["body"]


def _as_dict(kind, language, department_id, subject, body, shipped):
    return {"kind": kind, "language": language, "department_id": department_id or None,
            "subject": subject, "body": body, "shipped": shipped,
            "variables": sorted(texts.example_context(kind))}
