"""From a stored event to mail in the outbox: take the mail context a new ticket's event
carries or ask tickets for it, plan the mail (events.plan), queue it — all in the inbox's
transaction, so the event counts as handled exactly when its mail is queued."""
import logging
from dataclasses import dataclass

from helpdesk import config as settings
from services.notify import events, mails, metrics, outbox, templates, texts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    mail: mails.Settings
    acknowledgements_per_hour: int = 5
    assignments: bool = True


def options_from(config):
    public_url = config.get(settings.PUBLIC_URL) or f"http://{config[settings.GATEWAY_ADDRESS]}"
    return Options(
        mail=mails.Settings(public_url=public_url, secret_key=config[settings.SECRET_KEY],
                            loop_marker=config.get(settings.LOOP_MARKER) or "helpdesk",
                            tag_prefix=str(config.get(settings.TICKET_TAG_PREFIX) or "#"),
                            fallback_sender=config.get(settings.MAIL_FROM)
                            or "helpdesk@localhost",
                            staff_language=config.get(settings.STAFF_LANGUAGE) or "en"),
        acknowledgements_per_hour=int(config.get(settings.AUTO_ACK_PER_SENDER_HOUR) or 5),
        assignments=_flag(config.get(settings.NOTIFY_ASSIGNMENTS, True)))


def _flag(value):
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true",
                                                                                "yes", "on")


def read_ahead(session, taken):
    """For a batch of events: how many acknowledgements each new ticket's customer got this
    hour, asked in one statement instead of one a ticket; and the batch's mail held back, to
    be queued in one statement by `queue_held`."""
    outbox.hold_mail(session)
    addresses = [context["customer"]["email"] for context in
                 (events.context_carried(event_type, payload) for event_type, payload in taken
                  if event_type == events.CREATED) if context]
    if addresses:
        outbox.count_sent_recently(session, texts.AUTO_ACK, addresses)


def queue_held(session):
    outbox.queue_held(session)


def queue_mail(session, event_type, payload, mail_context, options):
    """Queue what the event calls for; the number of mails queued (0 for a redelivery)."""
    ticket_id, message_id = events.subject_of(event_type, payload)
    context = events.context_carried(event_type, payload) or mail_context(ticket_id, message_id)
    plan = events.plan(
        event_type, payload, context, options.mail,
        templates=lambda kind, language, department_id: templates.choose(
            session, kind, language, department_id),
        acknowledged_recently=lambda address: outbox.sent_recently(session, texts.AUTO_ACK,
                                                                   address),
        acknowledgements_per_hour=options.acknowledgements_per_hour,
        notify_assignments=options.assignments)
    queued = 0
    for key, mail in plan.mails:
        if outbox.enqueue(session, key, mail):
            queued += 1
            metrics.MAILS_QUEUED.labels(mail.kind).inc()
            log.info("ticket %s: %s mail queued for %s", ticket_id, mail.kind, event_type)
    for reason in plan.skipped:
        metrics.MAILS_SKIPPED.labels(reason).inc()
        log.info("ticket %s: no mail for %s: %s", ticket_id, event_type, reason)
    return queued
