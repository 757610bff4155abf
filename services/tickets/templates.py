"""Canned replies: global or per department, with placeholders filled for a ticket."""
import string

from sqlalchemy import or_, select

from helpdesk.errors import Forbidden, InvalidInput, NotFound
from helpdesk.payloads import RenderIn, TemplateIn, TemplatePatch, parse
from services.tickets import access, customers, serialise
from services.tickets.models import Agent, Template

PLACEHOLDERS = ("customer_name", "ticket_number", "agent_name", "ticket_subject")


def list_visible(session, actor, department_id=None):
    query = select(Template).order_by(Template.title, Template.id)
    if not actor.sees_every_department:
        query = query.where(or_(Template.department_id.is_(None),
                                Template.department_id.in_(actor.department_ids or [-1])))
    if department_id is not None:
        query = query.where(or_(Template.department_id.is_(None),
                                Template.department_id == department_id))
    return [serialise.template(row) for row in session.scalars(query)]


def create(session, actor, data):
    payload = parse(TemplateIn, data)
    _may_edit(session, actor, payload.department_id)
    _check_placeholders(payload.body)
    template = Template(title=payload.title, body=payload.body,
                        department_id=payload.department_id)
    session.add(template)
    session.commit()
    return serialise.template(template)


def update(session, actor, template_id, data):
    payload = parse(TemplatePatch, data)
    template = get(session, actor, template_id)
    _may_edit(session, actor, template.department_id)
    if payload.title is not None:
        template.title = payload.title
    if payload.body is not None:
        _check_placeholders(payload.body)
        template.body = payload.body
    session.commit()
    return serialise.template(template)


def delete(session, actor, template_id):
    template = get(session, actor, template_id)
    _may_edit(session, actor, template.department_id)
    session.delete(template)
    session.commit()
    return {"deleted": template_id}


def get(session, actor, template_id):
    template = session.get(Template, template_id) if isinstance(template_id, int) else None
    if template is None or (template.department_id is not None
                            and not actor.can_see(template.department_id)):
        raise NotFound("TEMPLATE_NOT_FOUND", f"template {template_id} does not exist")
    return template


def render(session, actor, template_id, data):
    """The template's text for one ticket, placeholders filled."""
    payload = parse(RenderIn, data)
    template = get(session, actor, template_id)
    ticket = access.visible_ticket(session, actor, payload.ticket_id)
    customer = customers.get(session, ticket.customer_id)
    agent = session.get(Agent, actor.agent_id) if actor.agent_id else None
    values = {"customer_name": customer.name or customer.email, "ticket_number": ticket.id,
              "agent_name": agent.name if agent else "", "ticket_subject": ticket.subject}
    return {"body": string.Formatter().vformat(template.body, (), values)}


def _may_edit(session, actor, department_id):
    if department_id is None:
        access.require_admin(actor)
        return
    access.existing_department(session, department_id)
    if not actor.can_see(department_id):
        raise Forbidden("NOT_YOUR_DEPARTMENT", "templates of a department are kept by its agents")


def _check_placeholders(body):
    """Reject a body whose {placeholders} would fail at render time, when it is written."""
    try:
        names = {field for _, field, _, _ in string.Formatter().parse(body) if field is not None}
    except ValueError as error:
        raise InvalidInput("INVALID_TEMPLATE", f"body: {error} (write {{{{ for a literal brace)",
                           "body") from None
    unknown = names - set(PLACEHOLDERS)
    if unknown:
        raise InvalidInput("UNKNOWN_PLACEHOLDER",
                           f"body: unknown placeholder {{{sorted(unknown)[0]}}}; known: "
                           + ", ".join(PLACEHOLDERS), "body")
