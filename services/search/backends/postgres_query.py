"""The SQL of one search on the PostgreSQL backend: the words become one tsquery, filters a
WHERE clause (departments the agent may not see never enter it), and one statement returns
the total, the facets and the page; a second one reads the page's snippets."""
import re

from sqlalchemy import text

from services.search.backends import MARK_END, MARK_START

HEADLINE = (f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=30, MinWords=12, "
            "MaxFragments=2, FragmentDelimiter=\" … \"")
SUBJECT_HEADLINE = f"StartSel={MARK_START}, StopSel={MARK_END}, HighlightAll=true"
ORDER = {"relevance": "score DESC, updated_at DESC, ticket_id DESC",
         "newest": "updated_at DESC, ticket_id DESC",
         "oldest": "updated_at ASC, ticket_id ASC"}
# Relevance ranks the most recently updated matches (ts_rank reads each one's whole vector:
# ranking a common word's 100,000 matches would take a second). An agent paging further
# than this still gets ranked pages: the window grows to cover the page asked for.
RANKED_WINDOW = 1000
WORK_MEM = "32MB"  # bitmaps stay exact and the matches stay in memory
_LEXEME = re.compile(r"('(?:[^']|'')*')")


def weighted(tsquery_text, weight):
    """The same query, matching only lexemes of one weight (B: the messages)."""
    return _LEXEME.sub(rf"\1:{weight}", tsquery_text) if tsquery_text else tsquery_text


def tsquery(connection, words):
    """(what must match, what must not) as tsquery text; None where nothing is asked."""
    def parts(items, phrase):
        if not items:
            return []
        found = connection.scalars(text("SELECT search.words_query(w, :phrase)::text "
                                        "FROM unnest(CAST(:items AS text[])) AS w"),
                                   {"items": list(items), "phrase": phrase})
        return [f"({value})" for value in found if value]

    wanted = parts(words.terms, False) + parts(words.phrases, True)
    unwanted = parts([w for w in words.excluded if " " not in w], False) + \
        parts([w for w in words.excluded if " " in w], True)
    return (" & ".join(wanted) or None), (" | ".join(unwanted) or None)


def filters(query, visible_departments):
    """WHERE conditions and their parameters: every filter narrows."""
    conditions, params = [], {}

    def add(condition, **values):
        conditions.append(condition)
        params.update(values)

    if visible_departments is not None:
        add("t.department_id = ANY(:visible)", visible=sorted(visible_departments))
    if query.department_ids:
        add("t.department_id = ANY(:departments)", departments=query.department_ids)
    if query.statuses:
        add("t.status = ANY(:statuses)", statuses=[str(s) for s in query.statuses])
    if query.priorities:
        add("t.priority = ANY(:priorities)", priorities=[str(p) for p in query.priorities])
    if query.agent_id:
        add("t.agent_ids @> ARRAY[CAST(:agent AS int)]", agent=query.agent_id)
    if query.recipient:
        add("t.recipients @> ARRAY[CAST(:recipient AS text)]", recipient=query.recipient)
    if query.sender:
        add("t.senders @> ARRAY[CAST(:sender AS text)]", sender=query.sender)
    if query.customer:
        add("t.customer_email = :customer", customer=query.customer)
    for name, start, end in query.ranges():
        if start:
            add(f"t.{name}_at >= :{name}_from", **{f"{name}_from": start})
        if end:
            add(f"t.{name}_at < :{name}_to", **{f"{name}_to": end})
    return conditions, params


def text_conditions(within, wanted, unwanted):
    """Where the words are looked for: subject and messages (one index), the subject only
    (its own index), or the messages only (the B-weighted part of the first)."""
    vector = "t.subject_vector" if within == "subject" else "t.words_vector"
    weight = (lambda value: weighted(value, "B")) if within == "body" else (lambda v: v)
    conditions, params = [], {}
    if wanted:
        conditions.append(f"{vector} @@ CAST(:wanted_in AS tsquery)")
        params["wanted_in"] = weight(wanted)
    if unwanted:
        conditions.append(f"NOT ({vector} @@ CAST(:unwanted_in AS tsquery))")
        params["unwanted_in"] = weight(unwanted)
    return conditions, params


def run_search(connection, query, words, visible_departments):
    nothing = {"total": 0, "hits": [], "facets": {"department": {}, "status": {}}}
    if visible_departments is not None and not visible_departments:
        return nothing
    wanted, unwanted = tsquery(connection, words)
    if words and wanted is None:  # only stop words: they narrow nothing, so find nothing
        return nothing
    conditions, params = filters(query, visible_departments)
    matching, text_params = text_conditions(query.within, wanted, unwanted)
    conditions += matching
    sort = query.sort if wanted or query.sort != "relevance" else "newest"
    offset = (query.page - 1) * query.per_page
    params.update(text_params, wanted=wanted or "", limit=query.per_page, offset=offset,
                  window=max(RANKED_WINDOW, offset + query.per_page))
    row = connection.execute(text(_statement(" AND ".join(conditions) or "true", sort)),
                             params).one()
    page = [(ticket_id, score) for ticket_id, score in row.page]
    return {"total": row.total, "hits": _hits(connection, page, wanted, sort),
            "facets": {"department": row.departments, "status": row.statuses}}


