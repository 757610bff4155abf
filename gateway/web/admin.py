"""The admin pages: departments, agents, canned replies, notification templates, SLA calendars
and policies, IMAP mailboxes and routing rules — each a list and an edit form over the same
service calls as the REST API (the services check that the caller is an admin) — and the
quarantine: quarantined mail with its reason, the raw mail, and reprocessing.

Each section is described once (its fields and how to call its service); one template draws
every list and form."""
import base64
import json
from dataclasses import dataclass, field
from typing import Callable

from flask import redirect, request, url_for
from flask_babel import gettext as _, lazy_gettext as __

from gateway.web.pages import agent_required, bp, call, render
from helpdesk.contract import Priority, Role
from helpdesk.errors import HelpdeskError, InvalidInput, NotFound


@dataclass(frozen=True)
class Field:
    name: str
    label: object
    kind: str = "text"   # text number checkbox select multiselect lines json textarea password
    options: str = ""    # for select and multiselect: a key of option_lists()
    required: bool = False
    hint: object = ""


@dataclass(frozen=True)
class Section:
    name: str
    title: object
    service: str
    listing: Callable
    create: Callable
    update: Callable
    fields: list
    columns: list                       # [(key, title)]
    delete: Callable | None = None
    key: Callable = field(default=lambda item: str(item["id"]))


def _tickets(method):
    return lambda *args: call(method, *args)


def _of(service, method):
    return lambda *args: call(method, *args, service=service)


def _notification_key(item):
    return f"{item['kind']}.{item['language']}.{item['department_id'] or 0}"


def _notification_reset(key):
    kind, language, department = key.split(".")
    return call("reset_template", kind, language, int(department) or None, service="notify")


