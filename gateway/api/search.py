"""Search for agents: free text and filters over the tickets of the departments the agent
sees (the search service enforces it), and saved searches ("workspaces")."""
from flask import Blueprint, request

from gateway.api import body, call, number

bp = Blueprint("search", __name__)

# query-string name -> payload field; repeatable ones may be given several times
SINGLE = {"q": "text", "in": "within", "agent_id": "agent_id", "recipient": "recipient",
          "sender": "sender", "customer": "customer", "sort": "sort", "page": "page",
          "per_page": "per_page", "created_from": "created_from", "created_to": "created_to",
          "updated_from": "updated_from", "updated_to": "updated_to",
          "resolved_from": "resolved_from", "resolved_to": "resolved_to"}
REPEATED = {"department_id": "department_ids", "status": "statuses", "priority": "priorities"}
NUMBERS = {"agent_id", "page", "per_page", "department_id"}


def search_query(args):
    """The query string as the search payload; unknown parameters are passed on, so the
    service names them in its 400."""
    query = {}
    for name in args:
        field = SINGLE.get(name) or REPEATED.get(name) or name
        values = [_value(name, value) for value in args.getlist(name)]
        query[field] = values if name in REPEATED else values[-1]
    return query


def _value(name, value):
    return number(value, name) if name in NUMBERS else value


def search(method, *args):
    return call(method, *args, service="search")


@bp.get("/search")
def run_search():
    return search("search", search_query(request.args))


@bp.get("/search/saved")
def list_saved():
    return search("list_saved")


@bp.post("/search/saved")
def create_saved():
    return search("save_search", body()), 201


@bp.get("/search/saved/<saved_id>")
def get_saved(saved_id):
    return search("get_saved", number(saved_id, "saved_id"))


@bp.put("/search/saved/<saved_id>")
def replace_saved(saved_id):
    return search("save_search", body(), number(saved_id, "saved_id"))


@bp.delete("/search/saved/<saved_id>")
def delete_saved(saved_id):
    search("delete_saved", number(saved_id, "saved_id"))
    return {"deleted": True}


@bp.get("/search/saved/<saved_id>/results")
def saved_results(saved_id):
    """Run a saved search; page and per_page in the query string override its own."""
    saved = search("get_saved", number(saved_id, "saved_id"))
    paging = {key: number(request.args[key], key) for key in ("page", "per_page")
              if key in request.args}
    return search("search", {**saved["query"], **paging})
