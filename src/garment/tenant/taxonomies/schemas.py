"""Response bodies of taxonomy endpoints."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict

from garment.platform.pagination import PageMeta


class TermOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    type: str
    code: str
    parent_id: uuid.UUID | None
    label_id: str
    label_en: str
    sort_order: int
    archived: bool


class TermList(BaseModel):
    data: list[TermOut]
    meta: PageMeta