SECTIONS = [
    Section("departments", __("Departments"), "tickets", _tickets("list_departments"),
            _tickets("create_department"), _tickets("update_department"), [
                Field("name", __("Name"), required=True),
                Field("addresses", __("Mail addresses, one per line"), "lines"),
                Field("sender_name", __("Sender name")),
                Field("agent_name_in_from", __("Agent's name in From"), "checkbox"),
                Field("signature", __("Signature"), "textarea",
                      hint=__("{agent_name} is replaced by the answering agent's name")),
                Field("parent_id", __("Parent line"), "select", "departments"),
                Field("on_portal", __("Offered on the customer portal"), "checkbox"),
            ], [("name", __("Name")), ("addresses", __("Mail addresses")),
                ("on_portal", __("Portal"))]),
    Section("agents", __("Agents"), "tickets", _tickets("list_agents"),
            _tickets("create_agent"), _tickets("update_agent"), [
                Field("name", __("Name"), required=True),
                Field("email", __("E-mail"), required=True),
                Field("role", __("Role"), "select", "roles", required=True),
                Field("department_ids", __("Departments"), "multiselect", "departments"),
                Field("active", __("Active"), "checkbox"),
                Field("password", __("Password"), "password",
                      hint=__("At least 8 characters; leave empty to keep it")),
            ], [("name", __("Name")), ("email", __("E-mail")), ("role", __("Role")),
                ("active", __("Active"))]),
    Section("canned", __("Canned replies"), "tickets", _tickets("list_templates"),
            _tickets("create_template"), _tickets("update_template"), [
                Field("title", __("Title"), required=True),
                Field("department_id", __("Department (none: every department)"), "select",
                      "departments"),
                Field("body", __("Text"), "textarea", required=True,
                      hint=__("Placeholders: {customer_name}, {ticket_number}, {ticket_subject}, "
                              "{agent_name}")),
            ], [("title", __("Title")), ("department_id", __("Department"))],
            delete=_tickets("delete_template")),
    Section("notifications", __("Notification templates"), "notify",
            _of("notify", "list_templates"), _of("notify", "save_template"),
            lambda key, data: call("save_template", data, service="notify"), [
                Field("kind", __("Kind"), "select", "kinds", required=True),
                Field("language", __("Language"), "select", "languages", required=True),
                Field("department_id", __("Department (none: every department)"), "select",
                      "departments"),
                Field("subject", __("Subject"), required=True),
                Field("body", __("Text"), "textarea", required=True,
                      hint=__("Jinja2: {{ ticket.number }}, {{ customer.name }}, "
                              "{{ portal_url }}…")),
            ], [("kind", __("Kind")), ("language", __("Language")),
                ("department_id", __("Department")), ("subject", __("Subject")),
                ("shipped", __("As shipped"))],
            delete=_notification_reset, key=_notification_key),
    Section("calendars", __("Business calendars"), "escalation",
            _of("escalation", "list_calendars"),
            lambda data: call("save_calendar", data, service="escalation"),
            lambda key, data: call("save_calendar", data, int(key), service="escalation"), [
                Field("name", __("Name"), required=True),
                Field("time_zone", __("Time zone"), required=True),
                Field("always_open", __("Open around the clock"), "checkbox"),
                Field("hours", __("Working hours"), "json",
                      hint=__('e.g. {"mon": [["09:00", "18:00"]], "tue": [["09:00", "18:00"]]}')),
                Field("country", __("Public holidays of the country (ISO code)")),
                Field("subdivision", __("Region (ISO code)")),
                Field("holidays", __("Other days off, one YYYY-MM-DD per line"), "lines"),
            ], [("name", __("Name")), ("time_zone", __("Time zone")),
                ("country", __("Country"))],
            delete=_of("escalation", "delete_calendar")),
    Section("policies", __("SLA policies"), "escalation", _of("escalation", "list_policies"),
            lambda data: call("save_policy", data, service="escalation"),
            lambda key, data: call("save_policy", data, int(key), service="escalation"), [
                Field("name", __("Name"), required=True),
                Field("department_id", __("Department (none: every department)"), "select",
                      "departments"),
                Field("priority", __("Priority (none: any)"), "select", "priorities"),
                Field("calendar_id", __("Calendar (none: around the clock)"), "select",
                      "calendars"),
                Field("first_response_minutes", __("First response, business minutes"),
                      "number"),
                Field("next_response_minutes", __("Next response, business minutes"), "number"),
                Field("resolution_minutes", __("Resolution, business minutes"), "number"),
                Field("warning_percent", __("Warn at this share of the target, %"), "number"),
                Field("levels", __("Escalation levels"), "json",
                      hint=__('e.g. [{"after_minutes": 0, "notify_managers": true}, '
                              '{"after_minutes": 60, "department_id": 2, "priority": "high"}]')),
            ], [("name", __("Name")), ("department_id", __("Department")),
                ("priority", __("Priority")), ("first_response_minutes", __("First response")),
                ("resolution_minutes", __("Resolution"))],
            delete=_of("escalation", "delete_policy")),
    Section("mailboxes", __("Mailboxes"), "ingest", _of("ingest", "list_mailboxes"),
            _of("ingest", "create_mailbox"),
            lambda key, data: call("update_mailbox", int(key), data, service="ingest"), [
                Field("name", __("Name"), required=True),
                Field("host", __("IMAP server"), required=True),
                Field("port", __("Port"), "number"),
                Field("security", __("Security"), "select", "securities", required=True),
                Field("username", __("User name"), required=True),
                Field("password", __("Password"), "password",
                      hint=__("Leave empty to keep it")),
                Field("folder", __("Folder")),
                Field("department_id", __("Department (none: routed by address)"), "select",
                      "departments"),
                Field("after_import", __("After import"), "select", "after_import",
                      required=True),
                Field("enabled", __("Enabled"), "checkbox"),
            ], [("name", __("Name")), ("host", __("IMAP server")),
                ("username", __("User name")), ("enabled", __("Enabled")),
                ("last_error", __("Last error"))],
            delete=lambda key: call("delete_mailbox", int(key), service="ingest")),
    Section("rules", __("Routing rules"), "ingest", _of("ingest", "list_rules"),
            _of("ingest", "create_rule"),
            lambda key, data: call("update_rule", int(key), data, service="ingest"), [
                Field("department_id", __("Department"), "select", "departments",
                      required=True),
                Field("position", __("Position (lowest first)"), "number"),
                Field("sender_domain", __("Sender's domain")),
                Field("subject_contains", __("Subject contains")),
                Field("body_contains", __("Text contains")),
                Field("enabled", __("Enabled"), "checkbox"),
            ], [("position", __("Position")), ("department_id", __("Department")),
                ("sender_domain", __("Sender's domain")),
                ("subject_contains", __("Subject contains")), ("enabled", __("Enabled"))],
            delete=lambda key: call("delete_rule", int(key), service="ingest")),
]
BY_NAME = {section.name: section for section in SECTIONS}
RAW_SHOWN_BYTES = 200_000


def option_lists(needed):
    """{source: [(value, label)]} for the select fields of a form (only those it has)."""
    sources = {
        "departments": lambda: [(d["id"], d["name"]) for d in call("list_departments")],
        "calendars": lambda: [(c["id"], c["name"])
                              for c in call("list_calendars", service="escalation")],
        "roles": lambda: [(str(role), str(role)) for role in Role],
        "priorities": lambda: [(str(p), str(p)) for p in Priority],
        "kinds": lambda: [(kind, kind) for kind in ("auto_ack", "resolved", "sla_breached",
                                                    "sla_warning", "assigned")],
        "languages": lambda: [("ru", "ru"), ("en", "en")],
        "securities": lambda: [("tls", "TLS"), ("starttls", "STARTTLS"), ("none", "none")],
        "after_import": lambda: [("seen", _("mark as read")), ("delete", _("delete"))],
    }
    return {name: sources[name]() for name in needed}


@bp.get("/admin")
@agent_required
def admin():
    return redirect(url_for("web.admin_section", section="departments"))


