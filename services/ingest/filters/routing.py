"""Which department a new ticket goes to, first answer wins:

1. the address the mail was delivered to: Delivered-To, X-Original-To (written by the
   delivering server, so they name the mailbox even for Bcc and forwarded mail), the SMTP
   envelope recipients, then To and Cc; case-insensitive, and `support+tariffs@` is
   `support@` (plus-addressing);
2. the department of the IMAP mailbox the mail was fetched from;
3. the admins' routing rules, in order: the first whose every given condition holds (a rule
   with no condition holds for every mail: a catch-all);
4. the default department.
Otherwise no decision: the acting step quarantines the mail as "no department".
"""
from email.utils import getaddresses

from services.ingest.decisions import Route

DELIVERY_HEADERS = ("Delivered-To", "X-Original-To")


def route(mail, context):
    departments = {address.lower(): id_ for address, id_ in
                   context.departments_by_address.items()}
    for source, address in _receiving_addresses(mail, context):
        department_id = _department_at(address, departments)
        if department_id is not None:
            return Route(department_id, f"{source} {address}")
    if context.mailbox_department_id is not None:
        return Route(context.mailbox_department_id, "the mailbox's department")
    for rule in context.routing_rules:
        if _holds(rule, mail):
            return Route(rule.department_id, f"routing rule {rule.id} ({_conditions(rule)})")
    if context.default_department_id is not None:
        return Route(context.default_department_id, "the default department")
    return None


def _receiving_addresses(mail, context):
    for name in DELIVERY_HEADERS:
        for _, address in getaddresses(mail.header_all(name)):
            yield name, address
    for address in context.envelope_recipients:
        yield "envelope recipient", address.strip().strip("<>")
    for address in mail.to:
        yield "To", address.email
    for address in mail.cc:
        yield "Cc", address.email


def _department_at(address, departments):
    address = address.strip().lower()
    if address in departments:
        return departments[address]
    local, at, domain = address.rpartition("@")
    if at and "+" in local:
        return departments.get(f"{local.split('+', 1)[0]}@{domain}")
    return None


def _holds(rule, mail):
    if rule.sender_domain and not _from_domain(mail, rule.sender_domain):
        return False
    if rule.subject_contains and rule.subject_contains.casefold() not in \
            (mail.subject or "").casefold():
        return False
    if rule.body_contains and rule.body_contains.casefold() not in (mail.text or "").casefold():
        return False
    return True


def _from_domain(mail, wanted):
    """The sender's domain is `wanted` or one of its subdomains (never merely ends with it:
    "evilexample.com" is not "example.com")."""
    domain = (mail.from_.email if mail.from_ else "").rpartition("@")[2].strip().lower()
    wanted = wanted.strip().lower().lstrip("@").removeprefix("*.")
    return bool(domain) and (domain == wanted or domain.endswith("." + wanted))


def _conditions(rule):
    given = [("sender domain", rule.sender_domain), ("subject contains", rule.subject_contains),
             ("body contains", rule.body_contains)]
    return ", ".join(f"{name} {value!r}" for name, value in given if value) or "no condition"
