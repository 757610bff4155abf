"""Who may administer a service other than tickets: tickets knows the agents, so a service
asks tickets.whoami(actor) and lets admins and trusted system callers through."""
from helpdesk.errors import Forbidden


def require_admin(whoami, what="do this"):
    """`whoami` is tickets.whoami(actor): an agent dict, or {"system": name}."""
    if whoami.get("system") or whoami.get("role") == "admin":
        return whoami
    raise Forbidden("ADMIN_ONLY", f"only an administrator may {what}")
