"""The admins' routing rules: which department gets new mail that no address decided."""
from sqlalchemy import select

from helpdesk.errors import NotFound
from helpdesk.payloads import RoutingRuleIn, RoutingRulePatch, parse
from services.ingest.decisions import RoutingRule as Rule
from services.ingest.models import RoutingRule


def as_dict(row):
    return {"id": row.id, "position": row.position, "department_id": row.department_id,
            "sender_domain": row.sender_domain, "subject_contains": row.subject_contains,
            "body_contains": row.body_contains, "enabled": row.enabled}


def list_all(session):
    return [as_dict(row) for row in _ordered(session)]


def in_force(session):
    """The enabled rules, in the order they are tried, as the routing filter reads them."""
    return [Rule(id=row.id, department_id=row.department_id, sender_domain=row.sender_domain,
                 subject_contains=row.subject_contains, body_contains=row.body_contains)
            for row in _ordered(session) if row.enabled]


def create(session, data):
    row = RoutingRule(**parse(RoutingRuleIn, data).model_dump())
    session.add(row)
    session.commit()
    return as_dict(row)


def update(session, rule_id, data):
    row = get(session, rule_id)
    for field, value in parse(RoutingRulePatch, data).model_dump(exclude_unset=True).items():
        setattr(row, field, value)
    session.commit()
    return as_dict(row)


def delete(session, rule_id):
    session.delete(get(session, rule_id))
    session.commit()


def get(session, rule_id):
    row = session.get(RoutingRule, rule_id) if isinstance(rule_id, int) else None
    if row is None:
        raise NotFound("RULE_NOT_FOUND", f"routing rule {rule_id} does not exist")
    return row


def _ordered(session):
    return session.scalars(select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id))
