"""Customer mail handed over by mail ingest: threaded onto its ticket or opening a new one;
auto-replies and bounces kept where agents can see them without disturbing anyone."""
import logging
from contextlib import nullcontext
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, text
from sqlalchemy.orm.attributes import set_committed_value

from helpdesk import contract, logs, outbox
from helpdesk.contract import ORIGIN_CUSTOMER, Direction, Priority, Status
from helpdesk.database import per_transaction
from helpdesk.errors import HelpdeskError, InvalidInput
from helpdesk.payloads import InboundMessage, parse
from services.tickets import access, customers, deliveries, history, languages
from services.tickets.conversation import add_message, announce_created, announce_message
from services.tickets.models import DepartmentAddress, Message, Ticket

log = logging.getLogger(__name__)
REOPENED_BY_CUSTOMER = (Status.PENDING, Status.RESOLVED, Status.CLOSED)
FINISHED = (Status.RESOLVED, Status.CLOSED)
DEFAULT_REOPEN_DAYS = 14
MAX_BATCH = 100  # mails handed over together


def ingest(session, actor, data, reopen_days=DEFAULT_REOPEN_DAYS):
    """A customer's mail: appended to its ticket or opening a new one.

    Idempotent on the Message-ID (or the raw mail's sha256): the same mail handed over twice,
    even by two callers at once, leaves one message. The advisory lock serialises the callers;
    the unique index on message_id is the backstop. An answer to a ticket finished more than
    `reopen_days` ago opens a new ticket linked to the old one instead of reopening it.
    """
    result = _ingest(session, actor, parse(InboundMessage, data), reopen_days)
    session.commit()
    return result


def ingest_many(session, actor, items, reopen_days=DEFAULT_REOPEN_DAYS):
    """Several mails in one transaction — one commit, one round of events. A mail tickets
    refuses is answered with its error and the others are stored: one outcome per mail,
    {"result": …} or {"error": …}, in the order given. The batch goes through as a whole
    (the usual case); when a mail is refused it is rolled back and done again with a
    savepoint per mail, so the refused one is undone alone. A batch that goes through whole
    asks PostgreSQL once for what each mail would ask alone (`_read_ahead`)."""
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        raise InvalidInput("INVALID_INPUT", f"items: 1 to {MAX_BATCH} mails", "items")
    try:
        outcomes = _ingest_each(session, actor, items, reopen_days, alone=False)
    except HelpdeskError:
        session.rollback()
        outcomes = _ingest_each(session, actor, items, reopen_days, alone=True)
    session.commit()
    return outcomes


def _ingest_each(session, actor, items, reopen_days, alone):
    outcomes, batch = [None] * len(items), logs.current()
    # alone, a refused mail's payload is its own error; whole, it sends the batch alone
    payloads = None if alone else [parse(InboundMessage, item) for item in items]
    if payloads:
        _read_ahead(session, payloads)
    try:
        # the advisory locks taken in one order: two batches never wait for each other in a
        # circle
        for index in sorted(range(len(items)), key=lambda i: _sort_key(items[i])):
            logs.use(_correlation(items[index]) or batch)  # each mail's logs and events its own
            try:
                with outbox.savepoint(session) if alone else nullcontext():
                    payload = payloads[index] if payloads else parse(InboundMessage,
                                                                     items[index])
                    outcomes[index] = {"result": _ingest(session, actor, payload, reopen_days)}
            except HelpdeskError as error:
                if not alone:
                    raise
                outcomes[index] = {"error": error.as_dict()}
    finally:
        logs.use(batch)
    return outcomes


def _read_ahead(session, payloads):
    """The locks, stored messages and senders of a whole batch, asked for once. Kept for this
    transaction only and never under savepoints, whose undoing would leave them stale."""
    keys = sorted({_idempotency_key(payload) for payload in payloads})
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) "
                         "FROM unnest(CAST(:keys AS text[])) AS key"), {"keys": keys})
    stored = session.execute(select(Message.message_id, Message.id, Message.ticket_id)
                             .where(Message.message_id.in_(keys))).all()
    known = per_transaction(session, "mails_read_ahead")
    known["locked"] = set(keys)
    known["stored"] = {row.message_id: (row.ticket_id, row.id) for row in stored}
    customers.read_ahead(session, [payload.from_address for payload in payloads],
                         create=[(payload.from_address, payload.from_name)
                                 for payload in payloads if _has_a_customer(payload)])
    _reserve_numbers(session, known, payloads)


