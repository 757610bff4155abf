"""Mail out for admins: the texts of the mail the help desk writes itself (per kind, language
and department), and how the outbox is doing. The notify service checks that the caller is an
admin and that a template renders before it is saved."""
from flask import Blueprint, request

from gateway.api import body, call, number

bp = Blueprint("notify", __name__)


def notify(method, *args):
    return call(method, *args, service="notify")


@bp.get("/notify/templates")
def list_templates():
    return notify("list_templates")


@bp.put("/notify/templates")
def save_template():
    return notify("save_template", body())


@bp.delete("/notify/templates/<kind>/<language>")
def reset_template(kind, language):
    """Back to the shipped text (or, with department_id, to the help desk's own version)."""
    notify("reset_template", kind, language,
           number(request.args.get("department_id"), "department_id"))
    return {"reset": True}


@bp.get("/notify/outbox")
def outbox_summary():
    return notify("outbox_summary")
