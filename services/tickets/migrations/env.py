"""Alembic environment of the `tickets` schema; its version table lives in that schema too."""
from alembic import context
from sqlalchemy import create_engine, text

from services.tickets.models import SCHEMA, Base

config = context.config


def run_migrations_online():
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        connection.commit()
        context.configure(connection=connection, target_metadata=Base.metadata,
                          version_table_schema=SCHEMA, include_schemas=True,
                          include_name=lambda name, type_, parent: (
                              type_ != "schema" or name == SCHEMA))
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
