"""Who is calling the API: an agent's API token (header) or their web session.

The gateway only says who the caller claims to be; the tickets service checks the token,
that the agent is active, and what they may see, on every call.
"""
import secrets

from flask import request, session

from helpdesk import contract
from helpdesk.errors import Forbidden, Unauthorized

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def current_actor():
    token = _token_from_headers()
    if token:
        return contract.agent_by_token(token)
    agent_id = session.get("agent_id")
    if isinstance(agent_id, int):
        _check_csrf()
        return contract.agent_by_id(agent_id)
    raise Unauthorized("UNAUTHORIZED", "log in, or send an API token as "
                       "'Authorization: Bearer <token>'")


def _token_from_headers():
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("X-API-Token", "").strip()


def _check_csrf():
    """Cookie-authenticated writes must echo the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get("X-CSRF-Token") or (request.form.get("csrf_token")
                                                   if request.form else None)
    if not csrf_matches(sent):
        raise Forbidden("CSRF_TOKEN_MISSING", "send the session's CSRF token in X-CSRF-Token")


def csrf_matches(sent):
    """Whether a request echoed its session's CSRF token (the API and the web pages)."""
    return bool(sent) and secrets.compare_digest(sent, session.get("csrf", ""))


def start_session(agent):
    session.clear()
    session["agent_id"] = agent["id"]
    session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]