def _reserve_numbers(session, known, payloads):
    """Numbers for the tickets and messages of mails that can only open a new ticket (nothing
    to thread onto, not stored yet): with them in hand, the batch's rows go to PostgreSQL in
    one INSERT a table at the commit instead of one a row as each mail is done. Only these:
    a number reserved and not used would be a gap in the ticket numbers agents see."""
    new = {_idempotency_key(payload) for payload in payloads if _opens_a_ticket(payload)}
    new -= set(known["stored"])
    if not new:
        return
    tickets, messages = session.execute(text(
        "SELECT (SELECT array_agg(nextval(pg_get_serial_sequence('tickets.tickets', 'id')))"
        "        FROM generate_series(1, :count)),"
        "       (SELECT array_agg(nextval(pg_get_serial_sequence('tickets.messages', 'id')))"
        "        FROM generate_series(1, :count))"), {"count": len(new)}).one()
    known["numbers"] = dict(zip(sorted(new), zip(sorted(tickets), sorted(messages))))


def _has_a_customer(payload):
    """Whether the mail's sender becomes a customer whatever else happens: bounces and
    automatic replies may be set aside before anybody is looked up."""
    return not (payload.bounce or payload.auto_reply)


def _opens_a_ticket(payload):
    return not (payload.ticket_id or payload.in_reply_to or payload.references
                or payload.bounce or payload.auto_reply or payload.attachments)


def _reserved_numbers(session, key):
    """(ticket number, message id) reserved for this mail by `_reserve_numbers`, or None."""
    return per_transaction(session, "mails_read_ahead").get("numbers", {}).pop(key, None)


def _stored_message(session, key):
    """(ticket id, message id) of the message already stored under `key`, or None; the key's
    lock held first, so that two callers never both find nothing."""
    known = per_transaction(session, "mails_read_ahead")
    if key in known.get("locked", ()):
        return known["stored"].get(key)
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                    {"key": key})
    return session.execute(select(Message.ticket_id, Message.id)
                           .where(Message.message_id == key)).first()


def _now_stored(session, key, ticket_id, message_id):
    stored = per_transaction(session, "mails_read_ahead").get("stored")
    if stored is not None:  # the same mail twice in one batch is a duplicate the second time
        stored[key] = (ticket_id, message_id)


def _correlation(data):
    raw_mail_id = data.get("raw_mail_id") if isinstance(data, dict) else None
    return logs.mail_correlation(raw_mail_id) if isinstance(raw_mail_id, int) else None


def _sort_key(data):
    if not isinstance(data, dict):
        return ""
    return str(data.get("message_id") or data.get("raw_sha256") or "").strip()


def _ingest(session, actor, payload, reopen_days):
    key = _idempotency_key(payload)
    existing = _stored_message(session, key)
    if existing is not None:
        return _result(*existing, duplicate=True)
    if payload.bounce is not None:
        result = _bounced(session, actor, payload, key)
        if result["message_id"] is not None:
            _now_stored(session, key, result["ticket_id"], result["message_id"])
        return result
    ticket = _thread(session, payload)
    if payload.auto_reply and ticket is None:
        return _result(None, None, ignored="an automatic reply that answers no ticket")
    customer = customers.find_or_create(session, payload.from_address, payload.from_name)
    parent = None
    if ticket is not None and _finished_long_ago(ticket, reopen_days) and not payload.auto_reply:
        parent, ticket = ticket, None
    created = ticket is None
    numbers = _reserved_numbers(session, key) if created else None
    if created:
        ticket = _open_ticket(session, payload, customer, parent, numbers)
    message = _inbound_message(payload, key, ticket, customer)
    if numbers:  # stored with the rest of the batch at the commit
        message.id = numbers[1]
        session.add(message)
        set_committed_value(message, "attachments", [])
    else:
        add_message(session, message, payload.attachments)
    if created:
        announce_created(session, ticket, message, customer, ORIGIN_CUSTOMER)
    else:
        customer_wrote_again(session, actor, ticket, message)
    _now_stored(session, key, ticket.id, message.id)
    log.info("message %s from %s %s ticket %s", message.id, payload.from_address,
             "opened" if created else "added to", ticket.id)
    return _result(ticket.id, message.id, created=created)


def _result(ticket_id, message_id, created=False, duplicate=False, ignored=None):
    return {"ticket_id": ticket_id, "message_id": message_id, "created_ticket": created,
            "duplicate": duplicate, "ignored": ignored}


def _idempotency_key(payload):
    if payload.message_id:
        return payload.message_id.strip()
    if payload.raw_sha256:
        return f"<{payload.raw_sha256}@raw-sha256>"
    raise InvalidInput("INVALID_INPUT", "message_id or raw_sha256 is required", "message_id")


def _inbound_message(payload, key, ticket, customer):
    return Message(ticket_id=ticket.id, direction=Direction.INBOUND,
                   author_customer_id=customer.id, from_address=payload.from_address,
                   to_addresses=payload.to, cc_addresses=payload.cc,
                   subject=payload.subject, body_text=payload.body_text,
                   body_html=payload.body_html, message_id=key,
                   in_reply_to=payload.in_reply_to, auto_reply=payload.auto_reply,
                   raw_mail_id=payload.raw_mail_id,
                   created_at=payload.received_at or datetime.now(timezone.utc))


