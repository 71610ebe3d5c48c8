"""Queries of tenancy: tenants, memberships, invitations, provisioning steps (central), and the
generic per-table access the tenant export and move need on clusters."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.tenancy.models import Invitation, Membership, ProvisioningStep, Tenant
from garment.central.tenancy.states import MembershipStatus, StepStatus, TenantStatus
from garment.platform.db import Database, driver_query, fetch_alone
from garment.platform.repository import Repository

# The login response's tenant picker: built once, run straight through the driver.
MEMBER_TENANTS = (
    select(
        Tenant.id, Tenant.slug, Tenant.name, Tenant.status, Tenant.plan_code, Membership.role_keys
    )
    .join(Membership, Membership.tenant_id == Tenant.id)
    .where(Membership.user_id == bindparam("user_id"), Membership.status == bindparam("active"))
    .order_by(Tenant.name)
)


class TenantRepository(Repository[Tenant]):
    model = Tenant

    async def by_slug(self, slug: str) -> Tenant | None:
        return await self.one_or_none(self.select().where(Tenant.slug == slug))

    async def claim(self, values: dict[str, Any]) -> Tenant | None:
        """Insert the tenant unless its slug is taken; None when it is. One statement: of N
        simultaneous creations with one slug, exactly one inserts, the others wait for it and
        then find the slug taken (no unique violation reaches anyone)."""
        inserted = await self.session.execute(
            pg_insert(Tenant)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Tenant.slug])
            .returning(Tenant.id)
        )
        tenant_id = inserted.scalar_one_or_none()
        return await self.get(tenant_id) if tenant_id is not None else None

    async def slug_taken(self, slug: str) -> bool:
        found = await self.session.execute(select(Tenant.id).where(Tenant.slug == slug))
        return found.first() is not None

    async def listed(
        self, *, status: TenantStatus | None, cluster: str | None, limit: int
    ) -> list[Tenant]:
        statement = self.select().order_by(Tenant.created_at.desc()).limit(limit)
        if status is not None:
            statement = statement.where(Tenant.status == status)
        if cluster:
            statement = statement.where(Tenant.cluster_key == cluster)
        return await self.all(statement)

    async def counts_by_cluster(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(Tenant.cluster_key, func.count())
            .where(Tenant.cluster_key.is_not(None), Tenant.status != TenantStatus.CANCELLED)
            .group_by(Tenant.cluster_key)
        )
        return {key: int(count) for key, count in rows if key is not None}


async def member_tenants(database: Database, user_id: uuid.UUID) -> list[Any]:
    """The user's active memberships with their tenants, by tenant name, as driver records
    (`MEMBER_TENANTS`), read alone on a pooled connection: one round trip, no transaction."""
    query = driver_query(MEMBER_TENANTS, database.engine.dialect)
    return await fetch_alone(
        database, query, {"user_id": user_id, "active": MembershipStatus.ACTIVE.value}
    )


class MembershipRepository(Repository[Membership]):
    model = Membership

    async def of(
        self, tenant_id: uuid.UUID, user_id: uuid.UUID, *, for_update: bool = False
    ) -> Membership | None:
        return await self.get((tenant_id, user_id), for_update=for_update)

    async def listed(
        self, *, tenant_id: uuid.UUID | None = None, user_id: uuid.UUID | None = None
    ) -> list[Membership]:
        """Memberships of one tenant or of one user, in every status, oldest first."""
        statement = self.select().order_by(Membership.created_at)
        if tenant_id is not None:
            statement = statement.where(Membership.tenant_id == tenant_id)
        if user_id is not None:
            statement = statement.where(Membership.user_id == user_id)
        return await self.all(statement)

    async def active_of(self, tenant_id: uuid.UUID) -> list[Membership]:
        return await self.all(
            self.select()
            .where(Membership.tenant_id == tenant_id, Membership.status == MembershipStatus.ACTIVE)
            .order_by(Membership.created_at, Membership.user_id)
        )

    async def holding(
        self, tenant_id: uuid.UUID, role_key: str, *, for_update: bool = False
    ) -> list[Membership]:
        """Active memberships holding the role; locked when asked (the last-owner check)."""
        statement = self.select().where(
            Membership.tenant_id == tenant_id,
            Membership.status == MembershipStatus.ACTIVE,
            Membership.role_keys.contains([role_key]),
        )
        if for_update:
            statement = statement.with_for_update()
        return await self.all(statement)

    async def count_active(self, tenant_id: uuid.UUID) -> int:
        return await self.count(
            self.select().where(
                Membership.tenant_id == tenant_id, Membership.status == MembershipStatus.ACTIVE
            )
        )


class InvitationRepository(Repository[Invitation]):
    model = Invitation

    def _open(self, tenant_id: uuid.UUID, now: datetime) -> Any:
        return self.select().where(
            Invitation.tenant_id == tenant_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )

    async def has_open_for(self, tenant_id: uuid.UUID, email: str, now: datetime) -> bool:
        statement = self._open(tenant_id, now).where(func.lower(Invitation.email) == email.lower())
        return await self.count(statement) > 0

    async def count_open(self, tenant_id: uuid.UUID, now: datetime) -> int:
        return await self.count(self._open(tenant_id, now))

    async def newest(self, tenant_id: uuid.UUID, limit: int) -> list[Invitation]:
        return await self.all(
            self.select()
            .where(Invitation.tenant_id == tenant_id)
            .order_by(Invitation.created_at.desc())
            .limit(limit)
        )

    async def by_token_hash(self, candidates: Sequence[str]) -> Invitation | None:
        return await self.one_or_none(
            self.select().where(Invitation.token_hash.in_(candidates)).with_for_update()
        )

    async def set_token_hash(self, invitation_id: uuid.UUID, token_hash: str) -> None:
        await self.session.execute(
            update(Invitation).where(Invitation.id == invitation_id).values(token_hash=token_hash)
        )


class ProvisioningStepRepository(Repository[ProvisioningStep]):
    model = ProvisioningStep

    async def of_tenant(self, tenant_id: uuid.UUID) -> list[ProvisioningStep]:
        return await self.all(
            self.select()
            .where(ProvisioningStep.tenant_id == tenant_id)
            .order_by(ProvisioningStep.position)
        )

    async def statuses(self, tenant_id: uuid.UUID) -> dict[str, StepStatus]:
        rows = await self.session.execute(
            select(ProvisioningStep.step, ProvisioningStep.status).where(
                ProvisioningStep.tenant_id == tenant_id
            )
        )
        return {step: StepStatus(status) for step, status in rows}

    async def record(self, tenant_id: uuid.UUID, step: str, values: dict[str, Any]) -> None:
        await self.session.execute(
            update(ProvisioningStep)
            .where(ProvisioningStep.tenant_id == tenant_id, ProvisioningStep.step == step)
            .values(**values)
        )

    async def finish_unfinished(self, tenant_id: uuid.UUID, *, step: str | None = None) -> None:
        """Mark steps done (all unfinished ones, or one): an active tenant went through them."""
        statement = update(ProvisioningStep).where(ProvisioningStep.tenant_id == tenant_id)
        if step is not None:
            statement = statement.where(ProvisioningStep.step == step)
        else:
            statement = statement.where(ProvisioningStep.status != StepStatus.DONE)
        await self.session.execute(
            statement.values(status=StepStatus.DONE, finished_at=datetime.now(UTC), error=None)
        )


TenantTable = Table  # what the export and the move are handed: every tenant table


class TenantRows:
    """One tenant's rows in every tenant table of a cluster, through an RLS-bound session: the
    generic access the export and the move need (they copy whatever tables exist)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def rows(self, table: Table) -> list[dict[str, Any]]:
        result = await self.session.execute(select(table))
        return [dict(row) for row in result.mappings()]

    async def insert(self, table: Table, rows: list[dict[str, Any]], batch: int = 500) -> None:
        for start in range(0, len(rows), batch):
            await self.session.execute(insert(table), rows[start : start + batch])

    async def delete(self, table: Table, tenant_id: uuid.UUID) -> None:
        if "parent_id" in table.c:  # self-references first, so no row outlives its parent
            await self.session.execute(
                table.update().where(table.c.tenant_id == tenant_id).values(parent_id=None)
            )
        await self.session.execute(delete(table).where(table.c.tenant_id == tenant_id))

    async def fingerprint(self, table: Table) -> tuple[int, str]:
        """Row count and an order-independent checksum of the bound tenant's rows."""
        row = (
            await self.session.execute(
                text(
                    "SELECT count(*) AS n, coalesce(md5(string_agg(h, '' ORDER BY h)), '') AS sum "
                    f"FROM (SELECT md5(t::text) AS h FROM {table.name} t) hashed"
                )
            )
        ).one()
        return int(row.n), str(row.sum)
