"""Shared fixtures. From integration level up, tests use the real RabbitMQ (a throwaway vhost
per test, from nameko's pytest plugin) and the real PostgreSQL (a throwaway database per run).
When either cannot be reached the run stops with a message: nothing is skipped silently."""
import eventlet

eventlet.monkey_patch()  # noqa: E402 -- nameko needs it before anything opens a socket

import uuid
import warnings

import psycopg2
import pytest
import requests
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from helpdesk import config as settings
from helpdesk.database import make_engine
from helpdesk.migrations import SCHEMAS, upgrade_all

SETTINGS = settings.load()


def pytest_sessionstart(session):
    problems = []
    try:
        psycopg2.connect(make_url(SETTINGS["DATABASE_URL"]).render_as_string(False)
                         .replace("postgresql+psycopg2", "postgresql"), connect_timeout=5).close()
    except psycopg2.Error as error:
        problems.append(f"PostgreSQL at {SETTINGS['DATABASE_URL']}: {error}".strip())
    try:
        requests.get(SETTINGS["RABBIT_MANAGEMENT_URL"] + "/api/overview", timeout=5) \
            .raise_for_status()
    except requests.RequestException as error:
        problems.append(f"RabbitMQ management API at {SETTINGS['RABBIT_MANAGEMENT_URL']}: {error}")
    if problems:
        pytest.exit("The integration tests need a real PostgreSQL and RabbitMQ, and cannot reach "
                    "them:\n  " + "\n  ".join(problems) +
                    "\nRun the tests with `bin/helpdesk test`, which installs and starts them.",
                    returncode=3)


@pytest.fixture(scope="session")
def database_url():
    """A throwaway database, migrated once for the whole run."""
    base = make_url(SETTINGS["DATABASE_URL"])
    name = f"helpdesk_test_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base.set(database="postgres").render_as_string(False), pool_size=1)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(False)
    upgrade_all(url)
    yield url
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url):
    engine = make_engine(database_url, pool_size=4)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine):
    """A session on a database emptied (every service's schema) before each test."""
    for attempt in range(3):
        try:
            empty_every_schema(engine)
            break
        except OperationalError as error:
            if "lock timeout" not in str(error) or attempt == 2:
                raise
            end_lingering_sessions(engine)
    with Session(engine, expire_on_commit=False) as session:
        yield session


def empty_every_schema(engine):
    with engine.begin() as connection:
        tables = connection.execute(text(
            "SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') FROM pg_tables "
            "WHERE schemaname = ANY(:schemas) AND tablename <> 'alembic_version'"
        ), {"schemas": list(SCHEMAS.values())}).scalar()
        # TRUNCATE waits for every lock on the tables: bounded, so a session an earlier test
        # left open (a straggling service worker) is named and ended instead of hanging the run
        connection.execute(text("SET LOCAL lock_timeout = '15s'"))
        connection.execute(text(f"TRUNCATE {tables} CASCADE"))


def end_lingering_sessions(engine):
    """Report and terminate the other sessions on the test database: an earlier test's."""
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT pid, application_name, state, xact_start, left(query, 200) AS query, "
            "pg_terminate_backend(pid) AS ended FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).all()
    for row in rows:
        warnings.warn(f"ended a session an earlier test left on the database: {row.pid} "
                      f"{row.application_name!r} {row.state} since {row.xact_start}: {row.query}")


@pytest.fixture
def config(rabbit_config, database_url, db):
    return {**SETTINGS, "AMQP_URI": rabbit_config["AMQP_URI"], "DATABASE_URL": database_url,
            "max_workers": 10, "METRICS_PORT": 0, "RPC_TIMEOUT": 15}
