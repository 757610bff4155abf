"""Administrator accounts made from the command line, straight through the tickets domain."""
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.database import make_engine
from services.tickets import access, agents
from services.tickets.models import Agent

COMMAND_LINE = access.Actor(label="system:helpdesk-command", system="helpdesk-command")
FIRST_ADMIN_EMAIL = "admin@helpdesk.local"


def create_admin(config, email, name, password):
    """Create an admin agent and return a new API token for it."""
    engine = make_engine(config["DATABASE_URL"], pool_size=1)
    try:
        with Session(engine, expire_on_commit=False) as session:
            created = agents.create(session, COMMAND_LINE, {"name": name, "email": email,
                                                            "password": password,
                                                            "role": "admin"})
            return agents.issue_token(session, session.get(Agent, created["id"]), "command line")
    finally:
        engine.dispose()


def first_admin(config):
    """On a database with no agents, create the first admin; say how to log in either way."""
    engine = make_engine(config["DATABASE_URL"], pool_size=1)
    try:
        with Session(engine) as session:
            if session.scalar(select(Agent.id).limit(1)) is not None:
                return ("Log in with an existing agent, or make an admin with "
                        "`bin/helpdesk create-admin --email you@example.org`.")
    finally:
        engine.dispose()
    password = secrets.token_urlsafe(12)
    token = create_admin(config, FIRST_ADMIN_EMAIL, "Administrator", password)
    return (f"First administrator created: {FIRST_ADMIN_EMAIL} / password {password}\n"
            f"API token (shown once): {token}\n"
            f"Try: curl -H 'Authorization: Bearer {token}' "
            f"http://{config['GATEWAY_ADDRESS']}/api/v1/me")
