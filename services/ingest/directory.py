"""What routing needs to know about the help desk, cached: the departments and their
addresses (owned by the tickets service, asked by RPC), the admins' routing rules and the
default department. Refreshed every `ttl` seconds, and at once when a mail finds no home."""
import time

from nameko.extensions import DependencyProvider

from helpdesk import config as settings
from services.ingest.decisions import Context

DIRECTORY_TTL_SECONDS = "DIRECTORY_TTL_SECONDS"


class Directory:
    def __init__(self, default_department="", loop_marker="helpdesk", tag_prefix="#", ttl=30):
        self.default_department = (default_department or "").strip()
        self.loop_marker = loop_marker
        self.tag_prefix = tag_prefix
        self.ttl = ttl
        self.loaded_at = None
        self.departments = []
        self.rules = ()

    def refresh(self, load_departments, load_rules, force=False):
        """Reload (calling the loaders) when stale, or when forced."""
        if force or self.loaded_at is None or time.monotonic() - self.loaded_at > self.ttl:
            self.departments = list(load_departments())
            self.rules = tuple(load_rules())
            self.loaded_at = time.monotonic()

    def context(self, raw_mail, mailbox_department_id=None):
        """The filters' context for one raw mail."""
        by_address = {address.lower(): department["id"]
                      for department in self.departments for address in department["addresses"]}
        return Context(
            envelope_sender=raw_mail.envelope_sender,
            envelope_recipients=tuple(raw_mail.envelope_recipients or ()),
            mailbox_department_id=mailbox_department_id,
            departments_by_address=by_address,
            routing_rules=self.rules,
            default_department_id=self._default_department_id(),
            own_domains=frozenset(address.rpartition("@")[2] for address in by_address),
            loop_marker=self.loop_marker,
            tag_prefix=self.tag_prefix)

    def forget(self):
        self.loaded_at = None

    def _default_department_id(self):
        wanted = self.default_department.lower()
        if not wanted:
            return None
        for department in self.departments:
            if department["name"].lower() == wanted or str(department["id"]) == wanted:
                return department["id"]
        return None




class DirectoryCache(DependencyProvider):
    """One Directory per service container, shared by its workers."""

    def setup(self):
        config = self.container.config
        self.directory = Directory(config.get(settings.DEFAULT_DEPARTMENT) or "",
                                   config.get(settings.LOOP_MARKER) or "helpdesk",
                                   config.get(settings.TICKET_TAG_PREFIX) or "#",
                                   float(config.get(DIRECTORY_TTL_SECONDS, 30)))

    def get_dependency(self, worker_ctx):
        return self.directory
