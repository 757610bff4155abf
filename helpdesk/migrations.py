"""Runs every service's Alembic migrations (one version table per schema)."""
from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent
SERVICES_WITH_SCHEMAS = ("tickets",)


def alembic_config(service, database_url):
    config = Config()
    config.set_main_option("script_location", str(ROOT / "services" / service / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


def upgrade_all(database_url):
    for service in SERVICES_WITH_SCHEMAS:
        command.upgrade(alembic_config(service, database_url), "head")
