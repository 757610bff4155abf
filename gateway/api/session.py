"""Logging in: a web session, or an API token for scripts and integrations."""
from flask import Blueprint, current_app, session

from gateway.api import body, call
from gateway.auth import start_session

bp = Blueprint("session", __name__)


@bp.post("/auth/login")
def login():
    agent = current_app.extensions["rpc"].call("tickets", "login", body())
    return {"agent": agent, "csrf_token": start_session(agent)}


@bp.post("/auth/logout")
def logout():
    session.clear()
    return {"logged_out": True}


@bp.post("/auth/token")
def issue_token():
    data = body()
    label = data.pop("label", "") if isinstance(data.get("label", ""), str) else ""
    return current_app.extensions["rpc"].call("tickets", "issue_token", data, label), 201


@bp.get("/me")
def me():
    return call("whoami")
