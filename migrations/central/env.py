"""Alembic environment of the central database (run through `garment migrate`)."""

from alembic import context

from garment.models import central_metadata
from garment.platform.migrations import run_env

run_env(context, central_metadata())
