"""What the mail filters may decide, and what they may look at while deciding.

A filter is `filter(mail: ParsedMail, context: Context) -> Decision | None`. It reads the parsed
mail and the context and returns one decision (or None: "nothing to say"); it never writes to a
database. The pipeline folds the decisions into a Verdict and keeps the trail of who decided what.
"""
from dataclasses import dataclass, field

from services.ingest.mail import DeliveryReport, ParsedMail


@dataclass(frozen=True)
class RoutingRule:
    """An admin's rule: every condition given must hold; the first rule that holds wins."""
    id: int
    department_id: int
    sender_domain: str | None = None      # "example.com" (also matches sub.example.com)
    subject_contains: str | None = None   # case-insensitive substring
    body_contains: str | None = None      # case-insensitive substring of the plain body


@dataclass(frozen=True)
class Context:
    """Everything a filter may consult besides the mail itself."""
    envelope_sender: str | None = None
    envelope_recipients: tuple[str, ...] = ()
    mailbox_department_id: int | None = None     # the IMAP mailbox's target department
    departments_by_address: dict = field(default_factory=dict)  # lowercase address -> id
    routing_rules: tuple[RoutingRule, ...] = ()
    default_department_id: int | None = None
    own_domains: frozenset = frozenset()          # domains of the Message-IDs we generate
    loop_marker: str = "helpdesk"                 # the X-Loop value our outbound mail carries
    tag_prefix: str = "#"                         # the ticket tag in subjects: [#1234]
    untrusted_header_prefixes: tuple[str, ...] = ("x-helpdesk-",)


# --- decisions --------------------------------------------------------------------------
@dataclass(frozen=True)
class Rewrite:
    """Carry on with this mail instead (e.g. with untrusted headers removed)."""
    mail: ParsedMail
    why: str


@dataclass(frozen=True)
class Drop:
    """Stop: store nothing on a ticket (the raw mail stays, status `ignored`, with the reason)."""
    reason: str


@dataclass(frozen=True)
class AutoReply:
    why: str


@dataclass(frozen=True)
class Bounce:
    report: DeliveryReport
    why: str


@dataclass(frozen=True)
class Thread:
    """The mail continues ticket `ticket_id`."""
    ticket_id: int
    why: str


@dataclass(frozen=True)
class Route:
    """A new ticket from this mail goes to department `department_id`."""
    department_id: int
    why: str


@dataclass(frozen=True)
class Match:
    """One line of the trail: which filter decided what."""
    filter: str
    decision: str

    def as_dict(self):
        return {"filter": self.filter, "decision": self.decision}


@dataclass
class Verdict:
    mail: ParsedMail
    dropped: str | None = None
    auto_reply: bool = False
    bounce: DeliveryReport | None = None
    ticket_id: int | None = None
    department_id: int | None = None
    trail: list[Match] = field(default_factory=list)

    @property
    def flags(self):
        return {"auto_reply": self.auto_reply, "bounce": self.bounce is not None,
                "loop": self.dropped is not None and "loop" in self.dropped}
