"""Runs every service's Alembic migrations (one version table per schema)."""
from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent
# service -> the database schema it owns
SCHEMAS = {"tickets": "tickets", "ingest": "ingest", "notify": "notify", "escalation": "sla",
           "search": "search"}
SERVICES_WITH_SCHEMAS = tuple(SCHEMAS)


def alembic_config(service, database_url):
    config = Config()
    config.set_main_option("script_location", str(ROOT / "services" / service / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


def upgrade_all(database_url):
    for service in SERVICES_WITH_SCHEMAS:
        command.upgrade(alembic_config(service, database_url), "head")


def run_online(context, schema, metadata):
    """The body of every service's Alembic env.py: its own schema, its own version table."""
    from sqlalchemy import create_engine, text

    from helpdesk.database import with_driver
    engine = create_engine(with_driver(context.config.get_main_option("sqlalchemy.url")))
    with engine.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        connection.commit()
        context.configure(connection=connection, target_metadata=metadata,
                          version_table_schema=schema, include_schemas=True,
                          include_name=lambda name, type_, parent: (
                              type_ != "schema" or name == schema))
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