@bp.get("/admin/<section>")
@agent_required
def admin_section(section):
    chosen = _section(section)
    items = chosen.listing()
    names = {d["id"]: d["name"] for d in call("list_departments")}
    return render("web/admin.html", sections=SECTIONS, section=chosen, items=items,
                  names=names, editing=None)


@bp.route("/admin/<section>/<key>", methods=["GET", "POST"])
@agent_required
def admin_item(section, key):
    chosen = _section(section)
    item = None if key == "new" else _item(chosen, key)
    problem, values = None, _form_values(chosen, item or {})
    if request.method == "POST":
        if request.form.get("delete") and chosen.delete and item is not None:
            chosen.delete(key)
            return redirect(url_for("web.admin_section", section=section))
        try:
            data = _data(chosen, editing=item is not None)
            saved = chosen.update(key, data) if item is not None else chosen.create(data)
            return redirect(url_for("web.admin_item", section=section,
                                    key=chosen.key(saved), saved=1))
        except HelpdeskError as error:
            problem, values = error, dict(request.form.lists())
            values = {name: v if len(v) > 1 else v[0] for name, v in values.items()}
            values.update({f.name: request.form.getlist(f.name) for f in chosen.fields
                           if f.kind == "multiselect"})
    needed = {f.options for f in chosen.fields if f.options}
    return render("web/admin.html", 400 if problem else 200, sections=SECTIONS,
                  section=chosen, editing=key, item=item, values=values, problem=problem,
                  options=option_lists(needed), saved=request.args.get("saved"))


def _section(name):
    if name not in BY_NAME:
        raise NotFound("NOT_FOUND", name)
    return BY_NAME[name]


def _item(section, key):
    for item in section.listing():
        if section.key(item) == key:
            return item
    raise NotFound("NOT_FOUND", key)


def _form_values(section, item):
    """What the form shows for an item: lists as lines, JSON pretty-printed."""
    values = {}
    for f in section.fields:
        value = item.get(f.name)
        if f.kind == "lines":
            value = "\n".join(str(v) for v in value or [])
        elif f.kind == "json":
            value = json.dumps(value if value is not None else ({} if f.name == "hours" else []),
                               ensure_ascii=False, indent=1)
        elif f.kind == "password":
            value = ""
        elif f.kind == "checkbox" and not item:
            value = f.name in ("active", "enabled")  # a new agent or mailbox starts active
        values[f.name] = value
    return values


def _data(section, editing):
    """The service payload from the posted form; a field the service refuses is named."""
    data = {}
    for f in section.fields:
        raw = request.form.get(f.name, "")
        if f.kind == "checkbox":
            data[f.name] = f.name in request.form
        elif f.kind == "multiselect":
            data[f.name] = [int(v) for v in request.form.getlist(f.name) if v.isdigit()]
        elif f.kind == "lines":
            data[f.name] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif f.kind == "json":
            data[f.name] = _json(f, raw)
        elif f.kind == "password":
            if raw:
                data[f.name] = raw
        elif raw.strip() == "":
            if editing and not f.required:
                data[f.name] = None
        elif f.kind == "number" or (f.kind == "select" and f.options in ("departments",
                                                                        "calendars")):
            data[f.name] = _whole(f, raw)
        else:
            data[f.name] = raw.replace("\r\n", "\n").strip()
    return data


def _json(f, raw):
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError as error:
        raise InvalidInput("INVALID_INPUT", _("%(field)s is not valid JSON: %(error)s",
                                              field=f.label, error=error), f.name) from None


def _whole(f, raw):
    if not raw.strip().isdigit():
        raise InvalidInput("INVALID_INPUT", _("%(field)s must be a whole number", field=f.label),
                           f.name)
    return int(raw)


@bp.get("/admin/quarantine")
@agent_required
def quarantine():
    mails = call("list_raw_mail", "quarantined", 100, 0, service="ingest")
    return render("web/quarantine.html", sections=SECTIONS, mails=mails, shown=None)


@bp.get("/admin/quarantine/<int:raw_mail_id>")
@agent_required
def quarantined_mail(raw_mail_id):
    shown = call("get_raw_mail", raw_mail_id, service="ingest")
    raw = base64.b64decode(shown.pop("content_base64"))
    # shown as text, never as mail: whatever it carries stays inert in a <pre>
    shown["raw_text"] = raw[:RAW_SHOWN_BYTES].decode("utf-8", "replace")
    shown["cut"] = len(raw) > RAW_SHOWN_BYTES
    return render("web/quarantine.html", sections=SECTIONS, mails=None, shown=shown)


@bp.post("/admin/quarantine/<int:raw_mail_id>/reprocess")
@agent_required
def reprocess(raw_mail_id):
    call("reprocess", raw_mail_id, service="ingest")
    return redirect(url_for("web.quarantine", reprocessed=raw_mail_id))
