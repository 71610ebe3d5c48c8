"""The newcomer path: a verified demo platform admin and a demo tenant on the embedded database.

Created once; the admin's random password is kept in `data_dir/demo-admin-password` (mode 0600,
never in git) so every `make run` can print it. Never runs against a configured database (the
composition root only calls it where `settings.should_seed_demo_data` holds).
"""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from garment.central.auth.service import AuthService
from garment.central.tenancy.provisioning import ProvisioningPipeline
from garment.central.tenancy.service import TenancyService
from garment.central.tenancy.states import NOT_PROVISIONED, BillingInterval, TenantStatus
from garment.config import Settings
from garment.platform.db import Database

PASSWORD_FILE = "demo-admin-password"
DEMO_TENANT_SLUG = "demo"
DEMO_TENANT_NAME = "Konveksi Demo"
DEMO_PLAN = "growth"


@dataclass(frozen=True, slots=True)
class SeededDemo:
    email: str
    password: str | None  # None when the password file was removed
    tenant_id: uuid.UUID
    status: TenantStatus


def _write_secret(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(value)


class DemoSeed:
    def __init__(
        self,
        *,
        settings: Settings,
        central: Database,
        auth: AuthService,
        tenancy: TenancyService,
        provisioning: ProvisioningPipeline,
    ) -> None:
        self.settings = settings
        self.central = central
        self.auth = auth
        self.tenancy = tenancy
        self.provisioning = provisioning

    @property
    def password_file(self) -> Path:
        return self.settings.data_dir / PASSWORD_FILE

    async def ensure(self) -> SeededDemo:
        email, password = await self.ensure_admin()
        tenant_id, status = await self.ensure_tenant(email)
        return SeededDemo(email, password, tenant_id, status)

    async def ensure_admin(self) -> tuple[str, str | None]:
        """The demo admin's email and password (None if the password file was removed)."""
        email = self.settings.auth.demo_admin_email
        async with self.central.transaction() as session:
            if await self.auth.accounts.find_by_email(session, email) is None:
                password = "demo-" + secrets.token_urlsafe(12)
                await self.auth.accounts.create_verified(
                    session,
                    email=email,
                    name="Demo Admin",
                    password=password,
                    verified_at=datetime.now(UTC),
                    platform_admin=True,
                )
                _write_secret(self.password_file, password)
                return email, password
        path = self.password_file
        return email, path.read_text(encoding="utf-8").strip() if path.exists() else None

    async def ensure_tenant(self, admin_email: str) -> tuple[uuid.UUID, TenantStatus]:
        """A demo tenant owned by the demo admin, provisioned in-process (no worker needed)."""
        async with self.central.transaction() as session:
            tenant = await self.tenancy.find(session, DEMO_TENANT_SLUG)
            if tenant is None:
                admin = await self.auth.accounts.find_by_email(session, admin_email)
                assert admin is not None  # created just before
                created = await self.tenancy.create_tenant(
                    session,
                    owner=admin,
                    name=DEMO_TENANT_NAME,
                    slug=DEMO_TENANT_SLUG,
                    plan_code=DEMO_PLAN,
                    billing_interval=BillingInterval.MONTHLY,
                )
                tenant_id, status = created.id, TenantStatus(created.status)
            else:
                tenant_id, status = tenant.id, tenant.status
        if status in NOT_PROVISIONED:
            status = await self.provisioning.run(tenant_id)
        return tenant_id, status
