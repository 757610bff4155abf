"""Which mail an event calls for, written out: the agent's reply to the customer, the
acknowledgement of a new request, the resolution notice with its rating links, and the
alerts to managers and agents. Plain functions of the ticket's mail context (what
tickets.mail_context returns) and the settings; nothing here talks to a broker or a database."""
import base64
import html
import uuid
from dataclasses import dataclass

import nh3

from helpdesk import contract, rating_links, signed_links
from services.notify import texts
from services.notify.compose import AUTO_GENERATED, AUTO_REPLIED, File, Outgoing, Party

REPLY = "reply"
KINDS = (REPLY, *texts.KINDS)
SIGNATURE_DELIMITER = "-- \n"  # clients recognise it and grey or trim what follows


@dataclass(frozen=True)
class Settings:
    public_url: str
    secret_key: str
    loop_marker: str = "helpdesk"
    tag_prefix: str = contract.DEFAULT_TAG_PREFIX
    fallback_sender: str = "helpdesk@localhost"
    staff_language: str = "en"  # of mail to agents and managers


def reply(context, settings):
    """The agent's answer as the customer will receive it."""
    message, department = context["message"], context["department"]
    agent = (message.get("author") or {}).get("name", "")
    text, rich = _signed(message["body_text"], message.get("body_html"),
                         _signature(department, agent))
    return Outgoing(
        kind=REPLY, sender=_sender(department, settings, agent), subject=message["subject"],
        to=[_customer(context, address) for address in message["to"]],
        cc=[Party(address) for address in message["cc"]], text=text, html=rich,
        message_id=message["message_id"], in_reply_to=message.get("in_reply_to"),
        references=context["references"], files=[_file(item) for item in message["attachments"]],
        ticket_id=context["ticket"]["id"], ticket_message_id=message["id"],
        loop_marker=settings.loop_marker)


def notice(kind, context, settings, templates, **extra):
    """An acknowledgement or a resolution notice to the customer, in the ticket's language."""
    ticket, department = context["ticket"], context["department"]
    portal = signed_links.portal_url(settings.public_url, settings.secret_key,
                                     context["customer"]["id"])
    subject, body = texts.render(*templates(kind, ticket["language"], department["id"]),
                                 variables(context, settings, portal_url=portal, **extra))
    first = context.get("first_message") or {}
    answered = first.get("message_id")
    return Outgoing(
        kind=kind, sender=_sender(department, settings), to=[_customer(context)],
        subject=contract.tag_subject(subject, ticket["id"], settings.tag_prefix), text=body,
        message_id=_new_message_id(ticket["id"], department, settings),
        in_reply_to=answered, references=[answered] if answered else [],
        auto_submitted=AUTO_REPLIED if kind == texts.AUTO_ACK else AUTO_GENERATED,
        ticket_id=ticket["id"], loop_marker=settings.loop_marker)


def resolution_notice(context, settings, templates):
    url, links = rating_links.links(settings.public_url, settings.secret_key,
                                    context["ticket"]["id"])
    return notice(texts.RESOLVED, context, settings, templates, rating_url=url,
                  rating_links=links)


def to_staff(kind, people, context, settings, templates, **extra):
    """Alerts to managers or an agent: one mail each, in the ticket's department's name."""
    ticket, department = context["ticket"], context["department"]
    language = settings.staff_language
    subject, body = texts.render(*templates(kind, language, department["id"]),
                                 variables(context, settings, language=language, **extra))
    subject = contract.tag_subject(subject, ticket["id"], settings.tag_prefix)
    return [Outgoing(kind=kind, sender=_sender(department, settings),
                     to=[Party(person["email"], person["name"])], subject=subject, text=body,
                     message_id=_new_message_id(ticket["id"], department, settings),
                     auto_submitted=AUTO_GENERATED, ticket_id=ticket["id"],
                     loop_marker=settings.loop_marker)
            for person in people if person and person.get("email")]


def variables(context, settings, language=None, **extra):
    ticket, department = context["ticket"], context["department"]
    tag = f"{settings.tag_prefix}{ticket['id']}"
    result = {
        "ticket": {**ticket, "number": ticket["id"], "tag": tag,
                   "url": f"{settings.public_url.rstrip('/')}/tickets/{ticket['id']}"},
        "department": {"name": department["sender_name"] or department["name"]},
        "customer": {"name": context["customer"]["name"], "email": context["customer"]["email"]},
        "assignee": context.get("assignee"), "actor": "", "rating_links": [], "rating_url": "",
        "portal_url": "", "breach": None,
    }
    result.update(extra)
    if result["breach"]:
        names = texts.TARGET_NAMES.get(language or ticket["language"], texts.TARGET_NAMES["en"])
        result["breach"] = {**result["breach"],
                            "target_name": names.get(result["breach"]["target"],
                                                     result["breach"]["target"])}
    return result


def _sender(department, settings, agent_name=""):
    address = department["addresses"][0] if department["addresses"] \
        else settings.fallback_sender
    name = department["sender_name"] or department["name"]
    if agent_name and department["agent_name_in_from"]:
        name = f"{agent_name} via {name}"
    return Party(address, name)


def _customer(context, address=None):
    customer = context["customer"]
    if address is None or address.lower() == customer["email"].lower():
        return Party(customer["email"], customer["name"])
    return Party(address)


def _signature(department, agent_name):
    return department["signature"].replace("{agent_name}", agent_name or "").strip()


def _signed(text, rich, signature):
    """The body with the department's signature under the standard delimiter."""
    if not signature:
        return text, _clean(rich)
    text = f"{text.rstrip()}\n\n{SIGNATURE_DELIMITER}{signature}\n"
    if rich:
        signature_html = html.escape(signature).replace("\n", "<br>\n")
        rich = f"{_clean(rich)}\n<br><br>\n-- <br>\n{signature_html}"
    return text, rich


def _clean(rich):
    return nh3.clean(rich) if rich else None


def _file(item):
    return File(item["filename"], base64.b64decode(item["content_base64"]),
                item["content_type"], item.get("content_id"), item.get("inline", False))


def _new_message_id(ticket_id, department, settings):
    sender = department["addresses"][0] if department["addresses"] else settings.fallback_sender
    return contract.own_message_id(ticket_id, sender.rpartition("@")[2], uuid.uuid4().hex)
