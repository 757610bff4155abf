"""Mail ingest's business metrics (the per-entrypoint ones come from helpdesk.metrics)."""
from prometheus_client import Counter, Gauge, Histogram

MAILS_RECEIVED = Counter("helpdesk_mails_received_total", "Mails stored, by source",
                         ["source"])
MAILS_DEFERRED = Counter("helpdesk_mails_deferred_total",
                         "Mails the sender was asked to retry (database unavailable)", ["source"])
MAILS_PROCESSED = Counter("helpdesk_mails_processed_total",
                          "Mails processed, by outcome (ticket, ignored, quarantined)",
                          ["outcome"])
MAILS_QUARANTINED = Counter("helpdesk_mails_quarantined_total", "Mails quarantined, by reason",
                            ["reason"])
MAILS_CLASSIFIED = Counter("helpdesk_mails_classified_total",
                           "Auto-replies, bounces and loops detected", ["kind"])
PARSE_SECONDS = Histogram("helpdesk_mail_parse_seconds", "Time to parse one mail",
                          buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10))
END_TO_END_SECONDS = Histogram("helpdesk_mail_end_to_end_seconds",
                               "From storing a mail to its message being committed",
                               buckets=(.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300))
QUEUE_DEPTH = Gauge("helpdesk_mail_queue_depth", "Raw-mail ids waiting in the queue")
WAITING = Gauge("helpdesk_mails_waiting", "Raw mails by status (received, quarantined)",
                ["status"])
