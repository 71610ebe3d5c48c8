"""Queries over tracking links."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import update

from garment.platform.pagination import Keyset, PageParams
from garment.platform.repository import Repository
from garment.tenant.tracking.models import TrackingLink

EXAMPLE_ID = uuid.UUID("7c0e3f52-1d4b-4a8e-9a51-3f1d2c4b5a66")
EXAMPLE_AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
LINK_KEYSET = Keyset.of(TrackingLink.created_at, TrackingLink.id, example=(EXAMPLE_AT, EXAMPLE_ID))


class TrackingLinkRepository(Repository[TrackingLink]):
    model = TrackingLink

    async def of_order(
        self, tenant_id: uuid.UUID, order_id: uuid.UUID, page: PageParams
    ) -> tuple[list[TrackingLink], str | None]:
        statement = self.select().where(
            TrackingLink.tenant_id == tenant_id, TrackingLink.order_id == order_id
        )
        return await self.page(statement, keyset=LINK_KEYSET, params=page)

    async def of_tenant(
        self, tenant_id: uuid.UUID, order_id: uuid.UUID, link_id: uuid.UUID
    ) -> TrackingLink | None:
        return await self.one_or_none(
            self.select().where(
                TrackingLink.tenant_id == tenant_id,
                TrackingLink.order_id == order_id,
                TrackingLink.id == link_id,
            )
        )

    async def by_hash(self, tenant_id: uuid.UUID, hashes: Sequence[str]) -> TrackingLink | None:
        """The link whose stored hash is one of `hashes` (one per hashing key)."""
        return await self.one_or_none(
            self.select().where(
                TrackingLink.tenant_id == tenant_id, TrackingLink.token_hash.in_(hashes)
            )
        )

    async def count_view(
        self, tenant_id: uuid.UUID, link_id: uuid.UUID, at: datetime, *, audited: bool
    ) -> None:
        """One more view, in one statement (concurrent views never lose a count)."""
        values: dict[str, object] = {
            "view_count": TrackingLink.view_count + 1,
            "last_viewed_at": at,
        }
        if audited:
            values["last_audited_view_at"] = at
        await self.session.execute(
            update(TrackingLink)
            .where(TrackingLink.tenant_id == tenant_id, TrackingLink.id == link_id)
            .values(**values)
        )
