"""PostgreSQL full text, the embedded default: a row per ticket with its subject and body
vectors (Russian and English stems, GIN indexes), a row per message for snippets
(ts_headline), ranked with ts_rank. A rebuild rewrites the rows in place, so search keeps
answering from what is there while it runs."""
import json

from sqlalchemy import text

from helpdesk.database import outside_transactions
from services.search.backends import SearchBackend, safe_snippet
from services.search.backends.postgres_query import run_search

TICKET_COLUMNS = ("ticket_id bigint, version bigint, department_id int, status text, "
                  "priority text, channel text, assignee_id int, assignee_name text, "
                  "customer_id int, customer_name text, customer_email text, subject text, "
                  "body text, agent_ids int[], senders text[], recipients text[], "
                  "created_at timestamptz, updated_at timestamptz, resolved_at timestamptz")
MESSAGE_COLUMNS = ("message_id bigint, ticket_id bigint, version bigint, direction text, "
                   "author_kind text, author_id int, author_name text, sender text, "
                   "recipients text[], subject text, body text, attachment_names text[], "
                   "created_at timestamptz")
_TICKET_FIELDS = [part.split()[0] for part in TICKET_COLUMNS.split(", ")]
_STORED = [name for name in _TICKET_FIELDS if name not in ("ticket_id", "body")]

STORE_TICKETS = f"""
INSERT INTO search.tickets AS t ({", ".join(_STORED)}, ticket_id, subject_vector, words_vector,
                                 indexed_at)
SELECT {", ".join("d." + name for name in _STORED)}, d.ticket_id, v.subject,
       setweight(v.subject, 'A') || setweight(search.document_vector(d.body), 'B'), now()
FROM jsonb_to_recordset(CAST(:documents AS jsonb)) AS d({TICKET_COLUMNS}),
     LATERAL (SELECT search.document_vector(d.subject) AS subject) AS v
ON CONFLICT (ticket_id) DO UPDATE SET
    {", ".join(f"{name} = EXCLUDED.{name}" for name in _STORED)},
    subject_vector = EXCLUDED.subject_vector, words_vector = EXCLUDED.words_vector,
    indexed_at = EXCLUDED.indexed_at
WHERE t.version {{newer}} EXCLUDED.version
RETURNING t.ticket_id"""
_MESSAGE_FIELDS = [part.split()[0] for part in MESSAGE_COLUMNS.split(", ")]
STORE_MESSAGES = f"""
INSERT INTO search.messages AS m ({", ".join(_MESSAGE_FIELDS)}, vector)
SELECT {", ".join("d." + name for name in _MESSAGE_FIELDS)},
       search.document_vector(d.body || ' ' || array_to_string(d.attachment_names, ' '))
FROM jsonb_to_recordset(CAST(:messages AS jsonb)) AS d({MESSAGE_COLUMNS})
ON CONFLICT (message_id) DO UPDATE SET
    {", ".join(f"{name} = EXCLUDED.{name}" for name in _MESSAGE_FIELDS[1:])},
    vector = EXCLUDED.vector
WHERE m.version {{newer}} EXCLUDED.version"""
# Messages that left a ticket (split out, merged away) go with the ticket's newer version.
DROP_LEFT_MESSAGES = """
DELETE FROM search.messages AS m
USING jsonb_to_recordset(CAST(:documents AS jsonb)) AS d(ticket_id bigint, version bigint,
                                                        message_ids bigint[])
WHERE m.ticket_id = d.ticket_id AND m.version < d.version
  AND NOT (m.message_id = ANY(d.message_ids))"""


class PostgresBackend(SearchBackend):
    name = "postgresql"

    def __init__(self, engine):
        self.engine = engine

    # --- writing ----------------------------------------------------------------------------
    def store(self, documents, rebuilding=False):
        if not documents:
            return []
        newer = "<=" if rebuilding else "<"
        with self.engine.begin() as connection:
            applied = set(connection.scalars(
                text(STORE_TICKETS.replace("{newer}", newer)),
                {"documents": json.dumps([_ticket_row(d) for d in documents], default=str)}))
            kept = [d for d in documents if d.ticket_id in applied]
            if kept:
                connection.execute(text(STORE_MESSAGES.replace("{newer}", newer)), {
                    "messages": json.dumps([_message_row(m, d.version) for d in kept
                                            for m in d.messages], default=str)})
                connection.execute(text(DROP_LEFT_MESSAGES), {"documents": json.dumps(
                    [{"ticket_id": d.ticket_id, "version": d.version,
                      "message_ids": [m.message_id for m in d.messages]} for d in kept])})
        return sorted(applied)

    def clear(self):
        with self.engine.begin() as connection:
            connection.execute(text("TRUNCATE search.tickets, search.messages"))

    # --- rebuilding: in place ---------------------------------------------------------------
    def begin_rebuild(self):
        return "search.tickets"

    def rebuilding_into(self, target):
        pass  # the rows are rewritten where they are searched

    def finish_rebuild(self, target, started_at):
        with self.engine.begin() as connection:
            gone = connection.scalars(text(
                "DELETE FROM search.tickets WHERE indexed_at < :started RETURNING ticket_id"),
                {"started": started_at}).all()
            if gone:
                connection.execute(text("DELETE FROM search.messages "
                                        "WHERE ticket_id = ANY(:gone)"), {"gone": gone})

    def health(self):
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"backend": self.name, "database": "ok"}

    # --- searching --------------------------------------------------------------------------
    def search(self, query, words, visible_departments):
        with self.engine.connect() as connection:
            outside_transactions(connection)  # reads: no BEGIN and ROLLBACK round trips
            result = run_search(connection, query, words, visible_departments)
        for hit in result["hits"]:
            if hit["subject"] is not None:
                hit["subject"] = safe_snippet(hit["subject"])
            if hit["message"] is not None:
                hit["message"]["snippet"] = safe_snippet(hit["message"]["snippet"])
        return result


def _ticket_row(document):
    return {name: getattr(document, name) for name in _TICKET_FIELDS}


def _message_row(message, version):
    row = {name: getattr(message, name) for name in _MESSAGE_FIELDS if name != "version"}
    row["version"] = version
    return row

