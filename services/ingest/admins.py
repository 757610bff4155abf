"""Who may manage mail ingest: the tickets service knows the agents; admins only."""
from helpdesk.errors import Forbidden


def require_admin(whoami):
    """`whoami` is tickets.whoami(actor): an agent dict, or {"system": name}."""
    if whoami.get("system") or whoami.get("role") == "admin":
        return whoami
    raise Forbidden("ADMIN_ONLY", "only an administrator may manage mail ingest")
