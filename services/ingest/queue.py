"""The durable queue of raw-mail ids between the receivers and the parse workers."""
import logging

from kombu import Connection, Exchange, Queue

log = logging.getLogger(__name__)

EXCHANGE = Exchange("ingest", type="direct", durable=True)
RAW_MAIL_QUEUE = Queue("ingest.raw_mail", exchange=EXCHANGE, routing_key="raw_mail",
                       durable=True)


def message(raw_mail_id):
    return {"raw_mail_id": raw_mail_id}


def group_message(raw_mail_ids):
    """The ids of mails stored together, in one message: one delivery for the group, and
    the parse worker that takes it hands the group to tickets in one call."""
    return {"raw_mail_ids": list(raw_mail_ids)}


def ids_in(body):
    """The raw-mail ids a queue message carries (one, or a group)."""
    if "raw_mail_ids" in body:
        return [int(raw_mail_id) for raw_mail_id in body["raw_mail_ids"]]
    return [int(body["raw_mail_id"])]


class RawMailPublisher:
    """Publishes raw-mail ids from a process that is not a nameko service (the SMTP
    listener). Blocking: call it from one thread. A failed publish is logged, not raised:
    the mail is already stored, and the sweeper republishes what was never picked up."""

    def __init__(self, amqp_uri):
        self.amqp_uri = amqp_uri
        self.connection = None
        self.producer = None

    def publish(self, raw_mail_id):
        return self.publish_group([raw_mail_id])

    def publish_group(self, raw_mail_ids):
        body = message(raw_mail_ids[0]) if len(raw_mail_ids) == 1 \
            else group_message(raw_mail_ids)
        try:
            self._producer().publish(body, exchange=EXCHANGE,
                                     routing_key="raw_mail", delivery_mode=2,
                                     declare=[RAW_MAIL_QUEUE], retry=True,
                                     retry_policy={"max_retries": 2, "interval_start": 0.2})
            return True
        except Exception as error:  # broker down: the sweeper takes over
            log.warning("raw mail(s) %s stored but not queued (%s); the sweeper will queue "
                        "them", ", ".join(map(str, raw_mail_ids)), error)
            self.close()
            return False

    def _producer(self):
        if self.producer is None:
            self.connection = Connection(self.amqp_uri, transport_options={"confirm_publish": True})
            self.producer = self.connection.Producer()
        return self.producer

    def close(self):
        if self.connection is not None:
            try:
                self.connection.release()
            except Exception:  # already gone
                pass
        self.connection = self.producer = None


def backlog(amqp_uri):
    """How many raw-mail ids wait in the queue (None when the broker cannot be asked)."""
    try:
        with Connection(amqp_uri, connect_timeout=5) as connection:
            channel = connection.channel()
            return RAW_MAIL_QUEUE(channel).queue_declare(passive=False).message_count
    except Exception as error:
        log.warning("cannot read the raw mail queue's depth: %s", error)
        return None
