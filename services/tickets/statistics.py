"""Figures for managers over a period, for the departments they may see.

Per agent: tickets handled (answered at least once in the period), replies, first responses
(the agent wrote a ticket's first answer in the period) with their average and median time
(wall-clock, from the ticket's creation), and CSAT (ratings given in the period to tickets
assigned to the agent: average score and the share of 4s and 5s).

Per department: incoming tickets by hour of day, day of week (1 = Monday) and month in the
viewer's time zone; the backlog now (new, open, pending); SLA breaches in the period.

All of it is aggregated in PostgreSQL: a month of a busy centre is 60,000 tickets, which must
not travel to Python to be counted."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Integer, distinct, func, select, true, tuple_
from sqlalchemy.dialects.postgresql import distinct_on

from helpdesk.contract import Direction
from helpdesk.errors import InvalidInput, NotFound
from services.tickets import access
from services.tickets.lifecycle import ACTIVE_STATES
from services.tickets.models import Agent, Department, Escalation, Message, Rating, Ticket

SATISFIED = 4  # a score of 4 or 5 counts as a satisfied customer
STAMPED_WITHIN = timedelta(minutes=1)


def period(data):
    """(since, until, time zone name, department id or None) from a query dict."""
    data = data or {}
    zone = data.get("time_zone") or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput("INVALID_INPUT", f"unknown time zone {zone!r}", "time_zone") from None
    since, until = _moment(data, "since"), _moment(data, "until")
    if since is None or until is None or since >= until:
        raise InvalidInput("INVALID_INPUT", "give since < until (ISO 8601 times)", "since")
    department_id = data.get("department_id")
    if department_id is not None and not isinstance(department_id, int):
        raise InvalidInput("INVALID_INPUT", "department_id must be a number", "department_id")
    return since, until, zone, department_id


def _moment(data, name):
    value = data.get(name)
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        raise InvalidInput("INVALID_INPUT", f"{name} is not an ISO 8601 time", name) from None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


def agents(session, actor, data):
    access.require_manager(actor)
    since, until, _, department_id = period(data)
    departments = _covered(session, actor, department_id)
    in_scope = _within(Ticket.department_id, departments)
    answers = (select(Message.author_agent_id.label("agent_id"),
                      func.count(distinct(Message.ticket_id)).label("handled"),
                      func.count().label("replies"))
               .where(Message.direction == Direction.OUTBOUND,
                      Message.author_agent_id.is_not(None),
                      Message.created_at >= since, Message.created_at < until)
               .group_by(Message.author_agent_id))
    if departments is not None:  # all of them need no look at the tickets
        answers = answers.join(Ticket, Ticket.id == Message.ticket_id).where(in_scope)
    replies = answers.subquery()
    # the first answer of each ticket first answered in the period (tickets stamps the time),
    # and who wrote it
    first_answers = (select(Message.author_agent_id.label("agent_id"),
                            func.extract("epoch", Ticket.first_response_at - Ticket.created_at)
                            .label("seconds"))
                     .join(Ticket, Ticket.id == Message.ticket_id)
                     .where(Message.direction == Direction.OUTBOUND, in_scope,
                            Ticket.first_response_at >= since, Ticket.first_response_at < until,
                            # the answer that stamped first_response_at was written just
                            # before it: this bound lets the index on answers' times serve
                            Message.created_at >= since - STAMPED_WITHIN,
                            Message.created_at < until)
                     .ext(distinct_on(Message.ticket_id))
                     .order_by(Message.ticket_id, Message.created_at, Message.id).subquery())
    firsts = (select(first_answers.c.agent_id, func.count().label("first_responses"),
                     func.avg(first_answers.c.seconds).label("average"),
                     func.percentile_cont(0.5).within_group(first_answers.c.seconds)
                     .label("median"))
              .group_by(first_answers.c.agent_id).subquery())
    ratings = (select(Ticket.assignee_id.label("agent_id"), func.count().label("ratings"),
                      func.avg(Rating.score).label("score"),
                      func.count().filter(Rating.score >= SATISFIED).label("satisfied"))
               .join(Ticket, Ticket.id == Rating.ticket_id)
               .where(in_scope, Rating.created_at >= since, Rating.created_at < until)
               .group_by(Ticket.assignee_id).subquery())
    rows = session.execute(
        select(Agent.id, Agent.name, replies.c.handled, replies.c.replies,
               firsts.c.first_responses, firsts.c.average, firsts.c.median,
               ratings.c.ratings, ratings.c.score, ratings.c.satisfied)
        .outerjoin(replies, replies.c.agent_id == Agent.id)
        .outerjoin(firsts, firsts.c.agent_id == Agent.id)
        .outerjoin(ratings, ratings.c.agent_id == Agent.id)
        .where((replies.c.agent_id.is_not(None)) | (firsts.c.agent_id.is_not(None))
               | (ratings.c.agent_id.is_not(None)))
        .order_by(func.coalesce(replies.c.handled, 0).desc(), Agent.name))
    return [_agent_row(row) for row in rows]


def _agent_row(row):
    return {"agent_id": row.id, "name": row.name, "handled": row.handled or 0,
            "replies": row.replies or 0, "first_responses": row.first_responses or 0,
            "first_response_average_seconds": _round(row.average),
            "first_response_median_seconds": _round(row.median),
            "ratings": row.ratings or 0, "csat_average": _round(row.score, 2),
            "csat_satisfied_share": _round(row.satisfied / row.ratings, 3)
            if row.ratings else None}


def load(session, actor, data):
    access.require_manager(actor)
    since, until, zone, department_id = period(data)
    departments = _covered(session, actor, department_id)
    incoming = _incoming(session, zone, since, until, departments)
    return {
        "time_zone": zone,
        "incoming": incoming.get((None, None, None), 0),
        "by_hour": [{"bucket": hour, "tickets": incoming.get((hour, None, None), 0)}
                    for hour in range(24)],
        "by_weekday": [{"bucket": day, "tickets": incoming.get((None, day, None), 0)}
                       for day in range(1, 8)],
        "by_month": [{"month": month, "tickets": count}
                     for (hour, day, month), count in sorted(
                         incoming.items(), key=lambda item: item[0][2] or "")
                     if month is not None],
        "backlog": _backlog(session, departments),
        "breaches": _breaches(session, departments, since, until),
    }


def _incoming(session, zone, since, until, departments):
    """{(hour, weekday, month): tickets} in one pass: each grouping set fills one of the
    three, and the empty one counts them all."""
    local = func.timezone(zone, Ticket.created_at)
    hour = func.extract("hour", local).cast(Integer).label("hour")
    day = func.extract("isodow", local).cast(Integer).label("day")
    month = func.to_char(local, "YYYY-MM").label("month")
    rows = session.execute(
        select(hour, day, month, func.count())
        .where(_within(Ticket.department_id, departments), Ticket.created_at >= since,
               Ticket.created_at < until)
        .group_by(func.grouping_sets(hour, day, month, tuple_()))).all()
    return {(row[0], row[1], row[2]): row[3] for row in rows}


def _backlog(session, departments):
    states = [str(state) for state in ACTIVE_STATES]
    rows = session.execute(select(Ticket.status, func.count())
                           .where(_within(Ticket.department_id, departments),
                                  Ticket.status.in_(states))
                           .group_by(Ticket.status)).all()
    return {state: 0 for state in states} | dict(rows)


def _breaches(session, departments, since, until):
    """Breached targets in the period (a target escalated through several levels counts once)."""
    rows = session.execute(
        select(Escalation.target, func.count(distinct(Escalation.ticket_id)))
        .where(_within(Escalation.department_id, departments), Escalation.created_at >= since,
               Escalation.created_at < until)
        .group_by(Escalation.target)).all()
    return dict(rows)


def _covered(session, actor, department_id):
    """The ids of the departments the figures cover, or None for every department (an admin
    asking for all: no condition at all is cheaper than a list of every id)."""
    if department_id is None and actor.sees_every_department:
        return None
    return _departments(session, actor, department_id)


def _within(column, departments):
    return true() if departments is None else column.in_(departments)


def _departments(session, actor, department_id):
    """The departments the figures cover: the one asked for, else all the actor sees."""
    if department_id is not None:
        if not actor.can_see(department_id):
            raise NotFound("DEPARTMENT_NOT_FOUND", f"department {department_id} does not exist")
        return [department_id]
    ids = session.scalars(select(Department.id)).all()
    return [item for item in ids if actor.can_see(item)]


def _round(value, digits=0):
    if value is None:
        return None
    return round(float(value), digits) if digits else round(float(value))

