"""The REST API against its own OpenAPI document, with schemathesis generating requests for
every operation (the live event stream apart: it never ends): no request makes the gateway
answer 5xx, and every answer has a documented status, content type and shape. Every service
runs in a real container, so each call goes where it would in production."""
import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

# generated requests per operation; CONTRACT_EXAMPLES=200 for a long run
EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", 12))
NOT_GENERATED = {"GET /events"}  # Server-Sent Events: a stream, not an answer


def test_every_operation_keeps_its_contract(app, admin, support, every_service):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures, tried = {}, 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in NOT_GENERATED:
            continue
        tried += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def keeps_its_contract(case):
            # A schema-valid body may still name a department or agent that does not exist:
            # the API answers 400 naming the field, which that check would call a rejection
            # of valid data.
            case.call_and_validate(headers=admin["headers"],
                                   excluded_checks=[positive_data_acceptance])

        try:
            keeps_its_contract()
        except Exception as failure:  # collect them all: one report for the whole API
            failures[operation.label] = str(failure)[:2000]
    assert tried >= 60
    print(f"{tried} operations, {EXAMPLES} generated requests each")
    assert not failures, f"{len(failures)} operations broke their contract: " + "\n\n".join(
        f"{label}:\n{text}" for label, text in failures.items())
