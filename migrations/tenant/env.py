"""Alembic environment of the tenant tree, applied to every cluster (`garment clusters migrate`)."""

from alembic import context

from garment.models import tenant_metadata
from garment.platform.migrations import run_env

run_env(context, tenant_metadata())
