"""The routing directory: departments from tickets, rules from ingest, cached with a TTL."""
from types import SimpleNamespace

from services.ingest.decisions import RoutingRule
from services.ingest.directory import Directory

DEPARTMENTS = [{"id": 1, "name": "First line", "addresses": ["Support@ISP.example"]},
               {"id": 2, "name": "Billing", "addresses": ["billing@pay.example"]}]
RAW = SimpleNamespace(envelope_sender="anna@mail.example",
                      envelope_recipients=["support@isp.example"])


class Loader:
    def __init__(self, value):
        self.value, self.calls = value, 0

    def __call__(self):
        self.calls += 1
        return self.value


def test_context_maps_addresses_case_insensitively_and_knows_our_domains():
    directory = Directory(default_department="billing")
    directory.refresh(Loader(DEPARTMENTS), Loader([]))
    context = directory.context(RAW, mailbox_department_id=5)
    assert context.departments_by_address == {"support@isp.example": 1,
                                              "billing@pay.example": 2}
    assert context.own_domains == {"isp.example", "pay.example"}
    assert context.default_department_id == 2 and context.mailbox_department_id == 5
    assert context.envelope_recipients == ("support@isp.example",)


def test_directory_is_loaded_once_per_ttl_unless_forced():
    departments, rules = Loader(DEPARTMENTS), Loader([RoutingRule(id=1, department_id=2)])
    directory = Directory(ttl=300)
    for _ in range(3):
        directory.refresh(departments, rules)
    assert departments.calls == rules.calls == 1
    directory.refresh(departments, rules, force=True)
    directory.forget()
    directory.refresh(departments, rules)
    assert departments.calls == 3
    assert directory.context(RAW).routing_rules == (RoutingRule(id=1, department_id=2),)


def test_an_unknown_default_department_routes_nothing():
    directory = Directory(default_department="Nowhere")
    directory.refresh(Loader(DEPARTMENTS), Loader([]))
    assert directory.context(RAW).default_department_id is None
