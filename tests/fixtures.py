"""Helpers that set up help desk data directly through the domain modules."""
from services.tickets import access, agents, departments
from services.tickets.models import Agent

SYSTEM = access.Actor(label="system:test", system="test")


def department(session, name, addresses=(), signature="", **details):
    return departments.create(session, SYSTEM, {"name": name, "addresses": list(addresses),
                                                "signature": signature, **details})


def agent_with_token(session, name, email, role="agent", department_ids=(),
                     password="secret-pass-1"):
    created = agents.create(session, SYSTEM, {"name": name, "email": email, "role": role,
                                              "password": password,
                                              "department_ids": list(department_ids)})
    token = agents.issue_token(session, session.get(Agent, created["id"]))
    return created, token
