"""Who is acting, and what they may see. Every RPC resolves its actor here first."""
import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select

from helpdesk.contract import Role
from helpdesk.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from helpdesk.payloads import MAX_ID
from services.tickets.models import Agent, ApiToken, Department, Ticket, agent_departments


@dataclass(frozen=True)
class Actor:
    label: str
    agent_id: int | None = None
    role: str | None = None
    department_ids: frozenset = frozenset()
    system: str | None = None

    @property
    def sees_every_department(self):
        return self.system is not None or self.role == Role.ADMIN

    def can_see(self, department_id):
        return self.sees_every_department or department_id in self.department_ids


def token_digest(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def resolve(session, actor):
    """Turn the caller's actor dict (a token, a trusted agent id, or a system name) into an Actor."""
    return caller(session, actor)[0]


def caller(session, actor):
    """The Actor and, for an agent, their row (the Agent's columns and `department_ids`)."""
    if not isinstance(actor, dict):
        raise Unauthorized("UNAUTHORIZED", "no actor given")
    if isinstance(actor.get("system"), str) and actor["system"]:
        return Actor(label=f"system:{actor['system']}", system=actor["system"]), None
    agent = _agent_of(session, actor)
    if agent is None:
        raise Unauthorized("UNAUTHORIZED", "unknown API token or agent")
    if not agent.active:
        raise Unauthorized("AGENT_DISABLED", "this agent account is disabled")
    return Actor(label=agent.name, agent_id=agent.id, role=agent.role,
                 department_ids=frozenset(agent.department_ids)), agent


def _agent_of(session, actor):
    """The agent's row with their departments' ids, in one statement: every call resolves its
    caller, and loading the Agent with its departments (and their addresses) took three
    queries and a quarter of the tickets service's CPU under API load."""
    query = (select(Agent.id, Agent.name, Agent.email, Agent.role, Agent.active,
                    Agent.language, Agent.time_zone, Agent.created_at,
                    func.array_remove(func.array_agg(agent_departments.c.department_id), None)
                    .label("department_ids"))
             .outerjoin(agent_departments, agent_departments.c.agent_id == Agent.id)
             .group_by(Agent.id))
    if isinstance(actor.get("token"), str):
        query = query.join(ApiToken, ApiToken.agent_id == Agent.id).where(
            ApiToken.token_sha256 == token_digest(actor["token"]))
    elif isinstance(actor.get("agent_id"), int) and 0 < actor["agent_id"] <= MAX_ID:
        query = query.where(Agent.id == actor["agent_id"])
    else:
        return None
    return session.execute(query).first()


def require_admin(actor):
    """Administration is for admins, and for trusted system callers (the `helpdesk` command)."""
    if actor.role != Role.ADMIN and actor.system is None:
        raise Forbidden("ADMIN_ONLY", "only an administrator may do this")


def require_manager(actor):
    if actor.role not in (Role.MANAGER, Role.ADMIN) and actor.system is None:
        raise Forbidden("MANAGER_ONLY", "only a manager or an administrator may do this")


def visible_ticket(session, actor, ticket_id, lock=False):
    """The ticket if the actor may see it; a ticket in another department is reported missing."""
    query = select(Ticket).where(Ticket.id == ticket_id)
    if lock:
        query = query.with_for_update()
    ticket = session.scalar(query) if isinstance(ticket_id, int) else None
    if ticket is None or not actor.can_see(ticket.department_id):
        raise NotFound("TICKET_NOT_FOUND", f"ticket {ticket_id} does not exist")
    return ticket


def ticket_numbers(value, limit):
    """A list of at most `limit` ticket numbers, as the services' batch calls pass them."""
    if not isinstance(value, list) or len(value) > limit or \
            not all(isinstance(number, int) for number in value):
        raise InvalidInput("INVALID_INPUT", f"ticket_ids: up to {limit} ticket numbers",
                           "ticket_ids")
    return value


def existing_department(session, department_id, field="department_id"):
    """Raise unless the department exists. Only its id is read: loading the entity (with its
    addresses) costs about five times as much, on every mail that opens a ticket."""
    found = session.scalar(select(Department.id).where(Department.id == department_id))
    if found is None:
        raise InvalidInput("UNKNOWN_DEPARTMENT", f"{field}: department {department_id} does not exist",
                           field)
    return found
