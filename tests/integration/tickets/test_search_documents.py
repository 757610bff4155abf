"""Search documents are read in one read-only snapshot: a ticket's version and its messages
come from the same moment, whatever commits meanwhile (the index keeps the newest version)."""
from sqlalchemy import event, text

from services.tickets import documents
from tests import fixtures


def test_documents_are_read_in_one_read_only_snapshot(db):
    seen = []

    def note_isolation(connection, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT") and "transaction_" not in statement:
            with cursor.connection.cursor() as own:  # the query's results stay unread
                own.execute("SELECT current_setting('transaction_isolation'), "
                            "current_setting('transaction_read_only')")
                seen.append(own.fetchone())

    event.listen(db.get_bind(), "after_cursor_execute", note_isolation)
    try:
        assert documents.for_tickets(db, fixtures.SYSTEM, [1]) == []
    finally:
        event.remove(db.get_bind(), "after_cursor_execute", note_isolation)
    assert seen and set(seen) == {("repeatable read", "on")}
    assert db.execute(text("SHOW transaction_isolation")).scalar() == "read committed"
