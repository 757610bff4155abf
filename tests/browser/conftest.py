"""The help desk in a real browser: Debian's Chromium (installed when missing), driven by
Playwright, against every part of the help desk started as `helpdesk up` starts them.

Playwright's sync API hangs on its first wait under eventlet's monkey patching (the test
process needs it for nameko), its async API does not: `Synced` runs each call of the async
API to completion on one event loop, so the tests read as plain steps."""
import asyncio
import inspect
import os
from pathlib import Path

import pytest
import requests
from playwright.async_api import async_playwright

from helpdesk import event_queues, infra
from helpdesk.cli import wait_healthy
from services.tickets import templates
from tests import fixtures, processes
from tests.mail import free_port, process_env
from tests.relay import Relay

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent.parent
SCREENSHOTS = Path(os.environ.get("HELPDESK_ARTIFACTS", ROOT / "test-artifacts")) / "screenshots"
PARTS = ("tickets", "ingest", "notify", "escalation", "search", "smtp", "gateway")
PASSWORD = "secret-pass-1"


class Synced:
    """A Playwright async object whose calls return when done, results wrapped alike."""

    def __init__(self, target, loop):
        self._target, self._loop = target, loop

    def __getattr__(self, name):
        value = getattr(self._target, name)
        if not callable(value):
            return self._wrap(value)

        def call(*args, **kwargs):
            result = value(*args, **kwargs)
            if inspect.isawaitable(result):
                result = self._loop.run_until_complete(result)
            return self._wrap(result)
        return call

    def _wrap(self, value):
        if isinstance(value, list):
            return [self._wrap(item) for item in value]
        return Synced(value, self._loop) if hasattr(value, "_impl_obj") else value


@pytest.fixture(scope="session")
def chromium():
    infra.ensure_program(CHROMIUM, "chromium")
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # Playwright schedules its own tasks on the current loop
    playwright = loop.run_until_complete(async_playwright().start())
    browser = loop.run_until_complete(playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-background-networking", "--disable-gpu",
              "--autoplay-policy=no-user-gesture-required"]))
    yield Synced(browser, loop)
    loop.run_until_complete(browser.close())
    loop.run_until_complete(playwright.stop())
    loop.close()


@pytest.fixture
def desk(config, db, tmp_path):
    """Two departments with an agent each, a manager of the first, an administrator, a canned
    reply, a relay for outgoing mail, and every part of the help desk in its own process."""
    support = fixtures.department(db, "Техподдержка", ["support@isp.example"],
                                  signature="Техподдержка ISP", on_portal=True)
    billing = fixtures.department(db, "Биллинг", ["billing@isp.example"])
    olga, olga_token = fixtures.agent_with_token(db, "Ольга Смирнова", "olga@isp.example",
                                                 department_ids=[support["id"]],
                                                 password=PASSWORD)
    boris, _ = fixtures.agent_with_token(db, "Борис Петров", "boris@isp.example",
                                         department_ids=[billing["id"]], password=PASSWORD)
    fixtures.agent_with_token(db, "Мила Орлова", "mila@isp.example", role="manager",
                              department_ids=[support["id"]], password=PASSWORD)
    fixtures.agent_with_token(db, "Ада Админова", "ada@isp.example", role="admin",
                              password=PASSWORD)
    canned = templates.create(db, fixtures.SYSTEM, {
        "title": "Перезагрузка роутера", "department_id": support["id"],
        "body": "Здравствуйте, {customer_name}! Перезагрузите роутер. Заявка {ticket_number}."})
    relay = Relay(tmp_path / "relay").start()
    event_queues.declare_all(config)
    gateway, smtp = free_port(), free_port()
    env = process_env(config, **relay.settings(), GATEWAY_ADDRESS=f"127.0.0.1:{gateway}",
                      SMTP_ADDRESS=f"127.0.0.1:{smtp}", LIVE_HEARTBEAT_SECONDS=2,
                      PUBLIC_URL=f"http://127.0.0.1:{gateway}")
    running = [processes.start(name, env) for name in PARTS]
    url = f"http://127.0.0.1:{gateway}"
    try:
        wait_healthy(url, running, seconds=60)
        processes.wait_until_serving(config, ["ingest", "notify", "escalation", "search"])
        yield {"url": url, "smtp": ("127.0.0.1", smtp), "relay": relay, "support": support,
               "billing": billing, "olga": olga, "boris": boris, "canned": canned,
               "olga_api": {"Authorization": f"Bearer {olga_token}"}}
    finally:
        processes.stop_all(running, seconds=20)
        relay.stop()


@pytest.fixture
def open_page(chromium):
    """A new browser context (its own cookies) per call; all closed after the test."""
    contexts = []

    def opened(language="ru"):
        context = chromium.new_context(locale=language, viewport={"width": 1400, "height": 900})
        contexts.append(context)
        return context.new_page()
    yield opened
    for context in contexts:
        context.close()


def log_in(page, desk, email):
    page.goto(f"{desk['url']}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click(".login button[type=submit]")
    page.wait_for_url(f"{desk['url']}/")


def screenshot(page, name):
    """A full-page screenshot kept as a test artefact (test-artifacts/screenshots)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def as_olga(desk, method, path, **kwargs):
    """A REST API call with Olga's token: what another agent does meanwhile."""
    response = requests.request(method, f"{desk['url']}/api/v1{path}", headers=desk["olga_api"],
                                timeout=10, **kwargs)
    assert response.ok, response.text
    return response.json()
