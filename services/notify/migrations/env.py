"""Alembic environment of the `notify` schema; its version table lives in that schema too."""
from alembic import context

from helpdesk.migrations import run_online
from services.notify.models import SCHEMA, Base

run_online(context, SCHEMA, Base.metadata)
