"""The search page: free text and filters over the tickets of the agent's departments, with
highlighted subjects and snippets, counts per department and status; a search can be saved
under a name (shared with a department if wished) and then sits beside the queues as one of
the agent's workspaces."""
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from flask import redirect, request, url_for
from flask_babel import get_timezone

from gateway.web.pages import agent_required, bp, call, local_midnight, my_departments, render
from helpdesk.contract import Priority, Status
from helpdesk.errors import InvalidInput

PER_PAGE = 20
TEXT_FIELDS = {"q": "text", "recipient": "recipient", "sender": "sender",
               "customer": "customer"}
DATE_RANGES = ("created", "updated", "resolved")


def search(method, *args):
    return call(method, *args, service="search")


@bp.get("/search")
@agent_required
def search_page():
    saved = None
    if request.args.get("saved", "").isdigit():
        saved = search("get_saved", int(request.args["saved"]))
        query = {**saved["query"], "page": _page()}
    else:
        query = _query(request.args)
    results = search("search", query) if _asked(query) else None
    departments = my_departments()
    return render("web/search.html", query=query, results=results, saved=saved,
                  departments=departments, agents=call("list_agents"),
                  statuses=list(Status), priorities=list(Priority), per_page=PER_PAGE,
                  form=_form_values(query), page_url=_page_url, department_names={d["id"]: d["name"]
                                                              for d in departments})


@bp.post("/search/saved")
@agent_required
def save_search():
    department = request.form.get("department_id", "")
    saved = search("save_search", {
        "name": request.form.get("name", "").strip(), "query": _query(request.form),
        "department_id": int(department) if department.isdigit() else None})
    return redirect(url_for("web.search_page", saved=saved["id"]))


@bp.post("/search/saved/<int:saved_id>/delete")
@agent_required
def delete_saved_search(saved_id):
    search("delete_saved", saved_id)
    return redirect(url_for("web.queues"))


def _query(args):
    """The search payload from the page's fields (dates are whole days in the agent's zone;
    a `to` day is included)."""
    query = {field: args[name].strip() for name, field in TEXT_FIELDS.items()
             if args.get(name, "").strip()}
    query["within"] = args.get("in") if args.get("in") in ("subject", "body") else "all"
    query["sort"] = args.get("sort") if args.get("sort") in ("newest", "oldest") \
        else "relevance"
    if args.get("agent_id", "").isdigit():
        query["agent_id"] = int(args["agent_id"])
    query["department_ids"] = [int(v) for v in args.getlist("department_id") if v.isdigit()]
    query["statuses"] = [v for v in args.getlist("status") if v in set(Status)]
    query["priorities"] = [v for v in args.getlist("priority") if v in set(Priority)]
    for name in DATE_RANGES:
        start, end = _day(args, f"{name}_from"), _day(args, f"{name}_to")
        if start:
            query[f"{name}_from"] = local_midnight(start)
        if end:
            query[f"{name}_to"] = local_midnight(end + timedelta(days=1))
    query.update(page=_page(), per_page=PER_PAGE)
    return query


def _page_url(page):
    args = request.args.to_dict(flat=False)
    args["page"] = [str(page)]
    return f"{request.path}?{urlencode(args, doseq=True)}"


def _asked(query):
    """Whether the page was given anything to look for (an empty page shows just the form)."""
    return any(value for key, value in query.items()
               if key not in ("within", "sort", "page", "per_page"))


def _page():
    value = request.args.get("page", "1")
    return max(1, min(int(value), 500)) if value.isdigit() else 1


def _day(args, name):
    value = args.get(name, "")
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("INVALID_INPUT", f"{name}: not a date", name) from None


def _form_values(query):
    """The form's fields back from a query (saved searches too): dates as local days."""
    values = {"q": query.get("text", ""), "in": query.get("within", "all"),
              "sort": query.get("sort", "relevance"), "agent_id": query.get("agent_id"),
              "department_ids": query.get("department_ids", []),
              "statuses": query.get("statuses", []), "priorities": query.get("priorities", []),
              **{name: query.get(field, "") for name, field in TEXT_FIELDS.items()
                 if name != "q"}}
    for name in DATE_RANGES:
        for end in ("from", "to"):
            moment = query.get(f"{name}_{end}")
            day = datetime.fromisoformat(moment).astimezone(get_timezone()).date() \
                if moment else None
            values[f"{name}_{end}"] = (day - timedelta(days=1) if end == "to" else day) \
                if day else ""
    return values
