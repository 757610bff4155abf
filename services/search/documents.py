"""Search documents, built from what the tickets service tells (never from its tables): one per
ticket and one per message, with the ticket's version so an older state never overwrites a
newer one. Text is folded the way the analysers expect it (ё as е)."""
from dataclasses import dataclass, field
from datetime import datetime


def fold(value):
    """ё and е are one letter to a reader: index and search them as one."""
    return (value or "").replace("ё", "е").replace("Ё", "Е")


def _time(value):
    return datetime.fromisoformat(value) if value else None


def _addresses(values):
    return sorted({value.strip().lower() for value in values if value and value.strip()})


@dataclass
class MessageDocument:
    message_id: int
    ticket_id: int
    direction: str
    author_kind: str
    author_id: int | None
    author_name: str
    sender: str
    recipients: list[str]
    subject: str
    body: str
    attachment_names: list[str]
    created_at: datetime


@dataclass
class TicketDocument:
    ticket_id: int
    version: int
    subject: str
    department_id: int
    status: str
    priority: str
    channel: str
    assignee_id: int | None
    assignee_name: str
    customer_id: int | None
    customer_name: str
    customer_email: str
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    messages: list[MessageDocument] = field(default_factory=list)

    @property
    def agent_ids(self):
        """The agents a ticket is "theirs": its assignee and everyone who wrote on it."""
        ids = {m.author_id for m in self.messages if m.author_kind == "agent" and m.author_id}
        return sorted(ids | ({self.assignee_id} if self.assignee_id else set()))

    @property
    def senders(self):
        return _addresses(m.sender for m in self.messages)

    @property
    def recipients(self):
        return _addresses(address for m in self.messages for address in m.recipients)

    @property
    def body(self):
        """Every message's text and attachment names: what a free-text search reads."""
        return "\n\n".join(part for m in self.messages
                           for part in [m.body, " ".join(m.attachment_names)] if part)


def ticket_document(data):
    """The document of one entry of tickets.search_documents."""
    ticket, customer = data["ticket"], data.get("customer") or {}
    return TicketDocument(
        ticket_id=ticket["id"], version=ticket["version"], subject=fold(ticket["subject"]),
        department_id=ticket["department_id"], status=ticket["status"],
        priority=ticket["priority"], channel=ticket["channel"],
        assignee_id=ticket["assignee_id"],
        assignee_name=fold((data.get("assignee") or {}).get("name") or ""),
        customer_id=customer.get("id"), customer_name=fold(customer.get("name") or ""),
        customer_email=(customer.get("email") or "").lower(),
        created_at=_time(ticket["created_at"]), updated_at=_time(ticket["updated_at"]),
        resolved_at=_time(ticket["resolved_at"]),
        messages=[message_document(ticket["id"], item) for item in data.get("messages", [])])


def message_document(ticket_id, item):
    author = item.get("author") or {}
    return MessageDocument(
        message_id=item["id"], ticket_id=ticket_id, direction=item["direction"],
        author_kind=author.get("kind") or "system", author_id=author.get("id"),
        author_name=fold(author.get("name") or ""), sender=(item.get("from") or "").lower(),
        recipients=_addresses([*(item.get("to") or []), *(item.get("cc") or [])]),
        subject=fold(item.get("subject") or ""), body=fold(item.get("body_text") or ""),
        attachment_names=[fold(a["filename"]) for a in item.get("attachments") or []],
        created_at=_time(item["created_at"]))
