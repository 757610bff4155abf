"""What each event calls for: which mail, to whom, or deliberately none (and why).

`plan` is a plain function of the event, the ticket's mail context and the settings, so every
rule here is tested without a broker: the reply goes out as the agent wrote it; a customer's
new request is acknowledged unless it is automatic mail, comes from one of our own addresses,
or that address already got its hourly share; a resolution gets the rating links; breaches
reach the department's managers; an assignment reaches the agent (unless they took it)."""
import re
from dataclasses import dataclass, field

from helpdesk import contract
from services.notify import mails, texts

TICKETS, ESCALATION = "tickets", "escalation"
CREATED = f"{TICKETS}.{contract.TICKET_CREATED}"
MESSAGE = f"{TICKETS}.{contract.MESSAGE_ADDED}"
UPDATED = f"{TICKETS}.{contract.TICKET_UPDATED}"
BREACHED = f"{ESCALATION}.{contract.SLA_BREACHED}"
WARNING = f"{ESCALATION}.{contract.SLA_WARNING}"

# Addresses that never read mail: acknowledging them only feeds a loop.
_MACHINE_SENDER = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|"
                             r"bounces?|daemon)([+.\-_@]|$)", re.I)


@dataclass
class Plan:
    mails: list = field(default_factory=list)      # [(idempotency key, Outgoing)]
    skipped: list = field(default_factory=list)    # [reason]


def calls_for_mail(event_type, payload, notify_assignments=True):
    """Cheap first look, before the event is stored: could it need a mail at all?"""
    if event_type == CREATED:
        return payload.get("origin") == contract.ORIGIN_CUSTOMER
    if event_type == MESSAGE:
        return payload.get("direction") == contract.Direction.OUTBOUND
    if event_type == UPDATED:
        changes = payload.get("changes") or {}
        return _resolved(changes) or (notify_assignments and _assigned_to(changes) is not None)
    return event_type in (BREACHED, WARNING)


def subject_of(event_type, payload):
    """(ticket id, message id or None): what to ask tickets.mail_context about."""
    if event_type == CREATED:
        return payload["ticket"]["id"], None
    if event_type == MESSAGE:
        return payload["ticket_id"], payload["message_id"]
    return payload["ticket_id"], None


def context_carried(event_type, payload):
    """The mail context a new ticket's or an agent's reply's event brings along, as it was
    when the ticket or the reply was made (which is what the acknowledgement or the reply
    mail is about); None: ask tickets for it."""
    return payload.get("mail_context") if event_type in (CREATED, MESSAGE) else None


def plan(event_type, payload, context, settings, templates, acknowledged_recently,
         acknowledgements_per_hour, notify_assignments=True):
    """The mail an event calls for. `templates(kind, language, department_id)` gives a
    template; `acknowledged_recently(address)` counts this hour's acknowledgements."""
    result = Plan()
    event_id = payload["event_id"]
    if event_type == MESSAGE:
        message = context.get("message")
        if message is None or message["direction"] != contract.Direction.OUTBOUND:
            result.skipped.append("the message is gone or is not a reply")
        else:
            result.mails.append((f"reply:{message['id']}", mails.reply(context, settings)))
    elif event_type == CREATED:
        reason = _no_acknowledgement(context, acknowledged_recently, acknowledgements_per_hour)
        if reason:
            result.skipped.append(reason)
        else:
            mail = mails.notice(texts.AUTO_ACK, context, settings, templates)
            result.mails.append((f"{event_id}:{texts.AUTO_ACK}", mail))
    elif event_type == UPDATED:
        _updated(result, payload, context, settings, templates, notify_assignments)
    elif event_type in (BREACHED, WARNING):
        _escalated(result, event_type, payload, context, settings, templates)
    return result


def _no_acknowledgement(context, acknowledged_recently, per_hour):
    """Why a new ticket gets no acknowledgement, or None when it gets one."""
    first = context.get("first_message") or {}
    address = context["customer"]["email"].lower()
    if first.get("auto_reply"):
        return "automatic mail"
    if address in {own.lower() for own in context["own_addresses"]}:
        return "our own address"
    if _MACHINE_SENDER.match(address):
        return "a machine's address"
    if acknowledged_recently(address) >= per_hour:
        return "hourly limit of acknowledgements reached"
    return None


def _updated(result, payload, context, settings, templates, notify_assignments):
    changes, event_id = payload.get("changes") or {}, payload["event_id"]
    if _resolved(changes) and context["ticket"]["status"] == contract.Status.RESOLVED:
        mail = mails.resolution_notice(context, settings, templates)
        result.mails.append((f"{event_id}:{texts.RESOLVED}", mail))
    assignee_id = _assigned_to(changes) if notify_assignments else None
    if assignee_id is None:
        return
    actor = payload.get("actor") or {}
    assignee = context.get("assignee")
    if actor.get("agent_id") == assignee_id:
        result.skipped.append("the agent took the ticket themselves")
    elif assignee is None or assignee["id"] != assignee_id:
        result.skipped.append("the ticket was reassigned since")
    else:
        for mail in mails.to_staff(texts.ASSIGNED, [assignee], context, settings, templates,
                                   actor=actor.get("label") or ""):
            result.mails.append((f"{event_id}:{texts.ASSIGNED}", mail))


def _escalated(result, event_type, payload, context, settings, templates):
    kind = texts.SLA_BREACHED if event_type == BREACHED else texts.SLA_WARNING
    if payload.get("notify_managers") is False:
        result.skipped.append("the escalation level does not alert the managers")
        return
    managers = context["managers"]
    if not managers:
        result.skipped.append("the department has no manager to alert")
        return
    breach = {"target": payload.get("target", ""), "due_at": payload.get("due_at", ""),
              "level": payload.get("level", 1)}
    for manager, mail in zip(managers, mails.to_staff(kind, managers, context, settings,
                                                      templates, breach=breach)):
        result.mails.append((f"{payload['event_id']}:{kind}:{manager['id']}", mail))


def _resolved(changes):
    status = changes.get("status") or {}
    return status.get("new") == contract.Status.RESOLVED


def _assigned_to(changes):
    assignee = changes.get("assignee_id") or {}
    return assignee.get("new")
