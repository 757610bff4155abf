"""Alembic environment of the `tickets` schema; its version table lives in that schema too."""
from alembic import context

from helpdesk.migrations import run_online
from services.tickets.models import SCHEMA, Base

run_online(context, SCHEMA, Base.metadata)
