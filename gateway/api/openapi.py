"""The OpenAPI document of /api/v1, built from the same payload models the service validates."""
from typing import Literal

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from helpdesk import payloads, search_payloads, sla_payloads

bp = Blueprint("openapi", __name__)

ID = {"type": "integer", "minimum": 1}
OBJECT = {"type": "object"}
LIST = {"type": "array", "items": {"type": "object"}}
EVENT_STREAM = "text/event-stream"  # a response that is a stream of Server-Sent Events
RAW_MAIL = "message/rfc822"
ANY_FILE = "*/*"  # an attachment comes with its own type
NOTIFICATION_KINDS = ("auto_ack", "resolved", "sla_breached", "sla_warning", "assigned")
LANGUAGES = ("ru", "en")


class NotificationTemplateIn(BaseModel):
    """A notification template. The notify service checks it by hand
    (services/notify/templates.py); this model only describes it, and tests/api compares the
    kinds and languages with notify's own."""
    model_config = ConfigDict(extra="forbid")

    kind: Literal[NOTIFICATION_KINDS]
    language: Literal[LANGUAGES]
    department_id: int | None = Field(None, ge=0, description="the department whose mail "
                                      "uses it; none or 0: every department")
    subject: str = Field(min_length=1, max_length=100_000, description="Jinja2 (sandboxed)")
    body: str = Field(min_length=1, max_length=100_000, description="Jinja2 (sandboxed)")