def _thread(session, payload):
    """The ticket a mail continues: the one ingest found (subject tag), else the one whose
    message it answers; merged tickets lead on to the ticket they were merged into."""
    ticket = session.get(Ticket, payload.ticket_id) if payload.ticket_id else None
    if ticket is None:
        ticket = _ticket_of_messages(session, [payload.in_reply_to, *reversed(payload.references)])
    seen = set()
    while ticket is not None and ticket.merged_into_id and ticket.id not in seen:
        seen.add(ticket.id)
        ticket = session.get(Ticket, ticket.merged_into_id)
    return ticket


def _ticket_of_messages(session, message_ids):
    wanted = [m.strip() for m in message_ids if m and m.strip()]
    if not wanted:
        return None
    return session.scalar(select(Ticket).join(Message, Message.ticket_id == Ticket.id)
                          .where(Message.message_id.in_(wanted))
                          .order_by(Message.created_at.desc()).limit(1))


def _finished_long_ago(ticket, reopen_days):
    finished_at = ticket.resolved_at or ticket.updated_at
    return (ticket.status in FINISHED and finished_at is not None
            and datetime.now(timezone.utc) - finished_at > timedelta(days=reopen_days))


def _open_ticket(session, payload, customer, parent=None, numbers=None):
    if payload.department_id:  # chosen by ingest's routing; it may have been deleted since
        department_id = _existing_department(session, payload.department_id)
    else:
        department_id = (parent.department_id if parent else None) \
            or _department_by_recipients(session, payload)
    now = datetime.now(timezone.utc)
    ticket = Ticket(subject=payload.subject.strip() or "(no subject)", channel="mail",
                    status=Status.NEW, priority=Priority.NORMAL, department_id=department_id,
                    customer_id=customer.id, parent_id=parent.id if parent else None,
                    language=languages.detect(payload.subject, payload.body_text),
                    created_at=now, updated_at=now)
    session.add(ticket)
    if numbers:
        ticket.id = numbers[0]
    else:
        session.flush()
    return ticket


def _existing_department(session, department_id):
    """Checked once per transaction: the mails of a batch mostly go to a few departments."""
    seen = per_transaction(session, "departments_seen")
    if department_id not in seen:
        seen[department_id] = access.existing_department(session, department_id)
    return seen[department_id]


def _department_by_recipients(session, payload):
    recipients = [address.strip().lower() for address in [*payload.to, *payload.cc]]
    found = dict(session.execute(select(DepartmentAddress.address,
                                        DepartmentAddress.department_id)
                                 .where(DepartmentAddress.address.in_(recipients))).all())
    for address in recipients:  # the first recipient a department receives at decides
        if address in found:
            return found[address]
    raise InvalidInput("NO_DEPARTMENT", "no department receives mail at any recipient address",
                       "to")


def customer_wrote_again(session, actor, ticket, message):
    reopens = ticket.status in REOPENED_BY_CUSTOMER and not message.auto_reply
    history.apply_changes(session, ticket, actor, {"status": str(Status.OPEN)} if reopens else {})
    ticket.updated_at = datetime.now(timezone.utc)
    announce_message(session, ticket, message)


def _bounced(session, actor, payload, key):
    """A bounce: a system note on the ticket of the mail that did not arrive, which is marked
    failed. Notify's own mail (acknowledgements, notices) is not a message on the ticket, but
    its Message-ID names the ticket. A bounce about mail we cannot place is ignored (ingest
    keeps the raw mail)."""
    bounce = payload.bounce
    original_id = (bounce.original_message_id or "").strip()
    original = session.scalar(select(Message).where(Message.message_id == original_id)) \
        if original_id else None
    ticket = session.get(Ticket, original.ticket_id) if original is not None \
        else _ticket_of_own_mail(session, payload, original_id)
    if ticket is None:
        return _result(None, None, ignored="a bounce about a mail the help desk did not send")
    recipients = ", ".join(bounce.recipients) or "the recipient"
    note = (f"Delivery to {recipients} {bounce.action or 'failed'}"
            f"{f' ({bounce.status})' if bounce.status else ''}.\n\n{bounce.diagnostic}").strip()
    message = Message(ticket_id=ticket.id, direction=Direction.INTERNAL, subject=payload.subject,
                      from_address=payload.from_address, body_text=note, message_id=key,
                      raw_mail_id=payload.raw_mail_id, auto_reply=True)
    deliveries.note_failure(session, actor, ticket, message, original,
                            bounce.action or "failed",
                            original.id if original else original_id or None,
                            bounce.status or bounce.action, payload.attachments)
    return _result(ticket.id, message.id)


def _ticket_of_own_mail(session, payload, original_id):
    if payload.ticket_id:
        return session.get(Ticket, payload.ticket_id)
    domains = {address.rpartition("@")[2]
               for address in session.scalars(select(DepartmentAddress.address))}
    number = contract.ticket_number_in_message_id(original_id, domains)
    return session.get(Ticket, number) if number else None
