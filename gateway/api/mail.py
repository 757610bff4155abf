"""Mail ingest for admins: quarantined mail, raw mail, IMAP mailboxes, routing rules."""
import base64

from flask import Blueprint, Response, request

from gateway.api import body, call, number
from helpdesk.errors import InvalidInput

bp = Blueprint("mail", __name__)
RAW_MAIL_STATUSES = ("quarantined", "received", "ignored", "processed")


def ingest(method, *args):
    return call(method, *args, service="ingest")


@bp.get("/mail/raw")
def list_raw_mail():
    status = request.args.get("status", "quarantined")
    if status not in RAW_MAIL_STATUSES:
        raise InvalidInput("INVALID_STATUS",
                           f"status must be one of {', '.join(RAW_MAIL_STATUSES)}", "status")
    return ingest("list_raw_mail", status, number(request.args.get("limit", "50"), "limit"),
                  _offset())


def _offset():
    value = request.args.get("offset", "0")
    if value.isdigit() and len(value) < 10:
        return int(value)
    raise InvalidInput("INVALID_OFFSET", "offset must be a whole number, 0 or more", "offset")


@bp.post("/mail/raw")
def submit_raw_mail():
    return ingest("submit_raw_mail", body()), 202


@bp.get("/mail/raw/<raw_mail_id>")
def get_raw_mail(raw_mail_id):
    return ingest("get_raw_mail", number(raw_mail_id, "raw_mail_id"))


@bp.get("/mail/raw/<raw_mail_id>/original")
def original(raw_mail_id):
    raw = ingest("get_raw_mail", number(raw_mail_id, "raw_mail_id"))
    return Response(base64.b64decode(raw["content_base64"]), mimetype="message/rfc822",
                    headers={"Content-Disposition":
                             f'attachment; filename="raw-mail-{raw["id"]}.eml"',
                             "X-Content-Type-Options": "nosniff"})


@bp.post("/mail/raw/<raw_mail_id>/reprocess")
def reprocess(raw_mail_id):
    return ingest("reprocess", number(raw_mail_id, "raw_mail_id")), 202


@bp.get("/mail/mailboxes")
def list_mailboxes():
    return ingest("list_mailboxes")


@bp.post("/mail/mailboxes")
def create_mailbox():
    return ingest("create_mailbox", body()), 201


@bp.patch("/mail/mailboxes/<mailbox_id>")
def update_mailbox(mailbox_id):
    return ingest("update_mailbox", number(mailbox_id, "mailbox_id"), body())


@bp.delete("/mail/mailboxes/<mailbox_id>")
def delete_mailbox(mailbox_id):
    ingest("delete_mailbox", number(mailbox_id, "mailbox_id"))
    return {"deleted": True}


@bp.get("/mail/rules")
def list_rules():
    return ingest("list_rules")


@bp.post("/mail/rules")
def create_rule():
    return ingest("create_rule", body()), 201


@bp.patch("/mail/rules/<rule_id>")
def update_rule(rule_id):
    return ingest("update_rule", number(rule_id, "rule_id"), body())


@bp.delete("/mail/rules/<rule_id>")
def delete_rule(rule_id):
    ingest("delete_rule", number(rule_id, "rule_id"))
    return {"deleted": True}
