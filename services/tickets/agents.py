"""Agents: their departments and role, passwords and API tokens, and disabling them.

A disabled agent can no longer log in or use a token, but stays in the database so every
message they wrote keeps their name.
"""
import secrets

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from helpdesk.errors import Conflict, InvalidInput, NotFound, Unauthorized
from helpdesk.payloads import AgentIn, AgentPatch, Credentials, Preferences, parse
from services.tickets import access, serialise
from services.tickets.models import Agent, ApiToken, Department


def list_all(session, actor):
    query = select(Agent).order_by(Agent.name)
    rows = session.scalars(query).all()
    if not actor.sees_every_department:
        rows = [row for row in rows if {d.id for d in row.departments} & actor.department_ids]
    return [serialise.agent(row) for row in rows]


def get(session, actor, agent_id):
    agent = session.get(Agent, agent_id) if isinstance(agent_id, int) else None
    visible = agent is not None and (actor.sees_every_department or agent.id == actor.agent_id
                                     or {d.id for d in agent.departments} & actor.department_ids)
    if not visible:
        raise NotFound("AGENT_NOT_FOUND", f"agent {agent_id} does not exist")
    return agent


def create(session, actor, data):
    access.require_admin(actor)
    payload = parse(AgentIn, data)
    agent = Agent(name=payload.name, email=payload.email, role=payload.role, active=True,
                  password_hash=_hash(payload.password))
    agent.departments = _departments(session, payload.department_ids)
    session.add(agent)
    _commit(session, payload.email)
    return serialise.agent(agent)


def update(session, actor, agent_id, data):
    access.require_admin(actor)
    payload = parse(AgentPatch, data)
    agent = get(session, actor, agent_id)
    # looked up before anything changes: the query would flush a changed e-mail address
    # early, and a taken one must come back as the Conflict below, not a server error
    departments = None if payload.department_ids is None \
        else _departments(session, payload.department_ids)
    fields = payload.model_dump(exclude_unset=True)
    for name in ("name", "email", "role", "active"):
        if name in fields and fields[name] is not None:
            setattr(agent, name, fields[name])
    if payload.password is not None:
        agent.password_hash = _hash(payload.password)
    if departments is not None:
        agent.departments = departments
    _commit(session, agent.email)
    return serialise.agent(agent)


def set_preferences(session, actor, data):
    """The calling agent's own workspace language and time zone."""
    payload = parse(Preferences, data)
    agent = get(session, actor, actor.agent_id)
    for name, value in payload.model_dump(exclude_unset=True).items():
        setattr(agent, name, value)
    session.commit()
    return serialise.agent(agent)


def presence(session, actor, ticket_id):
    if actor.agent_id is None:
        raise Unauthorized("UNAUTHORIZED", "only an agent can be on a ticket")
    ticket = access.visible_ticket(session, actor, ticket_id)
    agent = session.get(Agent, actor.agent_id)
    return {"ticket_id": ticket.id, "department_id": ticket.department_id,
            "agent": {"id": agent.id, "name": agent.name}}


def login(session, data):
    """The agent with these credentials, if active; one vague error for every failure."""
    payload = parse(Credentials, data)
    agent = session.scalar(select(Agent).where(func.lower(Agent.email) == payload.email.lower()))
    if agent is None or not agent.password_hash \
            or not check_password_hash(agent.password_hash, payload.password):
        raise Unauthorized("BAD_CREDENTIALS", "wrong email or password")
    if not agent.active:
        raise Unauthorized("AGENT_DISABLED", "this agent account is disabled")
    return agent


def issue_token(session, agent, label=""):
    """A new API token; only its digest is stored, so it is shown this once."""
    token = "hd_" + secrets.token_urlsafe(32)
    session.add(ApiToken(agent_id=agent.id, token_sha256=access.token_digest(token),
                         label=label[:200]))
    session.commit()
    return token


def _hash(password):
    return generate_password_hash(password) if password else None


def _departments(session, department_ids):
    rows = session.scalars(select(Department).where(Department.id.in_(department_ids))).all()
    missing = set(department_ids) - {row.id for row in rows}
    if missing:
        raise InvalidInput("UNKNOWN_DEPARTMENT",
                           f"department {min(missing)} does not exist", "department_ids")
    return list(rows)


def _commit(session, email):
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("AGENT_EXISTS", f"an agent with email {email} exists already") from None
