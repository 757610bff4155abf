import pytest

from gateway import create_app
from services.tickets.service import TicketsService
from tests import fixtures


@pytest.fixture
def tickets_service(container_factory, config):
    container = container_factory(TicketsService, config)
    container.start()
    return container


@pytest.fixture
def app(config, tickets_service):
    app = create_app(config)
    yield app
    app.extensions["rpc"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin(db):
    agent, token = fixtures.agent_with_token(db, "Ada Admin", "admin@isp.example", role="admin")
    return {**agent, "token": token, "headers": {"Authorization": f"Bearer {token}"}}
