"""What billing needs from other contexts, as protocols the composition root satisfies (the
tenancy service), so billing imports no tenancy module."""

from __future__ import annotations

import uuid
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class TenantUsage(Protocol):
    async def count_members(self, session: AsyncSession, tenant_id: uuid.UUID) -> int:
        """Active members of the tenant."""
