"""Request and response bodies of taxonomy endpoints."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from garment.platform.contract import TRIMMED_TEXT, RequestBody
from garment.platform.pagination import PageMeta
from garment.tenant.taxonomies.states import TermType

# Lower-case letters, digits, `-` and `_`, starting and ending with a letter or digit (the
# seeded defaults: `kaos`, `xxl`, `hijau-army`, `cotton-combed-30s`).
CODE_PATTERN = r"^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$"
Code = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=CODE_PATTERN),
    Field(description="Unique per tenant and type; fixed once created.", examples=["hijau-army"]),
]
Label = Annotated[str, StringConstraints(min_length=1, max_length=120, pattern=TRIMMED_TEXT)]
SortOrder = Annotated[int, Field(ge=0, le=1_000_000, description="Position in pickers.")]
ParentId = Annotated[
    uuid.UUID,
    Field(description="A live term of the tenant of the same type (no cycles)."),
]


class TermCreate(RequestBody):
    type: TermType
    code: Code
    label_id: Label
    label_en: Label
    parent_id: ParentId | None = None
    sort_order: SortOrder = 0


class TermUpdate(RequestBody):
    """Only the members sent change; `parent_id: null` makes the term a root. The type and the
    code are fixed (products name colours by code)."""

    label_id: Label | None = None
    label_en: Label | None = None
    parent_id: ParentId | None = None
    sort_order: SortOrder | None = None
    archived: bool | None = None


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
    version: int = Field(description="The version to send back as If-Match (also the ETag).")


class TermList(BaseModel):
    data: list[TermOut]
    meta: PageMeta
