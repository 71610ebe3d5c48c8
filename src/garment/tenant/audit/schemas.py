"""Response bodies of the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from garment.platform.pagination import PageMeta


class AuditLogOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    occurred_at: datetime
    actor_id: uuid.UUID | None = Field(description="The member who acted (null: the system).")
    action: str = Field(description="create, update, delete, archive, restore, …")
    entity_type: str
    entity_id: str
    changes: dict[str, dict[str, Any]] = Field(
        description="`before` and `after` of the fields that changed."
    )
    request_id: str | None


class AuditLogList(BaseModel):
    data: list[AuditLogOut]
    meta: PageMeta
