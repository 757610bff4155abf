"""The OpenAPI document and the routes of the API describe the same thing."""
import re

from gateway import create_app
from tests.conftest import SETTINGS


def api_routes(app):
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "openapi.openapi_json":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule[len("/api/v1"):])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method.lower(), path))
    return routes


def documented(document):
    return {(method, path) for path, item in document["paths"].items() for method in item}


def test_every_route_is_documented_and_every_documented_route_exists():
    app = create_app({**SETTINGS})
    document = app.test_client().get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.")
    assert documented(document) == api_routes(app)


def test_documented_request_schemas_resolve():
    app = create_app({**SETTINGS})
    document = app.test_client().get("/api/v1/openapi.json").json
    schemas = document["components"]["schemas"]
    text = str(document)
    for name in re.findall(r"#/components/schemas/(\w+)", text):
        assert name in schemas
    assert "subject" in schemas["TicketIn"]["properties"]
