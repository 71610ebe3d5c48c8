"""The newcomer path: a verified demo platform admin on the embedded database.

Created once; its random password is kept in `data_dir/demo-admin-password` (mode 0600, never in
git) so every `make run` can print it. Never runs against a configured database.
"""

from __future__ import annotations

import os
import secrets
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from garment.central.auth.models import User

if TYPE_CHECKING:
    from garment.runtime import Runtime

PASSWORD_FILE = "demo-admin-password"


def _password_file(runtime: Runtime) -> Path:
    return runtime.settings.data_dir / PASSWORD_FILE


def _write_secret(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(value)


DEMO_TENANT_SLUG = "demo"


async def ensure_demo_admin(runtime: Runtime) -> tuple[str, str | None]:
    """The demo admin's email and password (None if the password file was removed)."""
    email = runtime.settings.auth.demo_admin_email
    path = _password_file(runtime)
    async with runtime.central.transaction() as session:
        user = await runtime.auth.accounts.find_by_email(session, email)
        if user is None:
            password = "demo-" + secrets.token_urlsafe(12)
            now = datetime.now(UTC)
            session.add(
                User(
                    id=uuid.uuid4(),
                    email=email,
                    name="Demo Admin",
                    locale="id",
                    password_hash=runtime.auth.components.hashing.hash(password),
                    email_verified_at=now,
                    password_changed_at=now,
                    is_platform_admin=True,
                )
            )
            _write_secret(path, password)
            return email, password
    return email, path.read_text(encoding="utf-8").strip() if path.exists() else None


async def ensure_demo_tenant(runtime: Runtime) -> tuple[str, str]:
    """A demo tenant owned by the demo admin, provisioned in-process (no worker needed)."""
    from garment.central.tenancy.provisioning import ProvisioningPipeline

    email = runtime.settings.auth.demo_admin_email
    async with runtime.central.transaction() as session:
        tenant = await runtime.tenancy.find(session, DEMO_TENANT_SLUG)
        if tenant is None:
            admin = await runtime.auth.accounts.find_by_email(session, email)
            assert admin is not None  # created just before
            tenant = await runtime.tenancy.create_tenant(
                session,
                owner_id=admin.id,
                name="Konveksi Demo",
                slug=DEMO_TENANT_SLUG,
                plan_code="growth",
                billing_interval="monthly",
            )
    status = tenant.status
    if status in ("provisioning", "provisioning_failed", "pending"):
        status = await ProvisioningPipeline(runtime).run(tenant.id)
    return str(tenant.id), status