# (method, path, summary, request model, success status, response schema)
OPERATIONS = [
    ("post", "/auth/login", "Log in; starts a web session", payloads.Credentials, 200, OBJECT),
    ("post", "/auth/logout", "End the web session", None, 200, OBJECT),
    ("post", "/auth/token", "Issue an API token for an agent", payloads.Credentials, 201, OBJECT),
    ("get", "/me", "The calling agent", None, 200, OBJECT),
    ("get", "/departments", "List departments", None, 200, LIST),
    ("post", "/departments", "Create a department (admin)", payloads.DepartmentIn, 201, OBJECT),
    ("get", "/departments/{department_id}", "A department", None, 200, OBJECT),
    ("patch", "/departments/{department_id}", "Change a department (admin)",
     payloads.DepartmentPatch, 200, OBJECT),
    ("get", "/agents", "List agents", None, 200, LIST),
    ("post", "/agents", "Create an agent (admin)", payloads.AgentIn, 201, OBJECT),
    ("get", "/agents/{agent_id}", "An agent", None, 200, OBJECT),
    ("patch", "/agents/{agent_id}", "Change or disable an agent (admin)", payloads.AgentPatch,
     200, OBJECT),
    ("get", "/customers", "Find customers by email, name, phone or contract number", None, 200,
     LIST),
    ("post", "/customers", "Create a customer", payloads.CustomerIn, 201, OBJECT),
    ("get", "/customers/{customer_id}", "A customer", None, 200, OBJECT),
    ("patch", "/customers/{customer_id}", "Change a customer", payloads.CustomerPatch, 200,
     OBJECT),
    ("get", "/tickets", "List tickets, newest first", None, 200, OBJECT),
    ("get", "/tickets/counts", "Ticket counts by department and status", None, 200, OBJECT),
    ("post", "/tickets", "Register a ticket (phone call, API)", payloads.TicketIn, 201, OBJECT),
    ("get", "/tickets/{ticket_id}", "A ticket with its full history", None, 200, OBJECT),
    ("patch", "/tickets/{ticket_id}", "Change status, priority, assignee or department",
     payloads.TicketPatch, 200, OBJECT),
    ("post", "/tickets/{ticket_id}/replies", "Reply to the customer", payloads.ReplyIn, 201,
     OBJECT),
    ("post", "/tickets/{ticket_id}/notes", "Add an internal note", payloads.NoteIn, 201, OBJECT),
    ("post", "/tickets/{ticket_id}/presence", "Tell colleagues who have the ticket open that "
     "you view it, are writing a reply, or left (collision detection; a live event)",
     payloads.PresenceIn, 202, OBJECT),
    ("post", "/tickets/{ticket_id}/split", "Split a message out into a new ticket",
     payloads.SplitIn, 201, OBJECT),
    ("post", "/tickets/{ticket_id}/merge", "Merge this ticket into another", payloads.MergeIn,
     200, OBJECT),
    ("post", "/tickets/{ticket_id}/rating", "Rate a resolved ticket", payloads.RatingIn, 201,
     OBJECT),
    ("get", "/attachments/{attachment_id}", "Download an attachment", None, 200, ANY_FILE),
    ("get", "/templates", "List canned replies", None, 200, LIST),
    ("post", "/templates", "Create a canned reply", payloads.TemplateIn, 201, OBJECT),
    ("get", "/templates/{template_id}", "A canned reply", None, 200, OBJECT),
    ("patch", "/templates/{template_id}", "Change a canned reply", payloads.TemplatePatch, 200,
     OBJECT),
    ("delete", "/templates/{template_id}", "Delete a canned reply", None, 200, OBJECT),
    ("post", "/templates/{template_id}/render", "Fill a canned reply for a ticket",
     payloads.RenderIn, 200, OBJECT),
    ("get", "/mail/raw", "Raw mails by status: quarantined (default), received, ignored, "
     "processed (admin)", None, 200, OBJECT),
    ("post", "/mail/raw", "Hand in a raw mail to be processed like received mail (admin)",
     payloads.RawMailIn, 202, OBJECT),
    ("get", "/mail/raw/{raw_mail_id}", "A raw mail: why it went where it went, its bytes and "
     "what it parses to (admin)", None, 200, OBJECT),
    ("get", "/mail/raw/{raw_mail_id}/original", "The raw mail as received (message/rfc822, "
     "admin)", None, 200, RAW_MAIL),
    ("post", "/mail/raw/{raw_mail_id}/reprocess", "Process a quarantined mail again (admin)",
     None, 202, OBJECT),
    ("get", "/mail/mailboxes", "IMAP mailboxes polled for mail (admin)", None, 200, LIST),
    ("post", "/mail/mailboxes", "Add an IMAP mailbox (admin)", payloads.MailboxIn, 201, OBJECT),
    ("patch", "/mail/mailboxes/{mailbox_id}", "Change an IMAP mailbox (admin)",
     payloads.MailboxPatch, 200, OBJECT),
    ("delete", "/mail/mailboxes/{mailbox_id}", "Remove an IMAP mailbox (admin)", None, 200,
     OBJECT),
    ("get", "/mail/rules", "Routing rules in the order they are tried (admin)", None, 200,
     LIST),
    ("post", "/mail/rules", "Add a routing rule (admin)", payloads.RoutingRuleIn, 201, OBJECT),
    ("patch", "/mail/rules/{rule_id}", "Change a routing rule (admin)",
     payloads.RoutingRulePatch, 200, OBJECT),
    ("delete", "/mail/rules/{rule_id}", "Remove a routing rule (admin)", None, 200, OBJECT),
    ("get", "/notify/templates", "Texts of the mail the help desk writes: every kind and "
     "language, shipped or changed, and departments' own versions (admin)", None, 200, LIST),
    ("put", "/notify/templates", "Save a notification template; one that does not render is "
     "refused with INVALID_TEMPLATE (admin)", NotificationTemplateIn, 200, OBJECT),
    ("delete", "/notify/templates/{kind}/{language}", "Back to the shipped text, or with "
     "department_id to the help desk's version (admin)", None, 200, OBJECT),
    ("get", "/notify/outbox", "Outbound mail by status, and how long the oldest has waited "
     "(admin)", None, 200, OBJECT),
    ("get", "/tickets/{ticket_id}/sla", "Where a ticket stands against its SLA: each "
     "target's due time, business time used and left, met, running, paused or breached; the "
     "escalations fired", None, 200, OBJECT),
    ("get", "/departments/{department_id}/sla/at-risk", "Tickets of a department whose "
     "breach falls within within_minutes (soonest first), and those breached", None, 200,
     OBJECT),
    ("get", "/sla/calendars", "Business calendars", None, 200, LIST),
    ("post", "/sla/calendars", "Add a business calendar (admin)", sla_payloads.CalendarIn,
     201, OBJECT),
    ("put", "/sla/calendars/{calendar_id}", "Replace a business calendar; the clocks of its "
     "tickets are recomputed (admin)", sla_payloads.CalendarIn, 200, OBJECT),
    ("delete", "/sla/calendars/{calendar_id}", "Remove a calendar no policy uses (admin)",
     None, 200, OBJECT),
    ("get", "/sla/policies", "SLA policies", None, 200, LIST),
    ("post", "/sla/policies", "Add an SLA policy for a department and priority (admin)",
     sla_payloads.PolicyIn, 201, OBJECT),
    ("put", "/sla/policies/{policy_id}", "Replace an SLA policy; the clocks of its tickets "
     "are recomputed (admin)", sla_payloads.PolicyIn, 200, OBJECT),
    ("delete", "/sla/policies/{policy_id}", "Remove an SLA policy (admin)", None, 200, OBJECT),
    ("get", "/statistics/agents", "Per agent over a period (manager): tickets handled, "
     "replies, average and median first-response time, CSAT", None, 200, LIST),
    ("get", "/statistics/load", "Departments' load over a period (manager): incoming by hour "
     "of day, day of week and month in time_zone; backlog; SLA breaches", None, 200, OBJECT),
    ("get", "/search", "Search tickets in the caller's departments: free text (words, "
     "\"phrases\", -exclusions; Russian and English stems) and filters; highlighted "
     "snippets, facets by department and status", None, 200, OBJECT),
    ("get", "/search/saved", "The caller's saved searches and those shared with their "
     "departments", None, 200, LIST),
    ("post", "/search/saved", "Save a search", search_payloads.SavedSearchIn, 201, OBJECT),
    ("get", "/search/saved/{saved_id}", "A saved search", None, 200, OBJECT),
    ("put", "/search/saved/{saved_id}", "Replace a saved search (its owner)",
     search_payloads.SavedSearchIn, 200, OBJECT),
    ("delete", "/search/saved/{saved_id}", "Remove a saved search (its owner)", None, 200,
     OBJECT),
    ("get", "/search/saved/{saved_id}/results", "Run a saved search", None, 200, OBJECT),
    ("get", "/events", "Live events for the caller's departments (Server-Sent Events: ticket, "
     "message, assigned, resync; a comment line every 15 s)", None, 200, EVENT_STREAM),
]

