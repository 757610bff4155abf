"""Which department a new ticket goes to: the address the mail was sent to, then the
mailbox it came from, then the admins' rules in order, then the default department."""
from services.ingest.decisions import Route


def route(mail, context):
    for source, address in _receiving_addresses(mail, context):
        department_id = _department_at(address, context.departments_by_address)
        if department_id is not None:
            return Route(department_id, f"{source} {address}")
    if context.mailbox_department_id is not None:
        return Route(context.mailbox_department_id, "the mailbox's department")
    for rule in context.routing_rules:
        if _holds(rule, mail):
            return Route(rule.department_id, f"routing rule {rule.id}")
    if context.default_department_id is not None:
        return Route(context.default_department_id, "the default department")
    return None


def _receiving_addresses(mail, context):
    for name in ("Delivered-To", "X-Original-To"):
        for value in mail.header_all(name):
            yield name, value.strip().strip("<>")
    for address in context.envelope_recipients:
        yield "envelope recipient", address.strip("<>")
    for address in mail.to:
        yield "To", address.email
    for address in mail.cc:
        yield "Cc", address.email


def _department_at(address, departments_by_address):
    address = address.lower()
    if address in departments_by_address:
        return departments_by_address[address]
    local, at, domain = address.partition("@")
    if at and "+" in local:  # plus-addressing: support+tariffs@ is support@
        return departments_by_address.get(f"{local.split('+', 1)[0]}@{domain}")
    return None


def _holds(rule, mail):
    sender = (mail.from_.email if mail.from_ else "").lower()
    domain = sender.rpartition("@")[2]
    if rule.sender_domain:
        wanted = rule.sender_domain.lower().lstrip("@")
        if not (domain == wanted or domain.endswith("." + wanted)):
            return False
    if rule.subject_contains and rule.subject_contains.lower() not in mail.subject.lower():
        return False
    if rule.body_contains and rule.body_contains.lower() not in mail.text.lower():
        return False
    return True