def _statement(where, sort):
    """Total, facets (one pass: grouping sets) and the page, in one statement, sent with the
    memory it may use: statements sent together run in one transaction, so SET LOCAL holds
    for it whether or not the caller's connection is in a transaction of its own."""
    if sort == "relevance":
        page = f"""
        candidates AS (SELECT ticket_id, updated_at FROM matched
                       ORDER BY updated_at DESC, ticket_id DESC LIMIT :window),
        page AS (SELECT c.ticket_id, c.updated_at,
                        ts_rank(t.words_vector, CAST(:wanted AS tsquery)) AS score
                 FROM candidates c JOIN search.tickets t USING (ticket_id)
                 ORDER BY {ORDER[sort]} LIMIT :limit OFFSET :offset)"""
    else:
        page = f"""
        page AS (SELECT ticket_id, updated_at, NULL::real AS score FROM matched
                 ORDER BY {ORDER[sort]} LIMIT :limit OFFSET :offset)"""
    return f"""
        SET LOCAL work_mem = '{WORK_MEM}';
        WITH matched AS MATERIALIZED (
            SELECT t.ticket_id, t.department_id, t.status, t.updated_at
            FROM search.tickets t WHERE {where}),
        counts AS (
            SELECT department_id, status, count(*) AS n,
                   GROUPING(department_id, status) AS grouped
            FROM matched GROUP BY GROUPING SETS ((department_id), (status), ())),
        {page}
        SELECT (SELECT n FROM counts WHERE grouped = 3) AS total,
               (SELECT coalesce(json_object_agg(department_id, n), '{{}}') FROM counts
                WHERE grouped = 1) AS departments,
               (SELECT coalesce(json_object_agg(status, n), '{{}}') FROM counts
                WHERE grouped = 2) AS statuses,
               (SELECT coalesce(json_agg(json_build_array(ticket_id, score)
                                         ORDER BY {ORDER[sort]}), '[]') FROM page) AS page"""


def _hits(connection, page, wanted, sort):
    if not page:
        return []
    ids = [ticket_id for ticket_id, _ in page]
    tickets = {row.ticket_id: row for row in connection.execute(text(f"""
        SELECT t.ticket_id, t.version, t.department_id, t.status, t.priority, t.channel,
               t.assignee_id, t.assignee_name, t.customer_name, t.customer_email, t.subject,
               t.created_at, t.updated_at, t.resolved_at,
               CASE WHEN :wanted <> '' THEN ts_headline('russian', t.subject,
                    CAST(:wanted AS tsquery), '{SUBJECT_HEADLINE}') END AS subject_highlight
        FROM search.tickets t WHERE t.ticket_id = ANY(:ids)"""), {"ids": ids, "wanted": wanted or ""})}
    snippets = _snippets(connection, ids, wanted) if wanted else {}
    return [_hit(tickets[ticket_id], score if sort == "relevance" else None,
                 snippets.get(ticket_id)) for ticket_id, score in page if ticket_id in tickets]


def _snippets(connection, ids, wanted):
    """The best-matching message of each ticket, its matches marked in a short extract
    (only the chosen ones are headlined: ts_headline reads the whole text)."""
    rows = connection.execute(text(f"""
        WITH q AS (SELECT CAST(:wanted AS tsquery) AS query),
        candidates AS (
            SELECT m.ticket_id, m.message_id, m.direction, m.author_kind, m.author_name,
                   m.created_at, m.body, m.vector
            FROM search.messages m WHERE m.ticket_id = ANY(:ids)),
        best AS (
            SELECT DISTINCT ON (c.ticket_id) c.*
            FROM candidates c, q WHERE c.vector @@ q.query
            ORDER BY c.ticket_id, ts_rank(c.vector, q.query) DESC, c.created_at DESC),
        marked AS (
            SELECT b.*, ts_headline('russian', b.body, q.query, '{HEADLINE}') AS snippet
            FROM best b, q)
        SELECT * FROM marked"""), {"ids": ids, "wanted": wanted})
    return {row.ticket_id: {"message_id": row.message_id, "direction": row.direction,
                            "author_kind": row.author_kind, "author_name": row.author_name,
                            "created_at": row.created_at.isoformat(), "snippet": row.snippet}
            for row in rows}


def _hit(row, score, message):
    return {"ticket": {"id": row.ticket_id, "number": row.ticket_id, "subject": row.subject,
                       "department_id": row.department_id, "status": row.status,
                       "priority": row.priority, "channel": row.channel,
                       "assignee_id": row.assignee_id, "assignee_name": row.assignee_name,
                       "customer_name": row.customer_name,
                       "customer_email": row.customer_email,
                       "created_at": row.created_at.isoformat(),
                       "updated_at": row.updated_at.isoformat(),
                       "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None},
            "score": score, "subject": row.subject_highlight, "message": message}
