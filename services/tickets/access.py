"""Who is acting, and what they may see. Every RPC resolves its actor here first."""
import hashlib
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select

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


def _agent_query():
    agents, tokens = Agent.__table__, ApiToken.__table__
    query = (select(agents.c.id, agents.c.name, agents.c.email, agents.c.role, agents.c.active,
                    agents.c.language, agents.c.time_zone, agents.c.created_at,
                    func.array_remove(func.array_agg(agent_departments.c.department_id), None)
                    .label("department_ids"))
             .outerjoin(agent_departments, agent_departments.c.agent_id == agents.c.id)
             .group_by(agents.c.id))
    return (query.join(tokens, tokens.c.agent_id == agents.c.id)
            .where(tokens.c.token_sha256 == bindparam("digest")),
            query.where(agents.c.id == bindparam("agent_id")))


# The caller's agent row with their departments' ids, in one statement: every call resolves
# its caller, and loading the Agent with its departments (and their addresses) took three
# queries and a quarter of the tickets service's CPU under API load. Built once, of the
# tables' own columns: making the statement and going through the ORM for it each call
# was half of what a call cost tickets.
_BY_TOKEN, _BY_ID = _agent_query()


def _agent_of(session, actor):
    if isinstance(actor.get("token"), str):
        return session.execute(_BY_TOKEN, {"digest": token_digest(actor["token"])}).first()
    if isinstance(actor.get("agent_id"), int) and 0 < actor["agent_id"] <= MAX_ID:
        return session.execute(_BY_ID, {"agent_id": actor["agent_id"]}).first()
    return None


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
    return seen(actor, ticket, ticket_id)


def seen(actor, ticket, ticket_id):
    """The ticket read for the actor, if they may see it; else reported missing."""
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
