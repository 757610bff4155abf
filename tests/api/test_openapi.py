"""The OpenAPI document and the routes of the API describe the same thing."""
import re

from gateway import create_app
from services.notify import texts
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


def test_the_documented_notification_template_is_notifys_own():
    """notify checks templates by hand; the document must name the same kinds and languages."""
    document = create_app({**SETTINGS}).test_client().get("/api/v1/openapi.json").json
    schema = document["components"]["schemas"]["NotificationTemplateIn"]
    assert tuple(schema["properties"]["kind"]["enum"]) == texts.KINDS
    assert tuple(schema["properties"]["language"]["enum"]) == texts.LANGUAGES
    assert "text/event-stream" in document["paths"]["/events"]["get"]["responses"]["200"][
        "content"]
