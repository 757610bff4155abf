"""Search metrics (the per-entrypoint ones come from helpdesk.metrics)."""
from prometheus_client import Counter, Histogram

QUERY_SECONDS = Histogram("helpdesk_search_query_duration_seconds",
                          "Time to answer a search, by backend", ["backend"],
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
INDEXING_LAG = Histogram("helpdesk_search_indexing_lag_seconds",
                         "From a ticket's change to its document being searchable",
                         buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))
DOCUMENTS = Counter("helpdesk_search_documents_indexed_total",
                    "Documents written to the index, by kind (ticket, message)", ["kind"])
ERRORS = Counter("helpdesk_search_errors_total",
                 "Failed index writes and searches, by operation", ["operation"])
