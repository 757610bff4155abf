"""Statistics for managers: per agent, and the load of departments, over a period given as
since/until (ISO dates or times; until is exclusive) in the caller's time zone."""
from flask import Blueprint, request

from gateway.api import call, number

bp = Blueprint("statistics", __name__)


def query():
    return {"since": request.args.get("since"), "until": request.args.get("until"),
            "time_zone": request.args.get("time_zone") or "UTC",
            "department_id": number(request.args.get("department_id"), "department_id")}


@bp.get("/statistics/agents")
def agents():
    return call("statistics_agents", query())


@bp.get("/statistics/load")
def load():
    return call("statistics_load", query())
