"""Alembic environment of the `search` schema; its version table lives in that schema too."""
from alembic import context

from helpdesk.migrations import run_online
from services.search.models import SCHEMA, Base

run_online(context, SCHEMA, Base.metadata)
