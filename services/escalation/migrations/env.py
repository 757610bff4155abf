"""Alembic environment of the `escalation` schema; its version table lives in that schema too."""
from alembic import context

from helpdesk.migrations import run_online
from services.escalation.models import SCHEMA, Base

run_online(context, SCHEMA, Base.metadata)