PATH_PARAMETERS = {"kind": {"type": "string", "enum": list(NOTIFICATION_KINDS)},
                   "language": {"type": "string", "enum": list(LANGUAGES)}}

QUERY_PARAMETERS = {
    "/tickets": ["department_id", "status", "priority", "assignee_id", "unassigned",
                 "customer_id", "page", "per_page"],
    "/customers": ["q", "limit"],
    "/templates": ["department_id"],
    "/mail/raw": ["status", "limit", "offset"],
    "/notify/templates/{kind}/{language}": ["department_id"],
    "/departments/{department_id}/sla/at-risk": ["within_minutes"],
    "/search": ["q", "in", "agent_id", "recipient", "sender", "customer", "department_id",
                "status", "priority", "created_from", "created_to", "updated_from",
                "updated_to", "resolved_from", "resolved_to", "sort", "page", "per_page"],
    "/search/saved/{saved_id}/results": ["page", "per_page"],
    "/statistics/agents": ["since", "until", "department_id", "time_zone"],
    "/statistics/load": ["since", "until", "department_id", "time_zone"],
}

# Operations a retry must not repeat: the same Idempotency-Key (or request_key in the body)
# again answers with what the first request made.
IDEMPOTENT_OPERATIONS = {("post", "/tickets/{ticket_id}/replies"),
                         ("post", "/tickets/{ticket_id}/notes")}
IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                   "description": "the client's name for this request: sent again, the same "
                                  "message is answered and no second one made"}
PUBLIC_OPERATIONS = {("post", "/auth/login"), ("post", "/auth/logout"), ("post", "/auth/token")}
ERROR = {"type": "object", "required": ["error", "message"],
         "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                        "field": {"type": "string"}}}


def document():
    schemas = {"Error": ERROR}
    paths = {}
    for method, path, summary, model, status, response in OPERATIONS:
        operation = {"summary": summary, "parameters": _parameters(path),
                     "responses": _responses(status, response)}
        if (method, path) in IDEMPOTENT_OPERATIONS:
            operation["parameters"].append(IDEMPOTENCY_KEY)
        if (method, path) in PUBLIC_OPERATIONS:
            operation["security"] = []  # what one calls to get a token or a session
        if model is not None:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
            operation["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}
        paths.setdefault(path, {})[method] = operation
    return {"openapi": "3.0.3",
            "info": {"title": "Help desk API", "version": "1"},
            "servers": [{"url": "/api/v1"}],
            "components": {"schemas": schemas, "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer"}}},
            "security": [{"token": []}],
            "paths": paths}


def _parameters(path):
    params = [{"name": part[1:-1], "in": "path", "required": True,
               "schema": PATH_PARAMETERS.get(part[1:-1], ID)}
              for part in path.split("/") if part.startswith("{")]
    params += [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
               for name in QUERY_PARAMETERS.get(path, [])]
    return params


def _responses(status, schema):
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    success = {"description": "OK"}
    if schema == EVENT_STREAM:
        success["content"] = {EVENT_STREAM: {"schema": {"type": "string"}}}
    elif schema in (RAW_MAIL, ANY_FILE):
        success["content"] = {schema: {"schema": {"type": "string", "format": "binary"}}}
    elif schema is not None:
        success["content"] = {"application/json": {"schema": schema}}
    else:
        success["content"] = {"application/octet-stream": {"schema": {"type": "string",
                                                                       "format": "binary"}}}
    return {str(status): success, "400": {"description": "Invalid input", **error},
            "401": {"description": "Not authenticated", **error},
            "403": {"description": "Not allowed to this caller", **error},
            "404": {"description": "Not found", **error},
            "409": {"description": "Conflicts with the resource's state", **error},
            "default": {"description": "Another error: 413 too large, 415 not JSON, "
                                       "429 too many, 503/504 a service is not answering",
                        **error}}


@bp.get("/openapi.json")
def openapi_json():
    return document()
