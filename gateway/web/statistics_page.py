"""Statistics for managers: per agent and per department over a period chosen on the page
(the last 30 days unless said), in the agent's time zone; bar charts drawn as SVG on the
server (the page runs no script for them) and every table as CSV."""
import csv
import io
from datetime import date, datetime, timedelta

from flask import make_response, request
from flask_babel import get_timezone, gettext as _, lazy_gettext

from gateway.web.pages import (agent_required, bp, call, local_midnight, my_departments,
                               render)

DEFAULT_DAYS = 30
WEEKDAYS = (lazy_gettext("Mon"), lazy_gettext("Tue"), lazy_gettext("Wed"), lazy_gettext("Thu"),
            lazy_gettext("Fri"), lazy_gettext("Sat"), lazy_gettext("Sun"))
TABLES = ("agents", "hours", "weekdays", "months")


@bp.get("/statistics")
@agent_required
def statistics():
    chosen = _chosen()
    agents, load = _figures(chosen)
    departments = my_departments()
    return render("web/statistics.html", chosen=chosen, agents=agents, load=load,
                  departments=departments, weekdays=WEEKDAYS, tables=TABLES)


@bp.get("/statistics/<table>.csv")
@agent_required
def statistics_csv(table):
    if table not in TABLES:
        return render("web/problem.html", 404, title=_("Not found"), message=table)
    agents, load = _figures(_chosen())
    rows = _rows(table, agents, load)
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    response = make_response("\ufeff" + out.getvalue())  # the BOM makes Excel read UTF-8
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers.set("Content-Disposition", "attachment", filename=f"{table}.csv")
    return response


def _chosen():
    """The period and department of the page: ?since=&until= dates (until inclusive)."""
    today = datetime.now(get_timezone()).date()
    until = _date(request.args.get("until")) or today
    since = _date(request.args.get("since")) or until - timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        since, until = until, since
    department = request.args.get("department", "")
    return {"since": since, "until": until,
            "department_id": int(department) if department.isdigit() else None}


def _date(value):
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _figures(chosen):
    query = {"since": local_midnight(chosen["since"]),
             "until": local_midnight(chosen["until"] + timedelta(days=1)),
             "time_zone": str(get_timezone()), "department_id": chosen["department_id"]}
    return call("statistics_agents", query), call("statistics_load", query)


def _rows(table, agents, load):
    if table == "agents":
        return [["agent", "tickets handled", "replies", "first responses",
                 "first response average (s)", "first response median (s)", "ratings",
                 "CSAT average", "CSAT satisfied share"]] + [
            [a["name"], a["handled"], a["replies"], a["first_responses"],
             a["first_response_average_seconds"], a["first_response_median_seconds"],
             a["ratings"], a["csat_average"], a["csat_satisfied_share"]] for a in agents]
    if table == "hours":
        return [["hour", "tickets"]] + [[i["bucket"], i["tickets"]] for i in load["by_hour"]]
    if table == "weekdays":
        return [["weekday (1 = Monday)", "tickets"]] + [[i["bucket"], i["tickets"]]
                                                       for i in load["by_weekday"]]
    return [["month", "tickets"]] + [[i["month"], i["tickets"]] for i in load["by_month"]]


def duration(seconds):
    """A first-response time as h:mm (or d h:mm past a day)."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    days, minutes = divmod(minutes, 24 * 60)
    text = f"{minutes // 60}:{minutes % 60:02d}"
    return f"{days}d {text}" if days else text
