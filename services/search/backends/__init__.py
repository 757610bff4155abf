"""One search interface, two real implementations chosen by configuration: PostgreSQL full
text (the embedded default, schema `search`) and Elasticsearch (SEARCH_BACKEND=elasticsearch,
ELASTICSEARCH_URL). One test-suite runs against both."""
from abc import ABC, abstractmethod
from html import escape

# Around a matched word in snippets; unlikely in mail, and turned into <mark> after escaping.
MARK_START, MARK_END = "\x02", "\x03"


class SearchBackend(ABC):
    name = ""

    @abstractmethod
    def store(self, documents, rebuilding=False):
        """Keep each TicketDocument (and its messages) unless a newer version is held; a
        rebuild also rewrites the same version. Returns the ticket ids applied."""

    @abstractmethod
    def search(self, query, words, visible_departments):
        """Run a SearchIn with its Words for someone who sees `visible_departments` (None:
        every department). Returns {"total", "hits", "facets"}; hits are tickets with their
        highlighted subject and the best-matching message's snippet. Departments outside
        `visible_departments` never count, not even in facets."""

    @abstractmethod
    def clear(self):
        """Forget every document (the index is lost; `helpdesk reindex` restores it)."""

    @abstractmethod
    def begin_rebuild(self):
        """Prepare a rebuild; returns the name of what is being built."""

    @abstractmethod
    def finish_rebuild(self, target, started_at):
        """Make the rebuilt index the one searched, dropping what the rebuild did not see
        (documents indexed before `started_at` and not rewritten since)."""

    @abstractmethod
    def rebuilding_into(self, target):
        """Also write live updates into `target` while a rebuild runs (None: stop)."""

    @abstractmethod
    def health(self):
        """What the backend depends on, and whether it answers."""

    def close(self):
        pass


def safe_snippet(text):
    """Snippet text as HTML: everything escaped, then the matches marked."""
    return escape(text or "").replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


def backend_from_config(config, engine):
    """The backend SEARCH_BACKEND names; `engine` is the service's own database."""
    kind = (config.get("SEARCH_BACKEND") or "postgresql").lower()
    if kind == "postgresql":
        from services.search.backends.postgres import PostgresBackend
        return PostgresBackend(engine)
    if kind == "elasticsearch":
        from services.search.backends.elastic import ElasticsearchBackend
        return ElasticsearchBackend.from_config(config)
    raise ValueError(f"SEARCH_BACKEND {kind!r}: postgresql or elasticsearch")
